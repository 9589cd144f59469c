import {
  type ChannelOptions,
  connectivityState,
  experimental,
  type Interceptor,
  Metadata,
  status as Status,
} from '@grpc/grpc-js'
import type { Snapshot } from '@weft/config'
import { endpointKey, type RouteSource, routeRequest } from '@weft/core'
import { ClusterRegistry } from '../cluster.js'
import type { OutboundRequestHook } from '../request-event.js'
import type { OutboundTelemetry } from '../request-observer.js'
import { ResponseFlag } from '../response-flags.js'
import { type CallActions, GrpcCalls, meshCallFilter, meshCallInterceptor } from './grpc-call.js'

type GrpcEndpoint = experimental.Endpoint
type Picker = experimental.Picker
type CallConfig = ReturnType<experimental.ConfigSelector['invoke']>

/** The channel option that ties a channel to the mesh that resolves it. */
const MESH_OPTION = 'weft.mesh'
const LB_NAME = 'weft_mesh'
const CLUSTER_KEY = 'weft.cluster'

interface MeshContext {
  readonly snapshot: () => Snapshot
  readonly source: RouteSource
  readonly clusters: ClusterRegistry
  readonly random: () => number
  readonly now: () => number
  /** Live resolvers of this mesh's channels: a new snapshot re-resolves them all. */
  readonly resolvers: Set<WeftResolver>
  readonly calls: GrpcCalls
}

const meshes = new Map<string, MeshContext>()
let registered = false
let nextId = 0

function meshOf(options: ChannelOptions): MeshContext | undefined {
  const id = options[MESH_OPTION]
  return typeof id === 'string' ? meshes.get(id) : undefined
}

function address(a: experimental.SubchannelAddress): string {
  return 'host' in a ? `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}` : a.path
}

/** gRPC status codes by the names Istio writes them in (`UNAVAILABLE`). */
function statusCode(name: string): number {
  return (Status as unknown as Record<string, number>)[name] ?? Status.UNKNOWN
}

function durationOf(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: Math.round((ms % 1000) * 1e6) }
}

/** Istio's gRPC retry conditions as gRPC status names. */
const GRPC_RETRY: Readonly<Record<string, string>> = {
  cancelled: 'CANCELLED',
  'deadline-exceeded': 'DEADLINE_EXCEEDED',
  internal: 'INTERNAL',
  'resource-exhausted': 'RESOURCE_EXHAUSTED',
  unavailable: 'UNAVAILABLE',
}

/**
 * `weft:///reviews.default:9080`: resolves to every endpoint of the service, with a config
 * selector that routes each call by the mesh's rules (the method path as the URI, metadata as
 * headers): it names the cluster the load balancer picks from, sets the deadline and gRPC retry
 * policy from the route, and fails the call with an injected `grpcStatus` abort.
 */
class WeftResolver implements experimental.Resolver {
  readonly #target: experimental.GrpcUri
  readonly #listener: experimental.ResolverListener
  readonly #mesh: MeshContext | undefined

  constructor(
    target: experimental.GrpcUri,
    listener: experimental.ResolverListener,
    options: ChannelOptions,
  ) {
    this.#target = target
    this.#listener = listener
    this.#mesh = meshOf(options)
    this.#mesh?.resolvers.add(this)
  }

  static getDefaultAuthority(target: experimental.GrpcUri): string {
    return target.path
  }

