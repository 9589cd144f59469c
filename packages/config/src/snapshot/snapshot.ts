import { ConfigInvalidError } from '../errors.js'
import { hasErrors } from '../model/diagnostic.js'
import type { DestinationRule, Kind, Resource, VirtualService } from '../model/resource.js'
import { resourceKey } from '../model/resource.js'
import { objectDocument } from '../parse/parse-documents.js'
import { validateDocuments } from '../validate/validate-documents.js'
import { type CompiledDestinationRule, compileDestinationRule } from './compile-destination-rule.js'
import {
  appliesToMesh,
  type CompiledVirtualService,
  compileVirtualService,
} from './compile-virtual-service.js'
import { contentHash } from './content-hash.js'
import { HostIndex } from './host-index.js'
import { DEFAULT_DOMAIN_SUFFIX, type HostResolver, resolveHost, splitServiceHost } from './host-name.js'
import { Interner } from './interner.js'
import { PolicyIndex, type WorkloadPolicies } from './policy-index.js'
import { isSealed, SealedCache } from './sealed.js'
import {
  buildServiceRegistry,
  REGISTRY_KINDS,
  type RegistryEndpoint,
  type ServiceInfo,
  type WorkloadInfo,
} from './service-registry.js'

export interface SnapshotOptions {
  /** Endpoints registered at run time, beside those the resources declare. */
  readonly registry?: readonly RegistryEndpoint[]
  /** Istio's `meshConfig.rootNamespace`: its policies apply mesh-wide. Default `istio-system`. */
  readonly rootNamespace?: string
  readonly domainSuffix?: string
  /** Istio's `outboundTrafficPolicy.mode`. Default `ALLOW_ANY`. */
  readonly outboundTrafficPolicy?: 'ALLOW_ANY' | 'REGISTRY_ONLY'
  /** Skip validation: only for resources this process has validated already. */
  readonly trusted?: boolean
  /**
   * The snapshot this one replaces. When the parts the service registry is built from (Service,
   * Deployment, ServiceEntry and WorkloadEntry resources, registered endpoints) are the same
   * sealed objects as its, and host names resolve as they did, its registry is taken as is.
   */
  readonly previous?: Snapshot
}

/** What a snapshot's service registry was built from and made: a next snapshot may take it whole. */
interface RegistryMemo {
  readonly context: string
  /** The registry kinds' resources in order, then the registered endpoints: all sealed. */
  readonly inputs: readonly object[]
  readonly hash: string
  readonly services: ReadonlyMap<string, ServiceInfo>
  readonly workloads: readonly WorkloadInfo[]
}

