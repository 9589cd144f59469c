import { randomBytes } from 'node:crypto'

/** How far back a certificate's notBefore is set, so that a peer whose clock runs behind accepts it. */
export const CLOCK_SKEW_MS = 60_000

/**
 * A random, positive serial number in hex: 128 bits (RFC 5280 allows up to 20 octets and asks
 * for unpredictability; the top bit is cleared so that DER needs no sign octet).
 */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0]! & 0x7f) | 0x01
  return bytes.toString('hex')
}
