import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A free loopback port (released before use: good enough on a test machine). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface EtcdMember {
  readonly name: string
  readonly clientUrl: string
  process: ChildProcess
  kill(): Promise<void>
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[]
  readonly clientUrls: readonly string[]
  stop(): Promise<void>
}

async function healthy(url: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/health`)
      if (res.ok && ((await res.json()) as { health?: string }).health === 'true') return
    } catch {
      // Not up yet.
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`etcd at ${url} did not become healthy`)
}

/** Starts a real etcd cluster of `size` members on loopback, each with its own temp data dir. */
export async function startEtcdCluster(size: number): Promise<EtcdCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-etcd-'))
  const specs = []
  for (let i = 0; i < size; i++) {
    specs.push({ name: `m${i}`, client: await freePort(), peer: await freePort() })
  }
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(',')
  // One token for the whole cluster: members with different tokens refuse each other.
  const token = `weft-test-${specs[0]?.client}`
  const members: EtcdMember[] = specs.map((s) => {
    const child = spawn(
      'etcd',
      [
        '--name',
        s.name,
        '--data-dir',
        join(dir, s.name),
        '--listen-client-urls',
        `http://127.0.0.1:${s.client}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${s.client}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${s.peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${s.peer}`,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        token,
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    )
    const member: EtcdMember = {
      name: s.name,
      clientUrl: `http://127.0.0.1:${s.client}`,
      process: child,
      async kill() {
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGKILL')
        await exited
      },
    }
    return member
  })
  const deadline = Date.now() + 30_000
  await Promise.all(members.map((m) => healthy(m.clientUrl, deadline)))
  return {
    members,
    clientUrls: members.map((m) => m.clientUrl),
    async stop() {
      await Promise.all(members.map((m) => m.kill()))
      await rm(dir, { recursive: true, force: true })
    },
  }
}
