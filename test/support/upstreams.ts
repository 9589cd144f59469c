import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const scripts = {
  http: fileURLToPath(new URL('./upstream.mjs', import.meta.url)),
  grpc: fileURLToPath(new URL('./grpc-upstream.mjs', import.meta.url)),
}

export interface Upstream {
  readonly name: string
  readonly port: number
  readonly process: ChildProcess
  setStatus(status: number): Promise<void>
  /** The last request this upstream served (method, url, headers), or null. */
  last(): Promise<{ method: string; url: string; headers: Record<string, string> } | null>
  /** The most requests this upstream has had in flight at once. */
  peakInFlight(): Promise<number>
}

/** Starts one upstream in its own process and waits for its port. */
export async function startUpstream(
  name: string,
  env: Record<string, string> = {},
  kind: keyof typeof scripts = 'http',
): Promise<Upstream> {
  const child = fork(scripts[kind], [], {
    env: { ...process.env, UPSTREAM_NAME: name, ...env },
    stdio: 'ignore',
  })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`upstream ${name} did not start in 10 s`)), 10_000)
    child.once('message', (m) => {
      clearTimeout(timer)
      resolve((m as { port: number }).port)
    })
    child.once('exit', (code) => reject(new Error(`upstream ${name} exited with ${code}`)))
  })
  return {
    name,
    port,
    process: child,
    async setStatus(status) {
      const res = await fetch(`http://127.0.0.1:${port}/__status`, { method: 'POST', body: String(status) })
      await res.text()
    },
    async last() {
      const res = await fetch(`http://127.0.0.1:${port}/__last`)
      return (await res.json()) as { method: string; url: string; headers: Record<string, string> } | null
    },
    async peakInFlight() {
      const res = await fetch(`http://127.0.0.1:${port}/__stats`)
      return ((await res.json()) as { peakInFlight: number }).peakInFlight
    },
  }
}

export async function stopAll(upstreams: readonly Upstream[]): Promise<void> {
  await Promise.all(
    upstreams.map(
      (u) =>
        new Promise<void>((resolve) => {
          if (u.process.exitCode !== null) return resolve()
          u.process.once('exit', () => resolve())
          u.process.kill()
        }),
    ),
  )
}
