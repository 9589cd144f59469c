import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'

/** The gRPC client of `reviews.proto` (`bookinfo.Reviews/Get`), as the tests' upstreams serve it. */
export type ReviewsClient = grpc.Client & {
  Get(
    request: object,
    metadata: grpc.Metadata,
    callback: (error: grpc.ServiceError | null, reply?: { name: string }) => void,
  ): grpc.ClientUnaryCall
}

const { bookinfo } = grpc.loadPackageDefinition(
  protoLoader.loadSync(fileURLToPath(new URL('./reviews.proto', import.meta.url))),
) as unknown as {
  bookinfo: {
    Reviews: new (
      target: string,
      credentials: grpc.ChannelCredentials,
      options: grpc.ChannelOptions,
    ) => ReviewsClient
  }
}

export const Reviews = bookinfo.Reviews
