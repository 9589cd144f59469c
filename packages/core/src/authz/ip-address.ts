/**
 * IP addresses as 32-bit words (IPv4 in `words[0]`; IPv6 in `words[0..3]`, most significant
 * first), and CIDR ranges with precomputed masks, for `ipBlocks`, `remoteIpBlocks`,
 * `source.ip`, `remote.ip` and `destination.ip`. Parsing follows Go's `netip` (what Istio
 * validates and translates with): no leading zeros in IPv4 parts, at most one `::`, an embedded
 * IPv4 only as the last 32 bits, an IPv6 zone ignored.
 */
export type IpVersion = 0 | 4 | 6

// Scratch for the hextets of one IPv6 address; parsing is synchronous, so one buffer serves all.
const HEXTETS = new Uint16Array(8)

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}

/** Dotted IPv4 in `text[start, end)` as an unsigned 32-bit number, or -1. */
function parseIpv4(text: string, start: number, end: number): number {
  let value = 0
  let parts = 0
  let i = start
  while (parts < 4) {
    const first = i
    let part = 0
    while (i < end) {
      const c = text.charCodeAt(i)
      if (c < 0x30 || c > 0x39) break
      part = part * 10 + (c - 0x30)
      i++
    }
    const digits = i - first
    if (digits === 0 || digits > 3 || part > 255) return -1
    if (digits > 1 && text.charCodeAt(first) === 0x30) return -1
    value = value * 256 + part
    parts++
    if (parts < 4) {
      if (i >= end || text.charCodeAt(i) !== 0x2e) return -1
      i++
    }
  }
  return i === end ? value : -1
}

function parseIpv6(text: string, end: number, words: Uint32Array): IpVersion {
  let count = 0
  let gap = -1
  let i = 0
  if (end >= 2 && text.charCodeAt(0) === 0x3a && text.charCodeAt(1) === 0x3a) {
    gap = 0
    i = 2
  } else if (end === 0 || text.charCodeAt(0) === 0x3a) {
    return 0
  }
  while (i < end) {
    let j = i
    let hextet = 0
    while (j < end && j - i < 5) {
      const d = hexDigit(text.charCodeAt(j))
      if (d < 0) break
      hextet = hextet * 16 + d
      j++
    }
    if (j < end && text.charCodeAt(j) === 0x2e) {
      const v4 = count <= 6 ? parseIpv4(text, i, end) : -1
      if (v4 < 0) return 0
      HEXTETS[count++] = v4 >>> 16
      HEXTETS[count++] = v4 & 0xffff
      i = end
      break
    }
    if (j === i || j - i > 4 || count === 8) return 0
    HEXTETS[count++] = hextet
    if (j === end) {
      i = end
      break
    }
    if (text.charCodeAt(j) !== 0x3a || j + 1 === end) return 0
    if (text.charCodeAt(j + 1) === 0x3a) {
      if (gap >= 0) return 0
      gap = count
      i = j + 2
    } else {
      i = j + 1
    }
  }
  if (gap < 0 ? count !== 8 : count === 8) return 0
  if (gap >= 0) {
    const tail = count - gap
    for (let k = 0; k < tail; k++) HEXTETS[7 - k] = HEXTETS[count - 1 - k] as number
    for (let k = gap; k < 8 - tail; k++) HEXTETS[k] = 0
  }
  for (let k = 0; k < 4; k++) {
    words[k] = (((HEXTETS[2 * k] as number) << 16) | (HEXTETS[2 * k + 1] as number)) >>> 0
  }
  return 6
}

/** Parses `text` into `words`; 0 when it is not an IP address. */
export function parseIp(text: string, words: Uint32Array): IpVersion {
  if (text.includes(':')) {
    const zone = text.indexOf('%')
    return parseIpv6(text, zone >= 0 ? zone : text.length, words)
  }
  const v4 = parseIpv4(text, 0, text.length)
  if (v4 < 0) return 0
  words[0] = v4
  return 4
}

/**
 * A peer's address as Envoy presents it: a dual-stack listener (Node's default `::`) sees an
 * IPv4 client as `::ffff:a.b.c.d`, which Envoy's `ipv4_compat` sockets report as plain IPv4, so
 * that IPv4 blocks match it.
 */
export function parsePeerIp(text: string, words: Uint32Array): IpVersion {
  const version = parseIp(text, words)
  if (version === 6 && words[0] === 0 && words[1] === 0 && words[2] === 0xffff) {
    words[0] = words[3] as number
    return 4
  }
  return version
}

function formatRange(version: 4 | 6, words: Uint32Array, bits: number): string {
  if (version === 4) {
    const w = words[0] as number
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}/${bits}`
  }
  const hextets: string[] = []
  for (let k = 0; k < 4; k++) {
    const w = words[k] as number
    hextets.push((w >>> 16).toString(16), (w & 0xffff).toString(16))
  }
  return `${hextets.join(':')}/${bits}`
}

/**
 * A CIDR block, host bits cleared as Envoy's `CidrRange` does (`10.1.2.3/8` is `10.0.0.0/8`);
 * a bare address is a /32 or /128, as Istio's `AddrStrToCidrRange` makes it. Addresses of the
 * other family never match.
 */
export class CidrRange {
  readonly version: 4 | 6
  readonly prefixLength: number
  readonly #network: Uint32Array
  readonly #mask: Uint32Array

  private constructor(version: 4 | 6, address: Uint32Array, prefixLength: number) {
    this.version = version
    this.prefixLength = prefixLength
    this.#mask = new Uint32Array(4)
    this.#network = new Uint32Array(4)
    let remaining = prefixLength
    for (let k = 0; k < 4; k++) {
      const bits = Math.min(remaining, 32)
      remaining -= bits
      this.#mask[k] = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
      this.#network[k] = ((address[k] as number) & (this.#mask[k] as number)) >>> 0
    }
  }

  /** `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or block; undefined if malformed. */
  static parse(text: string): CidrRange | undefined {
    const slash = text.indexOf('/')
    const words = new Uint32Array(4)
    const version = parseIp(slash < 0 ? text : text.slice(0, slash), words)
    if (version === 0) return undefined
    const max = version === 4 ? 32 : 128
    if (slash < 0) return new CidrRange(version, words, max)
    if (text.includes('%')) return undefined
    const bits = text.slice(slash + 1)
    if (!/^(?:0|[1-9]\d{0,2})$/.test(bits) || Number(bits) > max) return undefined
    return new CidrRange(version, words, Number(bits))
  }

  contains(version: IpVersion, words: Uint32Array): boolean {
    if (version !== this.version) return false
    const mask = this.#mask
    const network = this.#network
    if (((words[0] as number) & (mask[0] as number)) >>> 0 !== network[0]) return false
    if (version === 4) return true
    for (let k = 1; k < 4; k++) {
      if (((words[k] as number) & (mask[k] as number)) >>> 0 !== network[k]) return false
    }
    return true
  }

  toString(): string {
    return formatRange(this.version, this.#network, this.prefixLength)
  }
}
