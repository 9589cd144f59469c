import { describe, expect, it } from 'vitest'
import { CidrRange, type IpVersion, parseIp, parsePeerIp } from './ip-address.js'

function words(text: string, parse = parseIp): [IpVersion, number[]] {
  const out = new Uint32Array(4)
  const version = parse(text, out)
  return [version, version === 4 ? [out[0] as number] : version === 6 ? [...out] : []]
}

const addresses: { name: string; text: string; expected: [IpVersion, number[]] }[] = [
  { name: 'Go netip: dotted IPv4', text: '10.1.2.3', expected: [4, [0x0a010203]] },
  { name: 'Go netip: 255.255.255.255', text: '255.255.255.255', expected: [4, [0xffffffff]] },
  { name: 'Go netip: an IPv4 part above 255 is refused', text: '10.0.0.256', expected: [0, []] },
  {
    name: 'Go netip: IPv4 leading zeros are refused (octal ambiguity)',
    text: '010.0.0.1',
    expected: [0, []],
  },
  { name: 'Go netip: three IPv4 parts are refused', text: '10.0.1', expected: [0, []] },
  { name: 'Go netip: a trailing dot is refused', text: '10.0.0.1.', expected: [0, []] },
  { name: 'Go netip: full IPv6', text: '2001:db8:0:0:0:0:0:1', expected: [6, [0x20010db8, 0, 0, 1]] },
  { name: 'Go netip: :: compresses zeros', text: '2001:db8::1', expected: [6, [0x20010db8, 0, 0, 1]] },
  { name: 'Go netip: :: alone is all zeros', text: '::', expected: [6, [0, 0, 0, 0]] },
  { name: 'Go netip: ::1', text: '::1', expected: [6, [0, 0, 0, 1]] },
  { name: 'Go netip: a trailing ::', text: 'fe80::', expected: [6, [0xfe800000, 0, 0, 0]] },
  { name: 'Go netip: hex digits in any case', text: 'FE80::AbC', expected: [6, [0xfe800000, 0, 0, 0xabc]] },
  {
    name: 'Go netip: embedded IPv4 as the last 32 bits',
    text: '::ffff:10.0.0.1',
    expected: [6, [0, 0, 0xffff, 0x0a000001]],
  },
  { name: 'Go netip: a zone is ignored', text: 'fe80::1%eth0', expected: [6, [0xfe800000, 0, 0, 1]] },
  { name: 'Go netip: two :: are refused', text: '1::2::3', expected: [0, []] },
  { name: 'Go netip: a hextet of five digits is refused', text: '12345::', expected: [0, []] },
  { name: 'Go netip: nine hextets are refused', text: '1:2:3:4:5:6:7:8:9', expected: [0, []] },
  { name: 'Go netip: :: with eight hextets is refused', text: '1:2:3:4::5:6:7:8', expected: [0, []] },
  { name: 'Go netip: a single leading colon is refused', text: ':1::', expected: [0, []] },
  { name: 'Go netip: a single trailing colon is refused', text: '1::2:', expected: [0, []] },
  { name: 'Go netip: seven hextets without :: are refused', text: '1:2:3:4:5:6:7', expected: [0, []] },
  { name: 'Go netip: a name is not an address', text: 'localhost', expected: [0, []] },
]

describe('parseIp', () => {
  it.each(addresses)('$name', ({ text, expected }) => {
    expect(words(text)).toEqual(expected)
  })

  it('Envoy ipv4_compat: a peer at ::ffff:a.b.c.d is IPv4', () => {
    expect(words('::ffff:192.0.2.1', parsePeerIp)).toEqual([4, [0xc0000201]])
  })

  it('Envoy: other IPv6 peers stay IPv6 (::1 is not 0.0.0.1)', () => {
    expect(words('::1', parsePeerIp)).toEqual([6, [0, 0, 0, 1]])
  })
})

const ranges: { name: string; range: string; address: string; contains: boolean }[] = [
  { name: 'Istio: a bare IPv4 address is a /32', range: '10.0.0.1', address: '10.0.0.1', contains: true },
  { name: 'Istio: a /32 holds one address', range: '10.0.0.1', address: '10.0.0.2', contains: false },
  {
    name: 'Envoy: /24 contains its last address',
    range: '192.168.1.0/24',
    address: '192.168.1.255',
    contains: true,
  },
  {
    name: 'Envoy: /24 excludes the next block',
    range: '192.168.1.0/24',
    address: '192.168.2.0',
    contains: false,
  },
  {
    name: 'Envoy: /0 contains every IPv4 address',
    range: '0.0.0.0/0',
    address: '203.0.113.9',
    contains: true,
  },
  {
    name: 'Envoy: an odd prefix length (/13)',
    range: '10.8.0.0/13',
    address: '10.15.255.255',
    contains: true,
  },
  {
    name: 'Envoy: an odd prefix length excludes past its end',
    range: '10.8.0.0/13',
    address: '10.16.0.0',
    contains: false,
  },
  {
    name: 'Envoy: host bits of the range are cleared',
    range: '10.1.2.3/8',
    address: '10.200.0.1',
    contains: true,
  },
  {
    name: 'Istio: a bare IPv6 address is a /128',
    range: '2001:db8::1',
    address: '2001:db8::1',
    contains: true,
  },
  { name: 'Envoy: IPv6 /64', range: '2001:db8:1:2::/64', address: '2001:db8:1:2:ffff::1', contains: true },
  {
    name: 'Envoy: IPv6 /64 excludes the next /64',
    range: '2001:db8:1:2::/64',
    address: '2001:db8:1:3::',
    contains: false,
  },
  {
    name: 'Envoy: IPv6 /100 crosses a word boundary',
    range: 'fd00::1:0:0/100',
    address: 'fd00::1:fff:ffff',
    contains: true,
  },
  { name: 'Envoy: ::/0 contains every IPv6 address', range: '::/0', address: 'fe80::1', contains: true },
  {
    name: 'Envoy: an IPv6 range never contains an IPv4 address',
    range: '::/0',
    address: '10.0.0.1',
    contains: false,
  },
  {
    name: 'Envoy: an IPv4 range never contains an IPv6 address',
    range: '0.0.0.0/0',
    address: '::1',
    contains: false,
  },
]

describe('CidrRange', () => {
  it.each(ranges)('$name', ({ range, address, contains }) => {
    const out = new Uint32Array(4)
    const version = parseIp(address, out)
    expect(CidrRange.parse(range)?.contains(version, out)).toBe(contains)
  })

  it.each([
    '10.0.0.0/33',
    '2001:db8::/129',
    '10.0.0.0/',
    '10.0.0.0/08',
    '10.0.0.0/-1',
    'fe80::1%eth0/64',
    '',
  ])('Go netip: %j is not a CIDR block', (text) => {
    expect(CidrRange.parse(text)).toBeUndefined()
  })

  it('Weft: toString shows the masked block', () => {
    expect(String(CidrRange.parse('10.1.2.3/8'))).toBe('10.0.0.0/8')
    expect(String(CidrRange.parse('2001:db8::1/32'))).toBe('2001:db8:0:0:0:0:0:0/32')
  })
})
