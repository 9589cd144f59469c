// The one door to @peculiar/x509. Its 2.x releases resolve services through tsyringe, which needs
// a Reflect metadata polyfill loaded before the library itself; and it signs through whatever
// WebCrypto it is given, which here is always Node's own.
import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

export { x509 }
