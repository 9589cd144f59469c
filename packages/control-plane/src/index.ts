export type { ApplyAction, ApplyPlan } from './apply-resources.js'
export type { ControlPlane, ControlPlaneOptions } from './control-plane.js'
export { startControlPlane } from './control-plane.js'
export type { Principal } from './credentials.js'
export { Credentials } from './credentials.js'
export {
  BadRequestError,
  ConfigRefusedError,
  ConflictError,
  ControlPlaneError,
  ForbiddenError,
  NotFoundError,
  StoreError,
  UnauthenticatedError,
} from './errors.js'
export type {
  Change,
  ConfigStore,
  RegisteredEndpoint,
  StoredResource,
  StoreState,
} from './store/config-store.js'
export type { EtcdStoreOptions } from './store/etcd-store.js'
export { EtcdStore } from './store/etcd-store.js'
export { FileStore } from './store/file-store.js'
export type { SnapshotPayload } from './watch-hub.js'
export type { WorkloadStatus } from './workload-status.js'