  updateResolution(): void {
    setImmediate(() => this.#resolve())
  }

  destroy(): void {
    this.#mesh?.resolvers.delete(this)
  }

  #resolve(): void {
    const mesh = this.#mesh
    if (!mesh) {
      this.#listener(
        {
          ok: false,
          error: {
            code: Status.UNAVAILABLE,
            details: 'weft: channel has no mesh (use meshGrpc(...).channelOptions)',
            metadata: new Metadata(),
          },
        } as never,
        {},
        null,
        '',
      )
      return
    }
    const authority = this.#target.path
    const snapshot = mesh.snapshot()
    const host = snapshot.resolveHost(authority.replace(/:\d+$/, ''), mesh.source.namespace)
    const endpoints = snapshot.service(host)?.endpoints ?? []
    const list: GrpcEndpoint[] = endpoints.map((e) => ({ addresses: [{ host: e.address, port: e.port }] }))
    const selector: experimental.ConfigSelector = {
      invoke: (methodName, metadata): CallConfig => {
        const record = mesh.calls.of(metadata)
        const decision = routeRequest(
          mesh.snapshot(),
          {
            method: 'POST',
            scheme: 'http',
            authority,
            path: methodName,
            header: (name) => {
              const values = metadata.get(name)
              return values.length ? values.map(String).join(',') : undefined
            },
            source: mesh.source,
          },
          mesh.random,
        )
        const methodConfig: CallConfig['methodConfig'] = { name: [] }
        if (record) record.host = decision.host
        if (decision.kind !== 'forward') {
          record?.flags.push(
            decision.kind === 'no-route' ? ResponseFlag.noRoute : ResponseFlag.directResponse,
          )
          return {
            methodConfig,
            pickInformation: {},
            status: decision.kind === 'no-route' ? Status.UNIMPLEMENTED : Status.UNAVAILABLE,
            dynamicFilterFactories: [],
          }
        }
        if (record) {
          record.rule = decision.rule
          record.target = decision.target
        }
        const { abort, delayMs } = decision.fault
        const actions: CallActions = {
          requestHeaders: decision.requestHeaders,
          delayMs,
          abortCode: abort
            ? abort.grpcStatus !== undefined
              ? statusCode(abort.grpcStatus)
              : Status.UNAVAILABLE
            : undefined,
        }
        if (delayMs > 0) record?.flags.push(ResponseFlag.delayInjected)
        if (abort) record?.flags.push(ResponseFlag.faultInjected)
        // A call the interceptor opened carries its id, which only the filter takes out.
        const filters =
          record || delayMs > 0 || abort || decision.requestHeaders.length > 0
            ? [meshCallFilter(actions)]
            : []
        if (decision.timeoutMs !== undefined) methodConfig.timeout = durationOf(decision.timeoutMs)
        const retry = decision.retry
        const codes = retry.retryOn.map((c) => GRPC_RETRY[c]).filter((c): c is string => c !== undefined)
        if (retry.attempts > 0 && codes.length > 0) {
          methodConfig.retryPolicy = {
            maxAttempts: Math.min(retry.attempts + 1, 5),
            initialBackoff: '0.025s',
            maxBackoff: '0.25s',
            backoffMultiplier: 2,
            retryableStatusCodes: codes,
          }
        }
        const t = decision.target
        return {
          methodConfig,
          pickInformation: { [CLUSTER_KEY]: JSON.stringify([t.host, t.subset ?? '', t.port]) },
          status: Status.OK,
          dynamicFilterFactories: filters,
        }
      },
      unref: () => {},
    }
    this.#listener(
      { ok: true, value: list } as never,
      { [experimental.CHANNEL_ARGS_CONFIG_SELECTOR_KEY]: selector },
      { ok: true, value: { loadBalancingConfig: [{ [LB_NAME]: {} }], methodConfig: [] } } as never,
      '',
    )
  }
}

class WeftLbConfig implements experimental.TypedLoadBalancingConfig {
  getLoadBalancerName(): string {
    return LB_NAME
  }
  toJsonObject(): object {
    return { [LB_NAME]: {} }
  }
  static createFromJson(): WeftLbConfig {
    return new WeftLbConfig()
  }
}

/**
 * One pick-first leaf per endpoint; each call picks among the endpoints of the cluster its
 * route chose, with the DestinationRule's balancer and outlier state.
 */
class WeftLoadBalancer implements experimental.LoadBalancer {
  readonly #helper: experimental.ChannelControlHelper
  readonly #leaves = new Map<string, experimental.LeafLoadBalancer>()
  #mesh: MeshContext | undefined

  constructor(helper: experimental.ChannelControlHelper) {
    this.#helper = helper
  }

  updateAddressList(
    endpoints: { ok: boolean; value?: GrpcEndpoint[] },
    _config: experimental.TypedLoadBalancingConfig,
    options: ChannelOptions,
  ): boolean {
    this.#mesh = meshOf(options)
    if (!endpoints.ok || !endpoints.value) return false
    const keep = new Set<string>()
    for (const endpoint of endpoints.value) {
      const key = address(endpoint.addresses[0] as experimental.SubchannelAddress)
      keep.add(key)
      if (this.#leaves.has(key)) continue
      const helper = experimental.createChildChannelControlHelper(this.#helper, {
        updateState: () => this.#publish(),
      })
      const leaf = new experimental.LeafLoadBalancer(endpoint, helper, options, '')
      this.#leaves.set(key, leaf)
      leaf.startConnecting()
    }
    for (const [key, leaf] of this.#leaves) {
      if (!keep.has(key)) {
        leaf.destroy()
        this.#leaves.delete(key)
      }
    }
    this.#publish()
    return true
  }