function sameObjects(a: readonly object[], b: readonly object[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * A resource a snapshot was compiled from, by name. Its spec lives on only in compiled form (and,
 * for policies, in `policiesFor`): the control plane's store or the config files hold the rest.
 */
export interface ResourceRef {
  readonly kind: Kind
  readonly metadata: {
    readonly name: string
    readonly namespace: string
    readonly resourceVersion?: string
  }
}

// What compiling made of each sealed resource and registered endpoint (see sealed.ts): a change to
// one resource then costs a snapshot that resource, and a walk over the others' cached parts.
interface ResourceFacts {
  readonly key: string
  readonly hash: string
}

const resourceFacts = new SealedCache<ResourceFacts>()
const endpointHashes = new SealedCache<string>()
const compiledVirtualServices = new SealedCache<CompiledVirtualService>()
const compiledDestinationRules = new SealedCache<CompiledDestinationRule>()

/** A resource's key and content hash. */
function factsOf(r: Resource, interner: Interner): ResourceFacts {
  return {
    key: interner.string(resourceKey(r)),
    hash: contentHash({
      apiVersion: r.apiVersion,
      kind: r.kind,
      // Annotations too: Weft reads some (`istio.io/dry-run`, `weft.dev/circuit-breaker`), and a
      // change that left the version alone would never be installed.
      metadata: {
        name: r.metadata.name,
        namespace: r.metadata.namespace,
        labels: r.metadata.labels,
        annotations: r.metadata.annotations,
      },
      spec: r.spec,
    }),
  }
}

function visibleTo(item: { namespace: string; exportTo?: ReadonlySet<string> }, namespace: string): boolean {
  return !item.exportTo || item.exportTo.has(namespace)
}

/**
 * The compiled, immutable form of a config: what every decision reads. Built once per config
 * change; lookups are map probes. Its `version` is a hash of its content, so two processes
 * that compile the same resources agree on it.
 */
export class Snapshot {
  readonly version: string
  readonly rootNamespace: string
  readonly domainSuffix: string
  readonly outboundTrafficPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY'
  readonly services: ReadonlyMap<string, ServiceInfo>
  readonly workloads: readonly WorkloadInfo[]
  readonly virtualServices: HostIndex<CompiledVirtualService>
  readonly destinationRules: HostIndex<CompiledDestinationRule>
  readonly policies: PolicyIndex
  /** Every namespace the config or the registry names: what makes `name.namespace` a service. */
  readonly namespaces: ReadonlySet<string>
  readonly #resolve: HostResolver
  /** `Kind/namespace/name` of each resource, sorted, and its `resourceVersion` where any has one. */
  readonly #keys: readonly string[]
  readonly #resourceVersions: readonly (string | undefined)[] | undefined
  #resources: readonly ResourceRef[] | undefined
  readonly #registryMemo: RegistryMemo | undefined

  /** Use `compileSnapshot`, which validates first. */
  constructor(resources: readonly Resource[], options: SnapshotOptions = {}) {
    const domain = options.domainSuffix ?? DEFAULT_DOMAIN_SUFFIX
    const registry = options.registry ?? []
    const interner = new Interner()
    // Indexed loops, not chains of `map` nor `for...of`. V8 (Node 20) gives the array a `map` makes
    // another elements kind in optimised code than in the interpreter, so the next call on it
    // (`sort`, `some`) failed the optimised constructor's map check and threw it away; every
    // process of the propagation benchmark compiled the constructor three times. And iterator loops
    // and array destructuring made its optimised graph large: the constructor runs once per change,
    // yet every SDK instance runs it often enough to be optimised, and TurboFan spent about 100 ms
    // on it per process, 43 ms with indexed loops. Arrays a snapshot keeps are made to size.
    const keyed: (readonly [ResourceFacts, Resource])[] = []
    for (let i = 0; i < resources.length; i++) {
      const r = resources[i] as Resource
      keyed.push([resourceFacts.made(r, '', () => factsOf(r, interner)), r])
    }
    // Sorted so that the first of two rules for one host is the same in every process.
    keyed.sort((a, b) => (a[0].key < b[0].key ? -1 : 1))
    const sorted: Resource[] = []
    const hashes: string[] = []
    const keys: string[] = new Array(keyed.length)
    let versioned = false
    for (let i = 0; i < keyed.length; i++) {
      const entry = keyed[i] as readonly [ResourceFacts, Resource]
      const facts = entry[0]
      const r = entry[1]
      sorted.push(r)
      hashes.push(facts.hash)
      keys[i] = facts.key
      if (r.metadata.resourceVersion !== undefined) versioned = true
    }
    this.#keys = Object.freeze(keys)
    if (versioned) {
      const versions: (string | undefined)[] = new Array(sorted.length)
      for (let i = 0; i < sorted.length; i++) versions[i] = sorted[i]?.metadata.resourceVersion
      this.#resourceVersions = Object.freeze(versions)
    } else this.#resourceVersions = undefined
    this.rootNamespace = options.rootNamespace ?? 'istio-system'
    this.domainSuffix = domain
    this.outboundTrafficPolicy = options.outboundTrafficPolicy ?? 'ALLOW_ANY'
    const namespaces = new Set(['default', this.rootNamespace])
    for (let i = 0; i < sorted.length; i++) {
      namespaces.add(interner.string((sorted[i] as Resource).metadata.namespace))
    }
    for (let i = 0; i < registry.length; i++) {
      namespaces.add(interner.string((registry[i] as RegistryEndpoint).namespace))
    }
    this.namespaces = namespaces
    const resolve = hostResolver(domain, namespaces)
    this.#resolve = resolve
    const resolveOnce = interner.resolver(resolve)
    // What a compiled part depends on beyond its resource: how short host names resolve.
    const context = `${domain}\n${Array.from(namespaces).sort().join('\n')}`
    // A change to a rule leaves the services alone: the registry is rebuilt only when a part of
    // it changed, which a sealed part cannot do unseen.
    const inputs: object[] = []
    for (let i = 0; i < sorted.length; i++) {
      const r = sorted[i] as Resource
      if (REGISTRY_KINDS.has(r.kind)) inputs.push(r)
    }
    for (let i = 0; i < registry.length; i++) inputs.push(registry[i] as RegistryEndpoint)
    const previous = options.previous ? options.previous.#registryMemo : undefined
    const memo =
      previous && previous.context === context && sameObjects(previous.inputs, inputs)
        ? previous
        : buildRegistryMemo(sorted, registry, inputs, context, resolveOnce, interner)
    // Unsealed parts may change in place, so what was built of them is never taken again.
    this.#registryMemo = memo === previous || inputs.every(isSealed) ? memo : undefined
    this.services = memo.services
    this.workloads = memo.workloads
    // A hash of each resource's and endpoint's own hash: equal content, equal version, in any
    // process; and a sealed part's hash is made once, not on every change.
    this.version = contentHash({
      resources: hashes,
      registry: memo.hash,
      rootNamespace: this.rootNamespace,
      domain,
      outbound: this.outboundTrafficPolicy,
    })
    const routes: (readonly [string, CompiledVirtualService])[] = []
    const rules: (readonly [string, CompiledDestinationRule])[] = []
    for (let i = 0; i < sorted.length; i++) {
      const r = sorted[i] as Resource
      if (r.kind === 'VirtualService') {
        if (!appliesToMesh(r as VirtualService)) continue
        const compiled = compiledVirtualServices.made(r, context, () =>
          compileVirtualService(r as VirtualService, resolveOnce, interner),
        )
        for (let j = 0; j < compiled.hosts.length; j++) routes.push([compiled.hosts[j] as string, compiled])
      } else if (r.kind === 'DestinationRule') {
        const compiled = compiledDestinationRules.made(r, context, () =>
          compileDestinationRule(r as DestinationRule, resolveOnce, interner),
        )
        rules.push([compiled.host, compiled])
      }
    }
    this.virtualServices = new HostIndex(routes)
    this.destinationRules = new HostIndex(rules)
    this.policies = new PolicyIndex(sorted, this.rootNamespace)
    interner.clear()
    Object.freeze(this)
  }

  /** The resources compiled, sorted by kind, namespace and name. */
  get resources(): readonly ResourceRef[] {
    // Made when first asked for (tests, benchmarks): a running mesh has no use for them.
    this.#resources ??= Object.freeze(
      this.#keys.map((key, i) => {
        const [kind, namespace, name] = key.split('/') as [Kind, string, string]
        const resourceVersion = this.#resourceVersions?.[i]
        return Object.freeze({
          kind,
          metadata: Object.freeze({
            name,
            namespace,
            ...(resourceVersion !== undefined ? { resourceVersion } : {}),
          }),
        })
      }),
    )
    return this.#resources
  }

  /** The FQDN a caller in `namespace` means by `host`. */
  resolveHost(host: string, namespace: string): string {
    return this.#resolve(host, namespace)
  }

  service(fqdn: string): ServiceInfo | undefined {
    return this.services.get(fqdn)
  }

  /**
   * The VirtualService that routes `fqdn` for a caller in `namespace`: among those visible to
   * it, Istio's preference — the caller's namespace, then the service's, then the first by name.
   */
  virtualServiceFor(fqdn: string, namespace: string): CompiledVirtualService | undefined {
    return pick(this.virtualServices.lookup(fqdn), namespace, () => [this.#serviceNamespace(fqdn)])
  }

  /** The DestinationRule in force for `fqdn` from `namespace`, by the same preference plus the root namespace. */
  destinationRuleFor(fqdn: string, namespace: string): CompiledDestinationRule | undefined {
    return pick(this.destinationRules.lookup(fqdn), namespace, () => [
      this.#serviceNamespace(fqdn),
      this.rootNamespace,
    ])
  }

  #serviceNamespace(fqdn: string): string | undefined {
    return this.services.get(fqdn)?.namespace ?? splitServiceHost(fqdn, this.domainSuffix)?.namespace
  }

  /** The policies governing one workload; call once per snapshot, not per request. */
  policiesFor(namespace: string, labels: Readonly<Record<string, string>>): WorkloadPolicies {
    return this.policies.forWorkload(namespace, labels)
  }

  /** What `weft dump` shows: counts and version, not the compiled closures. */
  toJSON(): object {
    return {
      version: this.version,
      resources: this.#keys.length,
      services: [...this.services.keys()].sort(),
      virtualServiceHosts: this.virtualServices.hosts().sort(),
      destinationRuleHosts: this.destinationRules.hosts().sort(),
    }
  }
}

