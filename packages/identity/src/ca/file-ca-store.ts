import { mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { CaMaterialInvalidError } from '../errors.js'
import { writeFileAtomic } from './atomic-write.js'
import type { CaMaterial, CaStore } from './ca-store.js'

/** The file names of Istio's plug-in CA secret, plus Weft's two for a root being introduced. */
export const CA_FILES = Object.freeze({
  signingCert: 'ca-cert.pem',
  signingKey: 'ca-key.pem',
  chain: 'cert-chain.pem',
  roots: 'root-cert.pem',
  nextRootCert: 'next-root-cert.pem',
  nextRootKey: 'next-root-key.pem',
})

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * CA material in a directory laid out as Istio's `cacerts` (an operator's plug-in CA, or the
 * self-signed root Weft made there). Every file is written mode 0600 and atomically; the
 * directory is made mode 0700.
 */
export class FileCaStore implements CaStore {
  readonly directory: string
  readonly description: string

  constructor(directory: string) {
    this.directory = directory
    this.description = `directory ${directory}`
  }

  async load(): Promise<CaMaterial | undefined> {
    const read = (name: string) => readOptional(join(this.directory, name))
    const [cert, key, chain, roots, nextCert, nextKey] = await Promise.all([
      read(CA_FILES.signingCert),
      read(CA_FILES.signingKey),
      read(CA_FILES.chain),
      read(CA_FILES.roots),
      read(CA_FILES.nextRootCert),
      read(CA_FILES.nextRootKey),
    ])
    if (cert === undefined && key === undefined) return undefined
    if (cert === undefined || key === undefined) {
      const missing = cert === undefined ? CA_FILES.signingCert : CA_FILES.signingKey
      throw new CaMaterialInvalidError(this.description, `${missing} is missing`)
    }
    if ((nextCert === undefined) !== (nextKey === undefined)) {
      throw new CaMaterialInvalidError(
        this.description,
        `${CA_FILES.nextRootCert} and ${CA_FILES.nextRootKey} must be present together`,
      )
    }
    return {
      signingCertPem: cert,
      signingKeyPem: key,
      chainPem: chain ?? '',
      // A plug-in CA whose signing certificate is its own root may leave root-cert.pem out.
      rootsPem: roots ?? '',
      ...(nextCert !== undefined && nextKey !== undefined
        ? { nextRoot: { certPem: nextCert, keyPem: nextKey } }
        : {}),
    }
  }

  /**
   * Writes each file atomically. The key is written before its certificate and the bundle
   * last, so that a crash part-way leaves a set the CA refuses at load (certificate and key
   * that do not match) rather than one that signs with the wrong key.
   */
  async save(material: CaMaterial): Promise<void> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 })
    const write = (name: string, text: string) => writeFileAtomic(join(this.directory, name), text, 0o600)
    if (material.nextRoot) {
      await write(CA_FILES.nextRootKey, material.nextRoot.keyPem)
      await write(CA_FILES.nextRootCert, material.nextRoot.certPem)
    }
    await write(CA_FILES.signingKey, material.signingKeyPem)
    await write(CA_FILES.signingCert, material.signingCertPem)
    await write(CA_FILES.chain, material.chainPem)
    await write(CA_FILES.roots, material.rootsPem)
    if (!material.nextRoot) {
      await rm(join(this.directory, CA_FILES.nextRootCert), { force: true })
      await rm(join(this.directory, CA_FILES.nextRootKey), { force: true })
    }
  }
}
