export type { MeshEvents, MeshOptions } from './create-mesh.js'
export { createMesh, Mesh } from './create-mesh.js'
export { MeshOptionsError, WeftMeshError } from './errors.js'
