/** Where a command writes and reads: the process's streams, or a test's buffers. */
export interface Io {
  out(text: string): void
  err(text: string): void
  readStdin(): Promise<string>
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  async readStdin() {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  },
}
