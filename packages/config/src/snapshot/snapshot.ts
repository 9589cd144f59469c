import { ConfigInvalidError } from '../errors.js'
import { hasErrors } from '../model/diagnostic.js'
import type { DestinationRule, Resource, VirtualService } from '../model/resource.js'
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
import { PolicyIndex, type WorkloadPolicies } from './policy-index.js'
import {
  buildServiceRegistry,
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
  readonly resources: readonly Resource[]
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

  /** Use `compileSnapshot`, which validates first. */
  constructor(resources: readonly Resource[], options: SnapshotOptions = {}) {
    const domain = options.domainSuffix ?? DEFAULT_DOMAIN_SUFFIX
    const registry = options.registry ?? []
    // Sorted so that the first of two rules for one host is the same in every process.
    const sorted = [...resources].sort((a, b) => (resourceKey(a) < resourceKey(b) ? -1 : 1))
    this.resources = Object.freeze(sorted)
    this.rootNamespace = options.rootNamespace ?? 'istio-system'
    this.domainSuffix = domain
    this.outboundTrafficPolicy = options.outboundTrafficPolicy ?? 'ALLOW_ANY'
    this.version = contentHash({
      resources: sorted.map((r) => ({
        apiVersion: r.apiVersion,
        kind: r.kind,
        metadata: { name: r.metadata.name, namespace: r.metadata.namespace, labels: r.metadata.labels },
        spec: r.spec,
      })),
      registry,
      rootNamespace: this.rootNamespace,
      domain,
      outbound: this.outboundTrafficPolicy,
    })
    const namespaces = new Set(['default', this.rootNamespace])
    for (const r of sorted) namespaces.add(r.metadata.namespace)
    for (const e of registry) namespaces.add(e.namespace)
    this.namespaces = namespaces
    const resolve: HostResolver = (host, namespace) => resolveHost(host, namespace, domain, namespaces)
    this.#resolve = resolve
    const { services, workloads } = buildServiceRegistry(sorted, registry, resolve)
    this.services = services
    this.workloads = Object.freeze(workloads)
    const vs = sorted
      .filter((r): r is VirtualService => r.kind === 'VirtualService' && appliesToMesh(r))
      .map((r) => compileVirtualService(r, resolve))
    this.virtualServices = new HostIndex(vs.flatMap((v) => v.hosts.map((h) => [h, v] as const)))
    const dr = sorted
      .filter((r): r is DestinationRule => r.kind === 'DestinationRule')
      .map((r) => compileDestinationRule(r, resolve))
    this.destinationRules = new HostIndex(dr.map((d) => [d.host, d] as const))
    this.policies = new PolicyIndex(sorted, this.rootNamespace)
    Object.freeze(this)
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
      resources: this.resources.length,
      services: [...this.services.keys()].sort(),
      virtualServiceHosts: this.virtualServices.hosts().sort(),
      destinationRuleHosts: this.destinationRules.hosts().sort(),
    }
  }
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
