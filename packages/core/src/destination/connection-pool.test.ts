import { describe, expect, it } from 'vitest'
import { ConnectionPool, poolLimits } from './connection-pool.js'

describe('poolLimits (Istio connectionPool → Envoy circuit-breaker thresholds)', () => {
  it("Istio: unset limits are Envoy's unlimited (2^32-1), connect timeout 10 s", () => {
    expect(poolLimits(undefined)).toEqual({
      maxConnections: 2 ** 32 - 1,
      maxPendingRequests: 2 ** 32 - 1,
      maxRequests: 2 ** 32 - 1,
      maxRetries: 2 ** 32 - 1,
      maxRequestsPerConnection: 0,
      connectTimeoutMs: 10_000,
    })
  })
  it('Istio: each field maps to its threshold (Bookinfo circuit-breaking task)', () => {
    expect(
      poolLimits({
        tcp: { maxConnections: 1, connectTimeout: '250ms' },
        http: {
          http1MaxPendingRequests: 1,
          http2MaxRequests: 10,
          maxRetries: 3,
          maxRequestsPerConnection: 1,
          idleTimeout: '30s',
        },
      }),
    ).toEqual({
      maxConnections: 1,
      maxPendingRequests: 1,
      maxRequests: 10,
      maxRetries: 3,
      maxRequestsPerConnection: 1,
      connectTimeoutMs: 250,
      idleTimeoutMs: 30_000,
    })
  })
})

describe('ConnectionPool admission', () => {
  it('Envoy: requests past max_requests overflow (UO) until one finishes', () => {
    const pool = new ConnectionPool(poolLimits({ http: { http2MaxRequests: 2 } }))
    expect([pool.admitRequest(), pool.admitRequest(), pool.admitRequest()]).toEqual([
      'admitted',
      'admitted',
      'overflow',
    ])
    pool.releaseRequest()
    expect(pool.admitRequest()).toBe('admitted')
    expect(pool.active).toBe(2)
  })
  it.each([
    { maxConnections: 1, http1MaxPendingRequests: 1, admitted: 2, pendingAtMost: 1 },
    { maxConnections: 2, http1MaxPendingRequests: 3, admitted: 5, pendingAtMost: 3 },
    { maxConnections: 4, http1MaxPendingRequests: undefined, admitted: 10, pendingAtMost: 6 },
  ])(
    'Envoy: requests beyond maxConnections $maxConnections wait; more than http1MaxPendingRequests $http1MaxPendingRequests waiting overflow',
    ({ maxConnections, http1MaxPendingRequests, admitted, pendingAtMost }) => {
      const pool = new ConnectionPool(
        poolLimits({
          tcp: { maxConnections },
          http: { http2MaxRequests: 10, ...(http1MaxPendingRequests ? { http1MaxPendingRequests } : {}) },
        }),
      )
      const answers = Array.from({ length: 12 }, () => pool.admitRequest())
      expect(answers.filter((a) => a === 'admitted')).toHaveLength(admitted)
      expect(answers.slice(admitted).every((a) => a === 'overflow')).toBe(true)
      expect(pool.pending).toBe(pendingAtMost)
      pool.releaseRequest()
      expect(pool.admitRequest()).toBe('admitted')
    },
  )
  it('Envoy: retries past max_retries overflow; releases never go below zero', () => {
    const pool = new ConnectionPool(poolLimits({ http: { maxRetries: 1 } }))
    expect([pool.admitRetry(), pool.admitRetry()]).toEqual(['admitted', 'overflow'])
    pool.releaseRetry()
    pool.releaseRetry()
    expect(pool.retries).toBe(0)
    expect(pool.toJSON()).toMatchObject({ active: 0, pending: 0, retries: 0 })
  })
})
