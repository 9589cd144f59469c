/**
 * When to renew a certificate: at `fraction` of its lifetime. The lifetime is counted from when
 * it arrived if that is later than its notBefore, because CAs back-date notBefore for clock skew
 * and a short-lived certificate would otherwise look half spent on arrival.
 */
export function renewalTimeMs(
  cert: { readonly notBeforeMs: number; readonly notAfterMs: number },
  receivedAtMs: number,
  fraction: number,
): number {
  const start = Math.max(cert.notBeforeMs, receivedAtMs)
  return start + Math.max(0, cert.notAfterMs - start) * fraction
}

/**
 * Delay before retry number `failures` (1 for the first): exponential from `initialMs`, capped
 * at `maxMs`, with "equal jitter" (half fixed, half random) so that workloads refused together
 * do not come back together.
 */
export function retryDelayMs(
  failures: number,
  initialMs: number,
  maxMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 30))
  return ceiling / 2 + (random() * ceiling) / 2
}
