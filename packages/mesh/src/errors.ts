/** Base of every error `@weft/mesh` throws; `code` is public API. */
export class WeftMeshError extends Error {
  override name = 'WeftMeshError'
  readonly code: string = 'WEFT_MESH_ERROR'
}

/** The options given to createMesh cannot start a mesh; the message says which and why. */
export class MeshOptionsError extends WeftMeshError {
  override name = 'MeshOptionsError'
  override readonly code = 'WEFT_MESH_OPTIONS'
}
