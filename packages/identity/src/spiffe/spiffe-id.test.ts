import { describe, expect, it } from 'vitest'
import { isSpiffeId, parseSpiffeId, principalOfId, workloadNameOf, workloadSpiffeId } from './spiffe-id.js'

describe('SPIFFE IDs (the SPIFFE-ID specification)', () => {
  const valid: [string, string, string][] = [
    ['spiffe://cluster.local/ns/default/sa/reviews', 'cluster.local', '/ns/default/sa/reviews'],
    ['spiffe://example.org', 'example.org', ''],
    ['spiffe://td_1-x/a.b/c_d-e', 'td_1-x', '/a.b/c_d-e'],
    ['spiffe://example.org/Upper/Case', 'example.org', '/Upper/Case'],
  ]
  for (const [uri, trustDomain, path] of valid) {
    it(`accepts ${uri}`, () => {
      expect(parseSpiffeId(uri)).toEqual({ trustDomain, path, uri })
      expect(isSpiffeId(uri)).toBe(true)
    })
  }

  const invalid: [string, RegExp][] = [
    ['http://cluster.local/ns/a/sa/b', /scheme/],
    ['SPIFFE://cluster.local/ns/a/sa/b', /scheme/],
    ['spiffe://', /trust domain is empty/],
    ['spiffe:///ns/a', /trust domain is empty/],
    ['spiffe://Cluster.local/ns/a', /lower-case/],
    ['spiffe://cluster.local:8080/ns/a', /no port/],
    ['spiffe://user@cluster.local/ns/a', /no port, user/],
    ['spiffe://cluster.local/ns//sa/b', /empty segment/],
    ['spiffe://cluster.local/ns/a/', /trailing/],
    ['spiffe://cluster.local/ns/../sa/b', /"\.\."/],
    ['spiffe://cluster.local/ns/./sa/b', /"\."/],
    ['spiffe://cluster.local/ns/a%20b', /path segments/],
    ['spiffe://cluster.local/ns/a?x=1', /path segments/],
    ['spiffe://cluster.local/ns/a#frag', /path segments/],
    [`spiffe://cluster.local/${'a'.repeat(2048)}`, /2048/],
  ]
  for (const [uri, problem] of invalid) {
    it(`refuses ${uri.slice(0, 60)}`, () => {
      expect(isSpiffeId(uri)).toBe(false)
      expect(() => parseSpiffeId(uri)).toThrow(problem)
      expect(() => parseSpiffeId(uri)).toThrow(
        expect.objectContaining({ code: 'WEFT_IDENTITY_INVALID_SPIFFE_ID' }),
      )
    })
  }

  it('writes and reads Istio’s workload form', () => {
    const id = workloadSpiffeId('cluster.local', {
      namespace: 'bookinfo',
      serviceAccount: 'bookinfo-reviews',
    })
    expect(id.uri).toBe('spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews')
    expect(workloadNameOf(id)).toEqual({ namespace: 'bookinfo', serviceAccount: 'bookinfo-reviews' })
    expect(principalOfId(id)).toBe('cluster.local/ns/bookinfo/sa/bookinfo-reviews')
    expect(workloadNameOf(parseSpiffeId('spiffe://example.org/web'))).toBeUndefined()
  })

  it.each([
    ['a/b', 'reviews'],
    ['default', 'x/sa/admin'],
    ['..', 'reviews'],
    ['', 'reviews'],
  ])('refuses a name that is not one segment: %s / %s', (namespace, serviceAccount) => {
    expect(() => workloadSpiffeId('cluster.local', { namespace, serviceAccount })).toThrow(/one path segment/)
  })
})
