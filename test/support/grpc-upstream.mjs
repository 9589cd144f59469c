// A real gRPC upstream for multi-process tests: bookinfo.Reviews/Get answers with this
// process's name (UPSTREAM_NAME). Listens on 127.0.0.1 (port 0), reports the port over IPC.
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'

const definition = protoLoader.loadSync(fileURLToPath(new URL('./reviews.proto', import.meta.url)))
const { bookinfo } = grpc.loadPackageDefinition(definition)
const name = process.env.UPSTREAM_NAME ?? 'grpc-upstream'
const server = new grpc.Server()
server.addService(bookinfo.Reviews.service, {
  Get: (_call, callback) => callback(null, { name }),
})
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error
  process.send?.({ port })
})
process.on('disconnect', () => process.exit(0))
