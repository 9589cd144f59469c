import { createPrivateKey, X509Certificate as NodeCertificate, randomBytes } from 'node:crypto'
import {
  CaMaterialInvalidError,
  CsrRefusedError,
  IdentityOptionError,
  InvalidSpiffeIdError,
  RootRotationError,
} from '../errors.js'
import { CLOCK_SKEW_MS, randomSerialNumber } from '../pki/certificate-profile.js'
import { generateP256KeyPair, importSigningKey, privateKeyToPem, type SigningKey } from '../pki/keys.js'
import { joinPem, splitCertificates } from '../pki/pem.js'
import { x509 } from '../pki/x509.js'
import { parseSpiffeId, workloadSpiffeId } from '../spiffe/spiffe-id.js'
import type { CaMaterial, CaStore } from './ca-store.js'

const HOUR_MS = 3_600_000
/** Istio's defaults: workload certificates live 24 h, at most 90 days; a self-signed root 10 years. */
export const DEFAULT_WORKLOAD_TTL_MS = 24 * HOUR_MS
const DEFAULT_MAX_WORKLOAD_TTL_MS = 90 * 24 * HOUR_MS
const DEFAULT_ROOT_TTL_MS = 10 * 365 * 24 * HOUR_MS

export interface CertificateAuthorityOptions {
  readonly store: CaStore
  /** The mesh's trust domain, the host part of every SPIFFE ID it issues. Default `cluster.local`. */
  readonly trustDomain?: string
  /** Lifetime of a workload certificate when `sign` is given none. Default 24 h. */
  readonly defaultTtlMs?: number
  /** The longest lifetime `sign` grants. Default 90 days. */
  readonly maxTtlMs?: number
  /** Lifetime of a self-signed root this CA makes. Default 10 years. */
  readonly rootTtlMs?: number
  /** Milliseconds since the epoch; tests pass their own. */
  readonly clock?: () => number
}

/** Who a certificate is for: already authenticated by the caller (the control plane). */
export interface SignRequest {
  readonly namespace: string
  readonly serviceAccount: string
  /** Default: the CA's `defaultTtlMs`. */
  readonly ttlMs?: number
}

/** Where a root rotation stands: `introduced` while a new root is trusted but not yet signing. */
export type RootRotationState = 'steady' | 'introduced' | 'overlap'

interface Signer {
  readonly certPem: string
  readonly cert: x509.X509Certificate
  readonly key: SigningKey
  /** Certificates sent after a leaf: the signing certificate and intermediates, no root. */
  readonly chain: readonly string[]
  readonly notAfterMs: number
  readonly authorityKeyId: x509.AuthorityKeyIdentifierExtension
  /** Whether this CA made the signing root itself (and so may rotate it). */
  readonly selfSigned: boolean
}

function selfIssued(cert: NodeCertificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey)
}

async function authorityKeyIdOf(cert: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension)
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId)
  return x509.AuthorityKeyIdentifierExtension.create(cert.publicKey)
}

/**
 * Checks CA material and turns it into a signer and a trust bundle; throws
 * `CaMaterialInvalidError` saying what to fix.
 */