function buildRegistryMemo(
  sorted: readonly Resource[],
  registry: readonly RegistryEndpoint[],
  inputs: readonly object[],
  context: string,
  resolve: HostResolver,
  interner: Interner,
): RegistryMemo {
  const { services, workloads } = buildServiceRegistry(sorted, registry, resolve, interner)
  return {
    context,
    inputs,
    hash: contentHash(registry.map((e) => endpointHashes.made(e, '', () => contentHash(e)))),
    services,
    workloads: Object.freeze(workloads),
  }
}

/** Made outside the constructor, whose scope (the interner, the parsed resources) it would keep alive. */
function hostResolver(domain: string, namespaces: ReadonlySet<string>): HostResolver {
  return (host, namespace) => resolveHost(host, namespace, domain, namespaces)
}

function pick<T extends { namespace: string; exportTo?: ReadonlySet<string> }>(
  candidates: readonly T[],
  callerNamespace: string,
  preferred: () => readonly (string | undefined)[],
): T | undefined {
  if (candidates.length === 0) return undefined
  if (candidates.length === 1)
    return visibleTo(candidates[0] as T, callerNamespace) ? candidates[0] : undefined
  const visible = candidates.filter((c) => visibleTo(c, callerNamespace))
  for (const ns of [callerNamespace, ...preferred()]) {
    const found = visible.find((c) => c.namespace === ns)
    if (found) return found
  }
  return visible[0]
}

/**
 * Validates (unless `trusted`) and compiles. Throws `ConfigInvalidError` with every error if
 * any resource is invalid: a snapshot is all of the config or none of it.
 */
export function compileSnapshot(resources: readonly Resource[], options: SnapshotOptions = {}): Snapshot {
  if (options.trusted) return new Snapshot(resources, options)
  const result = validateDocuments(resources.map((r) => objectDocument(r)))
  if (hasErrors(result.diagnostics)) throw new ConfigInvalidError(result.diagnostics)
  return new Snapshot(result.resources, options)
}
