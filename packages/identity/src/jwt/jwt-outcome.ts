import type { JwtError } from './errors.js'

/**
 * What RequestAuthentication makes of one request, as Istio's: no token where a rule reads one
 * passes unauthenticated; a token that verifies authenticates; a token that does not is refused.
 */
export type JwtOutcome =
  | {
      /** No token at any location a rule reads: the request goes on unauthenticated. */
      readonly kind: 'none'
    }
  | {
      readonly kind: 'valid'
      /** `RequestAuthentication/ns/name#jwtRules[i]` that verified it. */
      readonly rule: string
      /** `iss/sub`: `request.auth.principal`, what `requestPrincipals` match. */
      readonly principal: string
      /** The payload, `scope`, `permission` and `spaceDelimitedClaims` split into lists. */
      readonly claims: Readonly<Record<string, unknown>>
      /** Headers to drop before the application sees the request (the token, unless forwarded). */
      readonly removeHeaders: readonly string[]
      /** Headers to set: `outputPayloadToHeader`, `outputClaimToHeaders`. */
      readonly setHeaders: Readonly<Record<string, string>>
    }
  | {
      /** A token is present and none verifies (or one is required and absent): answer 401. */
      readonly kind: 'invalid'
      readonly error: JwtError
    }
