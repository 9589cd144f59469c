import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** The `weft` binary as npm installs it: the built `bin` of @weft/cli. */
export const weftBin = join(
  dirname(createRequire(import.meta.url).resolve('@weft/cli/package.json')),
  'dist/bin.js',
)

export interface ControlPlaneProcess {
  readonly child: ChildProcess
  readonly url: string
}

/** Runs `weft control-plane ARGS…` in its own process and resolves once it prints its URL. */
export async function startControlPlaneProcess(
  args: readonly string[],
  timeoutMs = 20_000,
): Promise<ControlPlaneProcess> {
  const child = spawn(process.execPath, [weftBin, 'control-plane', ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const url = await new Promise<string>((done, fail) => {
    let out = ''
    const timer = setTimeout(() => fail(new Error(`the control plane did not start: ${out}`)), timeoutMs)
    child.once('exit', (code) => fail(new Error(`the control plane exited with ${code}: ${out}`)))
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const found = /listening on (http:\/\/\S+)/.exec(out)
      if (found) {
        clearTimeout(timer)
        done(found[1] as string)
      }
    })
  })
  return { child, url }
}
