import { compileSnapshot, loadConfig, type Snapshot } from '@weft/config'
import { describe, expect, it } from 'vitest'
import { createInboundPolicy } from './create-inbound-policy.js'
import type { InboundRequest } from './inbound-request.js'

const yaml = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: default}
spec: {action: DENY, rules: [{to: [{operation: {paths: ["/admin*"]}}]}]}
`
const snapshot = compileSnapshot(loadConfig([{ file: 'p.yaml', text: yaml }]).resources)
const request = (target: string): InboundRequest => ({
  method: 'GET',
  target,
  host: 'reviews',
  headers: {},
  principal: undefined,
  remoteIp: '127.0.0.1',
  localIp: '127.0.0.1',
  localPort: 8080,
  sni: undefined,
  scheme: 'http',
  protocol: 'http',
})

describe('PolicyPipeline', () => {
  it('answers synchronously when no token or authorizer is involved', () => {
    const inbound = createInboundPolicy({
      snapshot: () => snapshot,
      workload: { namespace: 'default', labels: {} },
    })
    const allowed = inbound.evaluate(request('/a/../b'))
    expect(allowed).not.toBeInstanceOf(Promise)
    expect(allowed).toMatchObject({ allowed: true, url: '/b' })
    expect(inbound.evaluate(request('/admin'))).toMatchObject({
      allowed: false,
      status: 403,
      body: 'RBAC: access denied',
    })
    expect(inbound.evaluate(request('/a#b'))).toMatchObject({ allowed: false, status: 400, stage: 'path' })
  })

  it('a throwing decision hook changes nothing', () => {
    const inbound = createInboundPolicy({
      snapshot: () => snapshot,
      workload: { namespace: 'default', labels: {} },
      onInboundDecision: () => {
        throw new Error('telemetry broke')
      },
    })
    expect(inbound.evaluate(request('/x'))).toMatchObject({ allowed: true })
    expect(inbound.evaluate(request('/admin'))).toMatchObject({ allowed: false, status: 403 })
  })

  it('an internal error denies with 500 and is logged, without throwing', () => {
    const logged: string[] = []
    let broken = true
    const inbound = createInboundPolicy({
      snapshot: () => {
        if (broken) throw new Error('no snapshot')
        return snapshot
      },
      workload: { namespace: 'default', labels: {} },
      logger: { error: (message) => logged.push(message) },
    })
    expect(inbound.evaluate(request('/x'))).toMatchObject({
      allowed: false,
      status: 500,
      stage: 'internal',
      grpcCode: 13,
    })
    expect(logged).toHaveLength(1)
    broken = false
    expect(inbound.evaluate(request('/x'))).toMatchObject({ allowed: true })
  })

  it('recompiles when the snapshot version changes, keeping rate-limit buckets of unchanged policies', () => {
    const limit = `apiVersion: weft.dev/v1alpha1
kind: RateLimitPolicy
metadata: {name: rl, namespace: default}
spec: {rules: [{tokenBucket: {maxTokens: 1, fillInterval: 60s}}]}
`
    let current: Snapshot = compileSnapshot(loadConfig([{ file: 'a.yaml', text: limit }]).resources)
    const inbound = createInboundPolicy({
      snapshot: () => current,
      workload: { namespace: 'default', labels: {} },
    })
    expect(inbound.evaluate(request('/x'))).toMatchObject({ allowed: true })
    expect(inbound.evaluate(request('/x'))).toMatchObject({ allowed: false, status: 429 })
    current = compileSnapshot(loadConfig([{ file: 'b.yaml', text: `${limit}---\n${yaml}` }]).resources)
    expect(inbound.evaluate(request('/x'))).toMatchObject({ allowed: false, status: 429 })
    expect(inbound.evaluate(request('/admin'))).toMatchObject({ allowed: false, status: 403 })
  })
})