async function openMaterial(
  material: CaMaterial,
  where: string,
  nowMs: number,
): Promise<{ signer: Signer; roots: string[] }> {
  const invalid = (problem: string, cause?: unknown) =>
    new CaMaterialInvalidError(where, problem, cause === undefined ? undefined : { cause })
  let cert: NodeCertificate
  try {
    cert = new NodeCertificate(material.signingCertPem)
  } catch (cause) {
    throw invalid('ca-cert.pem is not a PEM certificate', cause)
  }
  if (!cert.ca) throw invalid('ca-cert.pem is not a CA certificate (basicConstraints CA:true)')
  let key: SigningKey
  try {
    if (!cert.checkPrivateKey(createPrivateKey(material.signingKeyPem))) {
      throw invalid('ca-key.pem is not the key of ca-cert.pem')
    }
    key = await importSigningKey(material.signingKeyPem)
  } catch (cause) {
    if (cause instanceof CaMaterialInvalidError) throw cause
    throw invalid('ca-key.pem is not a usable EC or RSA private key', cause)
  }
  const notAfterMs = Date.parse(cert.validTo)
  if (notAfterMs <= nowMs) throw invalid(`ca-cert.pem expired on ${cert.validTo}`)
  const selfSigned = selfIssued(cert)
  const roots = splitCertificates(material.rootsPem)
  if (roots.length === 0) {
    if (!selfSigned) throw invalid('root-cert.pem is missing or empty, and ca-cert.pem is not a root')
    roots.push(material.signingCertPem.trim())
  }
  const parse = (pem: string, file: string) => {
    try {
      return new NodeCertificate(pem)
    } catch (cause) {
      throw invalid(`${file} holds a certificate that does not parse`, cause)
    }
  }
  const rootCerts = roots.map((pem) => parse(pem, 'root-cert.pem'))
  const chain: string[] = selfSigned ? [] : [material.signingCertPem.trim()]
  for (const pem of splitCertificates(material.chainPem)) {
    const c = parse(pem, 'cert-chain.pem')
    if (selfIssued(c) || c.fingerprint256 === cert.fingerprint256) continue
    chain.push(pem)
  }
  const top = chain.length > 0 ? new NodeCertificate(chain[chain.length - 1]!) : cert
  const anchored = rootCerts.some((root) =>
    top.fingerprint256 === root.fingerprint256 ? true : top.checkIssued(root) && top.verify(root.publicKey),
  )
  if (!anchored) throw invalid('ca-cert.pem (with cert-chain.pem) does not chain to a root in root-cert.pem')
  const parsed = new x509.X509Certificate(material.signingCertPem)
  return {
    signer: {
      certPem: material.signingCertPem.trim(),
      cert: parsed,
      key,
      chain,
      notAfterMs,
      authorityKeyId: await authorityKeyIdOf(parsed),
      selfSigned,
    },
    roots,
  }
}

async function createRoot(
  trustDomain: string,
  nowMs: number,
  ttlMs: number,
): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateP256KeyPair()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    // Two roots overlap during a rotation; a distinct name keeps them apart for people and tools.
    name: [{ O: [trustDomain] }, { CN: [`Weft root ${randomBytes(4).toString('hex')}`] }],
    notBefore: new Date(nowMs - CLOCK_SKEW_MS),
    notAfter: new Date(nowMs + ttlMs),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      // Path length 0: this root signs workload certificates only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  return { certPem: cert.toString('pem'), keyPem: await privateKeyToPem(keys.privateKey) }
}

function checkTtl(option: string, value: number | undefined, fallback: number): number {
  const ttl = value ?? fallback
  if (!Number.isFinite(ttl) || ttl <= 0) throw new IdentityOptionError(option, 'a positive number of ms', ttl)
  return ttl
}

/**
 * The mesh's certificate authority: signs X.509-SVIDs for workloads the caller has already
 * authenticated, and keeps the trust bundle their peers verify against. Its material lives in a
 * `CaStore`: an operator's plug-in CA (Istio's `cacerts`), or a self-signed root it makes on
 * first start. Open one with `CertificateAuthority.open`.
 */
export class CertificateAuthority {
  readonly trustDomain: string
  readonly #store: CaStore
  readonly #clock: () => number
  readonly #defaultTtlMs: number
  readonly #maxTtlMs: number
  readonly #rootTtlMs: number
  #material: CaMaterial
  #signer: Signer
  #roots: readonly string[]
  // Rotation steps run one at a time, each saved before the next starts.
  #rotation: Promise<unknown> = Promise.resolve()

