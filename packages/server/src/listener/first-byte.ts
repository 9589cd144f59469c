import type { Socket } from 'node:net'

/** The first byte of every TLS connection: a handshake record (RFC 8446 §5.1, content type 22). */
export const TLS_HANDSHAKE_RECORD = 0x16

/**
 * Waits for a connection's first bytes and puts them back, so that whichever server the socket
 * is handed to next reads the stream from its start. Reading in paused mode ('readable') rather
 * than with a 'data' listener leaves the stream neither flowing nor paused once the listener is
 * gone: an HTTP server's own 'data' listener then starts it, and a TLS socket wrapped around it
 * drains the bytes put back before it reads the handle. `done` gets undefined if the peer closes
 * or sends nothing within `timeoutMs`.
 */
export function peekFirstByte(
  socket: Socket,
  timeoutMs: number,
  done: (byte: number | undefined) => void,
): void {
  const finish = (byte: number | undefined) => {
    clearTimeout(timer)
    socket.removeListener('readable', onReadable)
    socket.removeListener('close', onClose)
    done(byte)
  }
  const onReadable = () => {
    const chunk: Buffer | null = socket.read()
    if (chunk === null) return
    socket.unshift(chunk)
    finish(chunk[0])
  }
  const onClose = () => finish(undefined)
  const timer = setTimeout(() => finish(undefined), timeoutMs)
  socket.on('readable', onReadable)
  socket.once('close', onClose)
}
