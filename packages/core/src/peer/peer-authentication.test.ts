import type { PeerAuthentication } from '@weft/config'
import { describe, expect, it } from 'vitest'
import {
  type MtlsMode,
  mergePeerAuthentication,
  type PeerAuthenticationDecision,
  peerAuthenticationFor,
} from './peer-authentication.js'

type Spec = PeerAuthentication['spec']
const pa = (namespace: string, name: string, spec: Spec): PeerAuthentication => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'PeerAuthentication',
  metadata: { namespace, name },
  spec,
})
const mode = (m: MtlsMode | 'UNSET') => ({ mtls: { mode: m } })
const app = { selector: { matchLabels: { app: 'reviews' } } }

describe('PeerAuthentication: the mode for a workload and target port (Istio ComposePeerAuthentication)', () => {
  const cases: {
    name: string
    policies: PeerAuthentication[]
    port?: number
    expected: PeerAuthenticationDecision
  }[] = [
    {
      name: 'no policy: PERMISSIVE, Istio’s default',
      policies: [],
      expected: { mode: 'PERMISSIVE', scope: 'default' },
    },
    {
      name: 'a mesh-wide policy in the root namespace applies',
      policies: [pa('istio-system', 'default', mode('STRICT'))],
      expected: { mode: 'STRICT', scope: 'mesh', policy: 'PeerAuthentication/istio-system/default' },
    },
    {
      name: 'a namespace policy overrides the mesh’s',
      policies: [pa('istio-system', 'default', mode('STRICT')), pa('bookinfo', 'default', mode('DISABLE'))],
      expected: { mode: 'DISABLE', scope: 'namespace', policy: 'PeerAuthentication/bookinfo/default' },
    },
    {
      name: 'UNSET at the namespace inherits the mesh’s mode',
      policies: [pa('istio-system', 'default', mode('STRICT')), pa('bookinfo', 'default', mode('UNSET'))],
      expected: { mode: 'STRICT', scope: 'mesh', policy: 'PeerAuthentication/istio-system/default' },
    },
    {
      name: 'a policy without mtls inherits too',
      policies: [pa('istio-system', 'default', {}), pa('bookinfo', 'default', { mtls: {} })],
      expected: { mode: 'PERMISSIVE', scope: 'default' },
    },
    {
      name: 'a workload policy (selector) overrides the namespace’s',
      policies: [
        pa('bookinfo', 'default', mode('PERMISSIVE')),
        pa('bookinfo', 'reviews', { ...app, ...mode('STRICT') }),
      ],
      expected: { mode: 'STRICT', scope: 'workload', policy: 'PeerAuthentication/bookinfo/reviews' },
    },
    {
      name: 'UNSET at the workload inherits the namespace’s mode',
      policies: [
        pa('bookinfo', 'default', mode('DISABLE')),
        pa('bookinfo', 'reviews', { ...app, ...mode('UNSET') }),
      ],
      expected: { mode: 'DISABLE', scope: 'namespace', policy: 'PeerAuthentication/bookinfo/default' },
    },
    {
      name: 'portLevelMtls sets the mode of its target port',
      policies: [
        pa('bookinfo', 'default', mode('STRICT')),
        pa('bookinfo', 'reviews', { ...app, portLevelMtls: { '9080': { mode: 'DISABLE' } } }),
      ],
      port: 9080,
      expected: { mode: 'DISABLE', scope: 'port', policy: 'PeerAuthentication/bookinfo/reviews' },
    },
    {
      name: 'another port keeps the workload’s inherited mode',
      policies: [
        pa('bookinfo', 'default', mode('STRICT')),
        pa('bookinfo', 'reviews', { ...app, portLevelMtls: { '9080': { mode: 'DISABLE' } } }),
      ],
      port: 8080,
      expected: { mode: 'STRICT', scope: 'namespace', policy: 'PeerAuthentication/bookinfo/default' },
    },
    {
      name: 'an UNSET port inherits the workload level (itself inherited from the mesh)',
      policies: [
        pa('istio-system', 'default', mode('DISABLE')),
        pa('bookinfo', 'reviews', { ...app, portLevelMtls: { '9080': { mode: 'UNSET' } } }),
      ],
      port: 9080,
      expected: { mode: 'DISABLE', scope: 'mesh', policy: 'PeerAuthentication/istio-system/default' },
    },
    {
      name: 'portLevelMtls of a namespace-wide policy is ignored (Istio requires a selector for it)',
      policies: [
        pa('bookinfo', 'default', { ...mode('PERMISSIVE'), portLevelMtls: { '9080': { mode: 'STRICT' } } }),
      ],
      port: 9080,
      expected: { mode: 'PERMISSIVE', scope: 'namespace', policy: 'PeerAuthentication/bookinfo/default' },
    },
    {
      name: 'a policy with a selector in the root namespace applies to no workload',
      policies: [pa('istio-system', 'reviews', { ...app, ...mode('STRICT') })],
      expected: { mode: 'PERMISSIVE', scope: 'default' },
    },
    {
      name: 'an empty matchLabels is no selector: the policy is namespace-wide',
      policies: [pa('bookinfo', 'all', { selector: { matchLabels: {} }, ...mode('STRICT') })],
      expected: { mode: 'STRICT', scope: 'namespace', policy: 'PeerAuthentication/bookinfo/all' },
    },
    {
      name: 'two policies at one level: the first by name wins (Istio: the oldest)',
      policies: [pa('bookinfo', 'zeta', mode('DISABLE')), pa('bookinfo', 'alpha', mode('STRICT'))],
      expected: { mode: 'STRICT', scope: 'namespace', policy: 'PeerAuthentication/bookinfo/alpha' },
    },
  ]

  for (const c of cases) {
    it(c.name, () => {
      const merged = mergePeerAuthentication(c.policies, 'istio-system')
      expect(peerAuthenticationFor(merged, c.port ?? 9080)).toEqual(c.expected)
    })
  }

  it('is plain data, so that `weft dump` can show it', () => {
    const merged = mergePeerAuthentication(
      [
        pa('bookinfo', 'reviews', {
          ...app,
          ...mode('STRICT'),
          portLevelMtls: { '15090': { mode: 'DISABLE' } },
        }),
      ],
      'istio-system',
    )
    expect(JSON.parse(JSON.stringify(merged))).toEqual({
      workload: { mode: 'STRICT', scope: 'workload', policy: 'PeerAuthentication/bookinfo/reviews' },
      ports: { '15090': { mode: 'DISABLE', scope: 'port', policy: 'PeerAuthentication/bookinfo/reviews' } },
    })
  })
})
