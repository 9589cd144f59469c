/** Base of every error `@weft/identity` throws; `code` is public API. */
export class WeftIdentityError extends Error {
  override name = 'WeftIdentityError'
  readonly code: string = 'WEFT_IDENTITY_ERROR'
}

/** A string that is not a SPIFFE ID as the SPIFFE-ID specification defines it. */
export class InvalidSpiffeIdError extends WeftIdentityError {
  override name = 'InvalidSpiffeIdError'
  override readonly code = 'WEFT_IDENTITY_INVALID_SPIFFE_ID'
  readonly value: string

  constructor(value: string, problem: string) {
    super(
      `${JSON.stringify(value)} is not a SPIFFE ID: ${problem}; write it as spiffe://<trust-domain>/<path>`,
    )
    this.value = value
  }
}

/** An option handed to an identity factory or method is out of its range; `option` names it. */
export class IdentityOptionError extends WeftIdentityError {
  override name = 'IdentityOptionError'
  override readonly code = 'WEFT_IDENTITY_INVALID_OPTION'
  readonly option: string

  constructor(option: string, expected: string, actual: unknown) {
    super(`${option} must be ${expected}, got ${JSON.stringify(actual) ?? String(actual)}`)
    this.option = option
  }
}

/** The CA refused a certificate signing request; nothing was issued. */
export class CsrRefusedError extends WeftIdentityError {
  override name = 'CsrRefusedError'
  override readonly code = 'WEFT_IDENTITY_CSR_REFUSED'

  constructor(problem: string, options?: ErrorOptions) {
    super(`certificate signing request refused: ${problem}`, options)
  }
}

/** What the CA store holds (or what an operator plugged in) cannot be used to sign. */
export class CaMaterialInvalidError extends WeftIdentityError {
  override name = 'CaMaterialInvalidError'
  override readonly code = 'WEFT_IDENTITY_CA_MATERIAL_INVALID'

  constructor(where: string, problem: string, options?: ErrorOptions) {
    super(
      `CA material in ${where} is unusable: ${problem}; fix or remove it (an empty store makes a new self-signed root)`,
      options,
    )
  }
}

/** A root rotation step asked for in the wrong state, or of a CA this process does not own. */
export class RootRotationError extends WeftIdentityError {
  override name = 'RootRotationError'
  override readonly code = 'WEFT_IDENTITY_ROOT_ROTATION'
}

/** A certificate handed to this workload as its own SVID (by the CA or in files) is not usable. */
export class SvidInvalidError extends WeftIdentityError {
  override name = 'SvidInvalidError'
  override readonly code = 'WEFT_IDENTITY_SVID_INVALID'

  constructor(where: string, problem: string, options?: ErrorOptions) {
    super(`the SVID from ${where} is unusable: ${problem}`, options)
  }
}

/** The control plane (or whatever `requestCertificate` calls) did not return a certificate. */
export class CertificateRequestError extends WeftIdentityError {
  override name = 'CertificateRequestError'
  override readonly code = 'WEFT_IDENTITY_CERTIFICATE_REQUEST_FAILED'

  constructor(options?: ErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super(
      `could not obtain a workload certificate${cause}; check that the control plane is reachable and this workload's credential is valid`,
      options,
    )
  }
}

/** A TLS peer whose certificate is not an acceptable SVID; `reason` says which check failed. */
export class PeerCertificateRefusedError extends WeftIdentityError {
  override name = 'PeerCertificateRefusedError'
  override readonly code = 'WEFT_IDENTITY_PEER_REFUSED'
  readonly reason: string

  constructor(reason: string, detail: string) {
    super(`peer certificate refused (${reason}): ${detail}`)
    this.reason = reason
  }
}

/** A trust bundle that holds no usable PEM certificate. */
export class TrustBundleInvalidError extends WeftIdentityError {
  override name = 'TrustBundleInvalidError'
  override readonly code = 'WEFT_IDENTITY_TRUST_BUNDLE_INVALID'

  constructor(where: string, problem: string, options?: ErrorOptions) {
    super(
      `the trust bundle from ${where} is unusable: ${problem}; give the mesh's root certificates in PEM`,
      options,
    )
  }
}
