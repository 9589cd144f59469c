import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Sample {
  readonly name: string
  readonly labels: Record<string, string>
  readonly value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** Prometheus' text format, parsed into samples (comments skipped). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    const m = LINE.exec(line)
    if (!m) continue
    const labels: Record<string, string> = {}
    for (const [, key, value] of (m[2] ?? '').matchAll(LABEL)) labels[key as string] = value as string
    out.push({ name: m[1] as string, labels, value: Number(m[3]) })
  }
  return out
}

/** Serves a `/metrics` handler on 127.0.0.1 and scrapes it over a real socket. */
export async function metricsEndpoint(
  handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void,
): Promise<{ scrape(): Promise<Sample[]>; close(): Promise<void> }> {
  const server: Server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    async scrape() {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`)
      return parseMetrics(await res.text())
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
