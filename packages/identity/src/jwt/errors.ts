/**
 * Base of every JWT error `@weft/identity` reports. `code` is public API. A request whose token
 * fails verification is answered 401 with `reason` as its body, Envoy's words for the failure.
 */
export class JwtError extends Error {
  override name = 'JwtError'
  readonly code: string = 'WEFT_JWT_ERROR'
  /** The status a client gets for this failure. */
  readonly status: number = 401
  /** What Envoy's jwt_authn filter answers for the same failure. */
  readonly reason: string = 'Jwt verification fails'
}

/** A RequestAuthentication `jwtRules` entry Weft cannot use; thrown while compiling, never per request. */
export class JwtRuleError extends JwtError {
  override name = 'JwtRuleError'
  override readonly code = 'WEFT_JWT_INVALID_RULE'
  override readonly status = 500
  override readonly reason = 'Jwt rule is invalid'
  readonly rule: string

  constructor(rule: string, problem: string) {
    super(`${rule}: ${problem}; fix the RequestAuthentication and apply it again`)
    this.rule = rule
  }
}

/** The token is not three base64url parts with a JSON header and payload. */
export class JwtMalformedError extends JwtError {
  override name = 'JwtMalformedError'
  override readonly code = 'WEFT_JWT_MALFORMED'
  override readonly reason = 'Jwt is not in the form of Header.Payload.Signature'

  constructor(options?: ErrorOptions) {
    super('the token is not a compact JWS (header.payload.signature); send the token as issued', options)
  }
}

/** `alg` is `none` or an algorithm the key set cannot verify. */
export class JwtAlgorithmError extends JwtError {
  override name = 'JwtAlgorithmError'
  override readonly code = 'WEFT_JWT_ALGORITHM_NOT_ALLOWED'
  override readonly reason = 'Jwt algorithm is not supported'

  constructor(options?: ErrorOptions) {
    super(
      'the token is unsigned or uses an algorithm its key set does not allow; sign it with a key of the JWKS',
      options,
    )
  }
}

/** The token's `iss` is not the issuer of any rule that reads the token's location. */
export class JwtIssuerNotConfiguredError extends JwtError {
  override name = 'JwtIssuerNotConfiguredError'
  override readonly code = 'WEFT_JWT_UNKNOWN_ISSUER'
  override readonly reason = 'Jwt issuer is not configured'

  constructor() {
    super(
      'no jwtRule for this token location names its issuer; add a jwtRule for it or send a token from a known issuer',
    )
  }
}

/** None of the token's `aud` values is among the rule's `audiences`. */
export class JwtAudienceError extends JwtError {
  override name = 'JwtAudienceError'
  override readonly code = 'WEFT_JWT_AUDIENCE_NOT_ALLOWED'
  override readonly reason = 'Audiences in Jwt are not allowed'

  constructor(options?: ErrorOptions) {
    super("the token's aud is not among the rule's audiences; request a token for this audience", options)
  }
}

/** `exp` is past, clock skew allowed for. */
export class JwtExpiredError extends JwtError {
  override name = 'JwtExpiredError'
  override readonly code = 'WEFT_JWT_EXPIRED'
  override readonly reason = 'Jwt is expired'

  constructor(options?: ErrorOptions) {
    super('the token has expired; get a new one', options)
  }
}

/** `nbf` is in the future, clock skew allowed for. */
export class JwtNotYetValidError extends JwtError {
  override name = 'JwtNotYetValidError'
  override readonly code = 'WEFT_JWT_NOT_YET_VALID'
  override readonly reason = 'Jwt not yet valid'

  constructor(options?: ErrorOptions) {
    super('the token is not valid yet (nbf); check the clocks of issuer and service', options)
  }
}

/** Another claim check failed (a non-numeric `exp`, a missing claim). */
export class JwtClaimError extends JwtError {
  override name = 'JwtClaimError'
  override readonly code = 'WEFT_JWT_INVALID_CLAIM'
  override readonly reason = 'Jwt verification fails'

  constructor(claim: string, options?: ErrorOptions) {
    super(`the token's ${claim} claim is invalid; issue a token with well-formed claims`, options)
  }
}

/** No key of the JWKS matches the token's `kid` and `alg`. */
export class JwtUnknownKeyError extends JwtError {
  override name = 'JwtUnknownKeyError'
  override readonly code = 'WEFT_JWT_UNKNOWN_KEY'
  override readonly reason = "Jwks doesn't have key to match kid or alg from Jwt"

  constructor(options?: ErrorOptions) {
    super(
      "no key of the rule's JWKS matches the token's kid and alg; publish the signing key in the JWKS",
      options,
    )
  }
}

/** The signature does not verify with the matching key. */
export class JwtSignatureError extends JwtError {
  override name = 'JwtSignatureError'
  override readonly code = 'WEFT_JWT_BAD_SIGNATURE'
  override readonly reason = 'Jwt verification fails'

  constructor(options?: ErrorOptions) {
    super('the token signature does not verify; the token was altered or signed with another key', options)
  }
}

/** The rule's JWKS cannot be used: inline JSON that is not a key set. */
export class JwksInvalidError extends JwtError {
  override name = 'JwksInvalidError'
  override readonly code = 'WEFT_JWT_JWKS_INVALID'
  override readonly reason = 'Jwks is invalid'

  constructor(rule: string, options?: ErrorOptions) {
    super(`${rule}: jwks is not a JSON Web Key Set; fix the RequestAuthentication`, options)
  }
}

/**
 * The rule's `jwksUri` could not be fetched (refused, timed out, not 200, not a key set) and no
 * fresh copy is cached: tokens are refused until it answers again (fail closed).
 */
export class JwksUnavailableError extends JwtError {
  override name = 'JwksUnavailableError'
  override readonly code = 'WEFT_JWT_JWKS_UNAVAILABLE'
  override readonly reason = 'Jwks remote fetch is failed'
  readonly uri: string

  constructor(uri: string, options?: ErrorOptions) {
    super(`could not fetch the JWKS from ${uri}; check that the issuer's JWKS endpoint is reachable`, options)
    this.uri = uri
  }
}

/** A rule has `presence: REQUIRED` and the request carries no token where a rule reads one. */
export class JwtMissingError extends JwtError {
  override name = 'JwtMissingError'
  override readonly code = 'WEFT_JWT_MISSING'
  override readonly reason = 'Jwt is missing'

  constructor() {
    super('this workload requires a JWT; send one where its RequestAuthentication reads it')
  }
}
