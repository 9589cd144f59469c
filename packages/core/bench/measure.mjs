/** Median nanoseconds per call of `fn` over `rounds` timed batches, after one warm-up batch. */
export function measure(fn, batch = 20_000, rounds = 15) {
  for (let i = 0; i < batch; i++) fn(i)
  const samples = []
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) fn(i)
    samples.push(Number(process.hrtime.bigint() - start) / batch)
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)]
}
