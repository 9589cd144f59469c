const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** The certificates of a PEM bundle, each as its own PEM block, in the order written. */
export function splitCertificates(pem: string): string[] {
  return pem.match(CERTIFICATE_BLOCK) ?? []
}

/** Several PEM blocks as one bundle, one block per line group, ending in a newline. */
export function joinPem(blocks: readonly string[]): string {
  return blocks.map((b) => `${b.trim()}\n`).join('')
}