  private constructor(
    options: CertificateAuthorityOptions,
    trustDomain: string,
    material: CaMaterial,
    opened: { signer: Signer; roots: string[] },
  ) {
    this.trustDomain = trustDomain
    this.#store = options.store
    this.#clock = options.clock ?? Date.now
    this.#defaultTtlMs = checkTtl('defaultTtlMs', options.defaultTtlMs, DEFAULT_WORKLOAD_TTL_MS)
    this.#maxTtlMs = checkTtl('maxTtlMs', options.maxTtlMs, DEFAULT_MAX_WORKLOAD_TTL_MS)
    this.#rootTtlMs = checkTtl('rootTtlMs', options.rootTtlMs, DEFAULT_ROOT_TTL_MS)
    this.#material = material
    this.#signer = opened.signer
    this.#roots = Object.freeze(opened.roots)
  }

  /**
   * Loads the CA's material from its store, or, if the store is empty, makes a self-signed
   * ECDSA P-256 root and saves it there. Throws `CaMaterialInvalidError` for material it cannot
   * sign with (a key that does not match, an expired certificate, a chain that reaches no root).
   */
  static async open(options: CertificateAuthorityOptions): Promise<CertificateAuthority> {
    const trustDomain = options.trustDomain ?? 'cluster.local'
    try {
      parseSpiffeId(`spiffe://${trustDomain}`)
    } catch {
      throw new IdentityOptionError(
        'trustDomain',
        'lower-case letters, digits, ".", "-" and "_"',
        trustDomain,
      )
    }
    const now = (options.clock ?? Date.now)()
    let material = await options.store.load()
    if (!material) {
      const root = await createRoot(
        trustDomain,
        now,
        checkTtl('rootTtlMs', options.rootTtlMs, DEFAULT_ROOT_TTL_MS),
      )
      material = {
        signingCertPem: root.certPem,
        signingKeyPem: root.keyPem,
        chainPem: '',
        rootsPem: root.certPem,
      }
      await options.store.save(material)
    }
    const opened = await openMaterial(material, options.store.description, now)
    return new CertificateAuthority(options, trustDomain, material, opened)
  }

  /** Every root a peer must trust, one PEM block each (two while a root rotates). */
  get trustBundle(): readonly string[] {
    return this.#roots
  }

