import { homedir } from 'node:os'
import { join } from 'node:path'
import { ExitCode, UsageError } from '../errors.js'
import type { Io } from '../io.js'

export interface ControlPlaneCommandOptions {
  readonly port: string
  readonly host: string
  readonly dataDir?: string
  readonly store: 'file' | 'etcd'
  readonly etcdEndpoints?: string
}

/** `weft control-plane`: serves until SIGINT or SIGTERM, then closes cleanly. */
export async function controlPlaneCommand(options: ControlPlaneCommandOptions, io: Io): Promise<number> {
  const port = Number(options.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port ${options.port} is not a port`)
  const etcd = (options.etcdEndpoints ?? process.env.WEFT_ETCD_ENDPOINTS ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
  if (options.store === 'etcd' && etcd.length === 0) {
    throw new UsageError('--store etcd needs --etcd-endpoints http://host:2379[,…] (WEFT_ETCD_ENDPOINTS)')
  }
  const dataDir = options.dataDir ?? process.env.WEFT_DATA_DIR ?? join(homedir(), '.weft', 'control-plane')
  // Loaded here, not at the top: the other commands need none of its weight (CA, etcd client).
  const { EtcdStore, startControlPlane } = await import('@weft/control-plane')
  const cp = await startControlPlane({
    port,
    host: options.host,
    dataDir,
    ...(options.store === 'etcd' ? { store: new EtcdStore({ endpoints: etcd }) } : {}),
    log: (line) => io.err(`${new Date().toISOString()} ${line}\n`),
  })
  io.out(`weft control plane listening on ${cp.url} (data in ${dataDir})\n`)
  if (cp.adminTokenFile)
    io.out(`admin token: ${cp.adminTokenFile} (export WEFT_TOKEN=$(cat ${cp.adminTokenFile}))\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await cp.close()
  return ExitCode.ok
}
