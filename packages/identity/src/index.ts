export type { CaMaterial, CaStore } from './ca/ca-store.js'
export type {
  CertificateAuthorityOptions,
  RootRotationState,
  SignRequest,
} from './ca/certificate-authority.js'
export { CertificateAuthority, DEFAULT_WORKLOAD_TTL_MS } from './ca/certificate-authority.js'
export { CA_FILES, FileCaStore } from './ca/file-ca-store.js'
export {
  CaMaterialInvalidError,
  CertificateRequestError,
  CsrRefusedError,
  IdentityOptionError,
  InvalidSpiffeIdError,
  PeerCertificateRefusedError,
  RootRotationError,
  SvidInvalidError,
  TrustBundleInvalidError,
  WeftIdentityError,
} from './errors.js'
export {
  JwksInvalidError,
  JwksUnavailableError,
  JwtAlgorithmError,
  JwtAudienceError,
  JwtClaimError,
  JwtError,
  JwtExpiredError,
  JwtIssuerNotConfiguredError,
  JwtMalformedError,
  JwtMissingError,
  JwtNotYetValidError,
  JwtRuleError,
  JwtSignatureError,
  JwtUnknownKeyError,
} from './jwt/errors.js'
export type { JwksFetch } from './jwt/jwks-fetch.js'
export { fetchJwksDirect } from './jwt/jwks-fetch.js'
export type { JwtAuthenticatorOptions, JwtRequest } from './jwt/jwt-authenticator.js'
export { createJwtAuthenticator, JwtAuthenticator } from './jwt/jwt-authenticator.js'
export type { JwtOutcome } from './jwt/jwt-outcome.js'
export type { JwtRequestHeaders } from './jwt/token-location.js'
export type { SpiffeId, WorkloadName } from './spiffe/spiffe-id.js'
export {
  isSpiffeId,
  parseSpiffeId,
  principalOfId,
  workloadNameOf,
  workloadSpiffeId,
} from './spiffe/spiffe-id.js'
export type { MtlsClientSettings, MtlsConnectionOptions } from './verify/mtls-client-options.js'
export { mtlsClientOptions } from './verify/mtls-client-options.js'
export type {
  PeerCertificateInput,
  PeerCheckOptions,
  PeerRefusalReason,
  PeerVerdict,
} from './verify/peer-svid.js'
export { checkPeerSvid, principalOf } from './verify/peer-svid.js'
export type { KeyAndRequest } from './workload/certificate-request.js'
export { createKeyAndRequest } from './workload/certificate-request.js'
export type { CaWorkloadIdentityOptions } from './workload/create-workload-identity.js'
export { createWorkloadIdentity } from './workload/create-workload-identity.js'
export type { Svid } from './workload/svid.js'
export type { SvidFilesOptions } from './workload/svid-files.js'
export { watchSvidFiles } from './workload/svid-files.js'
export type {
  RenewalFailure,
  RotationCause,
  RotationEvent,
  SvidSource,
  SvidUpdate,
  WorkloadIdentityEvents,
  WorkloadIdentityOptions,
} from './workload/workload-identity.js'
export { WorkloadIdentity } from './workload/workload-identity.js'
