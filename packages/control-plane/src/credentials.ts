import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { ForbiddenError, UnauthenticatedError } from './errors.js'

/**
 * Who a request comes from: the operator (admin token), a workload (namespace, service
 * account), or a viewer (the dashboard: reads everything, changes nothing).
 */
export type Principal =
  | { readonly kind: 'admin' }
  | { readonly kind: 'workload'; readonly namespace: string; readonly serviceAccount: string }
  | { readonly kind: 'viewer' }

const PREFIX = 'weft1'

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * The control plane's credentials. The admin token is a shared secret compared in constant
 * time. Workload and viewer tokens are `weft1.<claims>.<mac>`: base64url JSON (`{ ns, sa }`, or
 * `{ view: true }`) and an HMAC-SHA256 under a key only the control plane holds, so replicas
 * sharing the key accept each other's tokens and nothing is stored per token. Tokens are never
 * logged.
 */
export class Credentials {
  readonly #admin: string
  readonly #key: Buffer

  constructor(adminToken: string, signingKey: Buffer) {
    if (adminToken.length < 16) throw new Error('the admin token must be at least 16 characters')
    this.#admin = adminToken
    this.#key = signingKey
  }

  static generateSecret(): string {
    return randomBytes(32).toString('base64url')
  }

  /** A workload token for one namespace and service account (`weft token create`). */
  issue(namespace: string, serviceAccount: string): string {
    const claims = Buffer.from(JSON.stringify({ ns: namespace, sa: serviceAccount })).toString('base64url')
    return `${PREFIX}.${claims}.${this.#mac(claims)}`
  }

  /** A read-only token for the dashboard (`weft dashboard`): every GET, nothing else. */
  issueViewer(): string {
    const claims = Buffer.from(JSON.stringify({ view: true })).toString('base64url')
    return `${PREFIX}.${claims}.${this.#mac(claims)}`
  }

  /** The principal an `Authorization: Bearer …` header proves; throws 401 for anything else. */
  authenticate(authorization: string | undefined): Principal {
    const token = authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined
    if (!token) throw new UnauthenticatedError('send a token: Authorization: Bearer <token> (WEFT_TOKEN)')
    if (equal(token, this.#admin)) return { kind: 'admin' }
    const [prefix, claims, mac] = token.split('.')
    if (prefix === PREFIX && claims && mac && equal(mac, this.#mac(claims))) {
      try {
        const { ns, sa, view } = JSON.parse(Buffer.from(claims, 'base64url').toString()) as {
          ns?: unknown
          sa?: unknown
          view?: unknown
        }
        if (view === true) return { kind: 'viewer' }
        if (typeof ns === 'string' && typeof sa === 'string')
          return { kind: 'workload', namespace: ns, serviceAccount: sa }
      } catch {
        // A MAC over claims that do not parse cannot come from this control plane: fall through.
      }
    }
    throw new UnauthenticatedError(
      'the token was not issued by this control plane; create one with `weft token create`',
    )
  }

  #mac(claims: string): string {
    return createHmac('sha256', this.#key).update(claims).digest('base64url')
  }
}

/** Writes need the admin token. */
export function requireAdmin(principal: Principal): void {
  if (principal.kind !== 'admin') throw new ForbiddenError('this needs the admin token (WEFT_ADMIN_TOKEN)')
}

/** A viewer reads: any call but a GET needs another token. */
export function requireWriter(principal: Principal): void {
  if (principal.kind === 'viewer')
    throw new ForbiddenError('a viewer token only reads; this needs the admin token (WEFT_ADMIN_TOKEN)')
}

/** Reading every namespace at once: the admin or a viewer. */
export function requireMeshReader(principal: Principal): void {
  if (principal.kind === 'workload')
    throw new ForbiddenError(
      `this token is for namespace ${principal.namespace}: name it (?namespace=${principal.namespace})`,
    )
}

/** A workload may act only in its own namespace; the admin anywhere, a viewer (reading) anywhere. */
export function requireNamespace(principal: Principal, namespace: string): void {
  if (principal.kind === 'workload' && principal.namespace !== namespace) {
    throw new ForbiddenError(`this token is for namespace ${principal.namespace}, not ${namespace}`)
  }
}
