// One process of the propagation benchmark: N SDK instances, each reporting over IPC the moment
// it has applied each version of the `bench` VirtualService.
import { createMesh } from '@weft/mesh'

const { url, token, count, cacheDir } = JSON.parse(process.env.WEFT_BENCH_WORKER)
const meshes = []
for (let i = 0; i < count; i++) {
  const mesh = await createMesh({ service: `bench-${i}`, controlPlane: url, token, cacheDir })
  mesh.on('snapshot', (snapshot) => {
    const at = performance.timeOrigin + performance.now()
    const vs = snapshot.resources.find((r) => r.metadata.name === 'bench')
    if (vs) process.send({ applied: Number(vs.metadata.resourceVersion), at })
  })
  meshes.push(mesh)
}
process.send({ ready: count })
process.on('message', async (m) => {
  if (m === 'stop') {
    await Promise.all(meshes.map((m) => m.close()))
    process.exit(0)
  }
})
process.on('disconnect', () => process.exit(0))
