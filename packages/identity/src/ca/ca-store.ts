/**
 * What a CA needs to sign and what its peers need to trust, as PEM text. The fields follow
 * Istio's plug-in `cacerts` layout, so that an operator's files and Weft's own read the same way.
 */
export interface CaMaterial {
  /** `ca-cert.pem`: the certificate the CA signs with, a self-signed root or an intermediate. */
  readonly signingCertPem: string
  /** `ca-key.pem`: its private key. The one secret of the mesh. */
  readonly signingKeyPem: string
  /**
   * `cert-chain.pem`: the signing certificate and the certificates above it, up to and possibly
   * including a root; empty when the signing certificate is a root.
   */
  readonly chainPem: string
  /** `root-cert.pem`: the trust bundle, every root a peer accepts (two while a root rotates). */
  readonly rootsPem: string
  /** A root introduced for rotation but not yet signing, with its key (Weft's own files only). */
  readonly nextRoot?: { readonly certPem: string; readonly keyPem: string }
}

/**
 * Where a CA keeps its material. A file store comes with Weft; the control plane adds others
 * (etcd). `load` resolves undefined for an empty store, and the CA then makes a new root.
 */
export interface CaStore {
  /** Where the material lives, for messages: a directory, an etcd key. */
  readonly description: string
  load(): Promise<CaMaterial | undefined>
  save(material: CaMaterial): Promise<void>
}