  /** The trust bundle as one PEM text, as `root-cert.pem` holds it and `tls` reads it as `ca`. */
  get trustBundlePem(): string {
    return joinPem(this.#roots)
  }

  /** `steady`: one root. `introduced`: a new root is trusted, the old still signs. `overlap`: the new signs, both are trusted. */
  get rootRotation(): RootRotationState {
    if (this.#material.nextRoot) return 'introduced'
    return this.#roots.length > 1 ? 'overlap' : 'steady'
  }

  /**
   * Issues an X.509-SVID for the key in `csrPem`, for the namespace and service account the
   * caller authenticated. Everything else the request asks for (its subject, SANs, extensions)
   * is ignored: identity comes from authentication, never from the requester. The key must be
   * ECDSA P-256 and the request's signature must verify (proof that the requester holds it).
   * Resolves to the PEM chain: the workload certificate, then any intermediates (no root).
   */
  async sign(csrPem: string, request: SignRequest): Promise<string> {
    let id: string
    try {
      id = workloadSpiffeId(this.trustDomain, request).uri
    } catch (error) {
      if (!(error instanceof InvalidSpiffeIdError)) throw error
      throw new IdentityOptionError(
        'namespace/serviceAccount',
        'names of letters, digits, ".", "-" and "_"',
        request,
      )
    }
    const ttlMs = checkTtl('ttlMs', request.ttlMs, this.#defaultTtlMs)
    if (ttlMs > this.#maxTtlMs) {
      throw new IdentityOptionError('ttlMs', `at most the CA's maxTtlMs (${this.#maxTtlMs})`, ttlMs)
    }
    const csr = await verifiedRequest(csrPem)
    const signer = this.#signer
    const now = this.#clock()
    if (signer.notAfterMs <= now) {
      throw new CaMaterialInvalidError(this.#store.description, 'the signing certificate has expired')
    }
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerialNumber(),
      // An SVID's identity is its URI SAN alone; with an empty subject that SAN must be critical.
      subject: '',
      issuer: signer.cert.subjectName,
      notBefore: new Date(now - CLOCK_SKEW_MS),
      // X.509 times have whole seconds: round up, so that a short lifetime is not cut short,
      // but never outlive the certificate that vouches for it.
      notAfter: new Date(Math.min(Math.ceil((now + ttlMs) / 1000) * 1000, signer.notAfterMs)),
      publicKey: csr.publicKey,
      signingKey: signer.key.privateKey,
      signingAlgorithm: signer.key.algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: id }], true),
        signer.authorityKeyId,
      ],
    })
    return joinPem([cert.toString('pem'), ...signer.chain])
  }

  /**
   * Root rotation, step 1: makes a new self-signed root and adds it to the trust bundle, while
   * the current root keeps signing. Publish the new bundle to every workload (it travels with the
   * snapshot) before step 2, so that no peer meets a certificate from a root it does not know.
   */
  introduceRoot(): Promise<void> {
    return this.#rotate(async (material, signer) => {
      if (material.nextRoot) throw new RootRotationError('a new root is already introduced; activate it next')
      if (!signer.selfSigned) throw pluggedCa()
      if (this.#roots.length > 1) {
        throw new RootRotationError('the previous rotation is not finished; retire the old root first')
      }
      const next = await createRoot(this.trustDomain, this.#clock(), this.#rootTtlMs)
      return { ...material, rootsPem: joinPem([...this.#roots, next.certPem]), nextRoot: next }
    })
  }

  /**
   * Step 2: the introduced root starts signing. Workloads move to it as they renew (within half
   * a certificate lifetime); both roots stay trusted meanwhile.
   */
  activateRoot(): Promise<void> {
    return this.#rotate(async (material) => {
      if (!material.nextRoot) throw new RootRotationError('no root is introduced; call introduceRoot() first')
      const { nextRoot, ...rest } = material
      return { ...rest, signingCertPem: nextRoot.certPem, signingKeyPem: nextRoot.keyPem, chainPem: '' }
    })
  }

  /**
   * Step 3: drops every root but the one signing from the trust bundle. Call it once every
   * certificate the old root signed has expired (its longest lifetime after `activateRoot`);
   * a peer still holding one is refused from then on.
   */
  retireRoots(): Promise<void> {
    return this.#rotate(async (material, signer) => {
      if (material.nextRoot)
        throw new RootRotationError('a new root is introduced but not active; activate it first')
      if (!signer.selfSigned) throw pluggedCa()
      if (this.#roots.length < 2)
        throw new RootRotationError('the trust bundle holds one root; nothing to retire')
      return { ...material, rootsPem: joinPem([signer.certPem]) }
    })
  }

  #rotate(step: (material: CaMaterial, signer: Signer) => Promise<CaMaterial>): Promise<void> {
    const run = this.#rotation.then(async () => {
      const material = await step(this.#material, this.#signer)
      const opened = await openMaterial(material, this.#store.description, this.#clock())
      await this.#store.save(material)
      this.#material = material
      this.#signer = opened.signer
      this.#roots = Object.freeze(opened.roots)
    })
    this.#rotation = run.catch(() => undefined)
    return run
  }
}

function pluggedCa(): RootRotationError {
  return new RootRotationError(
    "this CA signs with an operator's intermediate (plug-in cacerts); rotate it by replacing those files, with old and new roots together in root-cert.pem until the old leaves expire",
  )
}

async function verifiedRequest(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  let csr: x509.Pkcs10CertificateRequest
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem)
  } catch (cause) {
    throw new CsrRefusedError('it is not a PKCS#10 request in PEM', { cause })
  }
  const algorithm = csr.publicKey.algorithm as { name?: string; namedCurve?: string }
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') {
    const kind = algorithm.namedCurve
      ? `${algorithm.name} ${algorithm.namedCurve}`
      : (algorithm.name ?? 'unknown')
    throw new CsrRefusedError(
      `its key is ${kind}; Weft issues workload certificates for ECDSA P-256 keys only`,
    )
  }
  let verified = false
  try {
    verified = await csr.verify()
  } catch {
    verified = false
  }
  if (!verified) throw new CsrRefusedError('its signature does not verify with the key it carries')
  return csr
}
