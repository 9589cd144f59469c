// A real gRPC upstream for multi-process tests: bookinfo.Reviews/Get answers with this
// process's name (UPSTREAM_NAME), followed by `+value` when the call carried an `x-echo`
// header, and by `!leaked` if the mesh's internal call id reached it (so every name check is
// also a check that it does not). Listens on 127.0.0.1 (port 0), reports the port over IPC.
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'

const definition = protoLoader.loadSync(fileURLToPath(new URL('./reviews.proto', import.meta.url)))
const { bookinfo } = grpc.loadPackageDefinition(definition)
const name = process.env.UPSTREAM_NAME ?? 'grpc-upstream'
const server = new grpc.Server()
server.addService(bookinfo.Reviews.service, {
  Get: (call, callback) => {
    const echo = call.metadata.get('x-echo')
    const leaked = call.metadata.get('x-weft-call-id').length ? '!leaked' : ''
    callback(null, { name: `${echo.length ? `${name}+${echo.join(',')}` : name}${leaked}` })
  },
})
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error
  process.send?.({ port })
})
process.on('disconnect', () => process.exit(0))
