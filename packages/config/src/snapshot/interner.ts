import type { HostResolver } from './host-name.js'
import { deepFreeze } from './sealed.js'

/**
 * Shares equal immutable values within one snapshot, so that a host, a header match or a retry
 * policy written on a thousand routes is kept once. Lives only while a snapshot is compiled.
 *
 * Strings come back flat and detached: V8 keeps a string built by concatenation as a tree of its
 * pieces (several times its length), and a substring of a parsed file as a slice that holds the
 * whole file text alive; a snapshot outlives both.
 */
export class Interner {
  readonly #strings = new Map<string, string>()
  readonly #values = new Map<string, unknown>()
  /** Namespace → host as written → FQDN. */
  readonly #resolved = new Map<string, Map<string, string>>()

  string(s: string): string {
    let kept = this.#strings.get(s)
    if (kept === undefined) {
      kept = detached(s)
      this.#strings.set(kept, kept)
    }
    return kept
  }

  /** A string no other part shares (a rule's name, say): flat and detached, without the lookup. */
  unique(s: string): string {
    return detached(s)
  }

  /**
   * `resolve`, its answers interned and remembered: a config names each host from many routes,
   * endpoints and rules, and each answer would be a new concatenated string.
   */
  resolver(resolve: HostResolver): HostResolver {
    return (host, namespace) => {
      let byHost = this.#resolved.get(namespace)
      if (!byHost) {
        byHost = new Map()
        this.#resolved.set(namespace, byHost)
      }
      let fqdn = byHost.get(host)
      if (fqdn === undefined) {
        fqdn = this.string(resolve(host, namespace))
        byHost.set(host, fqdn)
      }
      return fqdn
    }
  }

  /** The value kept under `key`, made by `make` the first time: `key` must say everything `make` reads. */
  value<T>(key: string, make: () => T): T {
    let kept = this.#values.get(key) as T | undefined
    if (kept === undefined) {
      kept = make()
      this.#values.set(key, kept)
    }
    return kept
  }

  /**
   * Forgets every table. Called once a snapshot is compiled: a closure made while compiling can
   * outlive it for a while (V8 holds functions it optimises in the background), and with it the
   * interner; the tables, a key for every part, should not.
   */
  clear(): void {
    this.#strings.clear()
    this.#values.clear()
    this.#resolved.clear()
  }

  /**
   * A label set as a frozen copy kept once per content, its values interned: endpoints of one
   * service repeat its name (`app: reviews`) and versions, which `data`'s copy would hold apart.
   */
  labels(labels: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
    const json = JSON.stringify(labels ?? {})
    // fromEntries defines each key as its own property, `__proto__` included.
    return this.value(`labels\0${json}`, () =>
      Object.freeze(
        Object.fromEntries(Object.entries(labels ?? {}).map(([k, v]) => [k, this.string(String(v))])),
      ),
    )
  }

  /**
   * Plain data (parsed JSON or YAML) as a fresh, frozen copy kept once per content: no strings
   * shared with the parsed text, no fields the parser attached.
   */
  data<T>(value: T): T {
    const json = JSON.stringify(value)
    if (json === undefined) return value
    return this.value(`data\0${json}`, () => deepFreeze(JSON.parse(json) as T))
  }
}

// Strings shorter than this are never slices or concatenation trees in V8 (its kMinLength).
const SHORTEST_SHARED = 13

function detached(s: string): string {
  // JSON.parse allocates every string value afresh and flat.
  return s.length < SHORTEST_SHARED ? s : (JSON.parse(JSON.stringify(s)) as string)
}