  #publish(): void {
    const states = [...this.#leaves.values()].map((l) => l.getConnectivityState())
    if (states.includes(connectivityState.READY)) {
      const picker: Picker = { pick: (args) => this.#pick(args) }
      this.#helper.updateState(connectivityState.READY, picker, null)
    } else if (states.length === 0) {
      const details = 'weft: the service has no endpoints'
      this.#helper.updateState(
        connectivityState.TRANSIENT_FAILURE,
        new experimental.UnavailablePicker({ code: Status.UNAVAILABLE, details, metadata: new Metadata() }),
        details,
      )
    } else {
      this.#helper.updateState(connectivityState.CONNECTING, new experimental.QueuePicker(this), null)
    }
  }

  #pick(args: experimental.PickArgs): experimental.PickResult {
    const mesh = this.#mesh
    const info = args.extraPickInfo[CLUSTER_KEY]
    if (!mesh || !info)
      return new experimental.UnavailablePicker({
        code: Status.UNAVAILABLE,
        details: 'weft: no route',
        metadata: new Metadata(),
      }).pick(args)
    const [host, subset, port] = JSON.parse(info) as [string, string, number]
    const cluster = mesh.clusters.get(
      mesh.snapshot(),
      { host, subset: subset || undefined, port },
      mesh.source,
      mesh.random,
      mesh.now(),
    )
    const endpoint = cluster.pick(undefined, mesh.now())
    const leaf = endpoint ? this.#leaves.get(endpointKey(endpoint)) : undefined
    if (!leaf)
      return new experimental.UnavailablePicker({
        code: Status.UNAVAILABLE,
        details: 'weft: no healthy upstream',
        metadata: new Metadata(),
      }).pick(args)
    return leaf.getPicker().pick(args)
  }

  exitIdle(): void {
    for (const leaf of this.#leaves.values()) leaf.exitIdle()
  }

  resetBackoff(): void {}

  destroy(): void {
    for (const leaf of this.#leaves.values()) leaf.destroy()
    this.#leaves.clear()
  }

  getTypeName(): string {
    return LB_NAME
  }
}

export interface MeshGrpcOptions {
  readonly snapshot: () => Snapshot
  readonly source: RouteSource
  readonly random?: () => number
  readonly now?: () => number
  /** Called once per call when it is over. */
  readonly onRequestEnd?: OutboundRequestHook
  /** `@weft/telemetry`'s outbound side: a CLIENT span per call with its context in the metadata, metrics, access log. */
  readonly telemetry?: OutboundTelemetry
}

/**
 * gRPC through the mesh: `new Client(meshGrpc.target('reviews', 9080), credentials,
 * meshGrpc.channelOptions)`. Calls are routed per call by the mesh's rules (method paths as
 * URIs), split by weight, balanced by the DestinationRule, retried on gRPC statuses, bounded
 * by the route timeout, and failed with injected `grpcStatus` aborts.
 */
export interface MeshGrpc {
  /** `weft:///service.namespace:port`, in the caller's namespace unless another is named. */
  target(service: string, port: number, namespace?: string): string
  /**
   * Pass to the gRPC client's constructor: ties its channel to this mesh and installs
   * `interceptor`. A client with interceptors of its own lists `interceptor` among them.
   */
  readonly channelOptions: ChannelOptions
  /** The mesh's client interceptor: reports each call and adds the mesh's response flags to its status. */
  readonly interceptor: Interceptor
  /** Re-resolves every channel, after a snapshot change (endpoints come and go). */
  refresh(): void
  close(): void
}

export function meshGrpc(options: MeshGrpcOptions): MeshGrpc {
  if (!registered) {
    experimental.registerResolver('weft', WeftResolver as never)
    experimental.registerLoadBalancerType(LB_NAME, WeftLoadBalancer as never, WeftLbConfig)
    registered = true
  }
  const id = `mesh-${++nextId}`
  const context: MeshContext = {
    snapshot: options.snapshot,
    source: options.source,
    clusters: new ClusterRegistry(undefined, options.telemetry),
    random: options.random ?? Math.random,
    now: options.now ?? Date.now,
    resolvers: new Set(),
    calls: new GrpcCalls(),
  }
  meshes.set(id, context)
  const interceptor = meshCallInterceptor(context.calls, options.onRequestEnd, context.now, options.telemetry)
  return {
    target: (service, port, namespace = options.source.namespace) =>
      `weft:///${service}.${namespace}:${port}`,
    channelOptions: { [MESH_OPTION]: id, interceptors: [interceptor] },
    interceptor,
    refresh: () => {
      for (const resolver of context.resolvers) resolver.updateResolution()
    },
    close: () => meshes.delete(id),
  }
}
