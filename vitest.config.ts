import { defineConfig } from 'vitest/config'

// Tests import workspace packages from their TypeScript sources (the `@weft/source`
// export condition), so a test never runs against a stale `dist/`.
export default defineConfig({
  resolve: { conditions: ['@weft/source'] },
  ssr: { resolve: { conditions: ['@weft/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})
