// One process of the propagation benchmark: N SDK instances, each reporting over IPC the moment
// it has applied each round's `bench` VirtualService (the round is its `x-round` header). Reports
// made in one turn of the event loop go in one IPC message, so that measuring costs little.
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { createMesh } from '@weft/mesh'

const { url, token, count, cacheDir, profile } = JSON.parse(process.env.WEFT_BENCH_WORKER)
const BENCH_HOST = 'bench.default.svc.cluster.local'
let pending = []
const flush = () => {
  process.send({ applied: pending })
  pending = []
}
const meshes = []
for (let i = 0; i < count; i++) {
  const mesh = await createMesh({ service: `bench-${i}`, controlPlane: url, token, cacheDir })
  mesh.on('snapshot', (snapshot) => {
    const at = performance.timeOrigin + performance.now()
    // Read as a request would find the rule: a lookup, not a walk over the whole config.
    const set = snapshot.virtualServiceFor(BENCH_HOST, 'default')?.http[0]?.requestHeaders?.set
    const round = set?.find(([name]) => name === 'x-round')?.[1]
    if (round === undefined) return
    if (pending.length === 0) setImmediate(flush)
    pending.push([Number(round), at])
  })
  meshes.push(mesh)
}
process.send({ ready: count })
// With --profile, a CPU profile and a sampling heap profile (what was allocated) of the rounds
// only (not the start-up), one of each per worker.
const session = profile ? new Session() : undefined
process.on('message', async (m) => {
  if (m === 'cpu') {
    const { user, system } = process.cpuUsage()
    process.send({ cpuUs: user + system })
  } else if (m === 'profile-start' && session) {
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.start')
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    })
    process.send({ profiling: true })
  } else if (m === 'profile-stop' && session) {
    const { profile: taken } = await session.post('Profiler.stop')
    writeFileSync(join(profile, `worker-${process.pid}.cpuprofile`), JSON.stringify(taken))
    const { profile: heap } = await session.post('HeapProfiler.stopSampling')
    writeFileSync(join(profile, `worker-${process.pid}.heapprofile`), JSON.stringify(heap))
    session.disconnect()
    process.send({ profiling: false })
  } else if (m === 'stop') {
    await Promise.all(meshes.map((m) => m.close()))
    process.exit(0)
  }
})
process.on('disconnect', () => process.exit(0))
