/** A command line the CLI cannot act on: exit status 2, as usage errors get everywhere. */
export class UsageError extends Error {
  override name = 'UsageError'
  readonly code = 'WEFT_CLI_USAGE'
}

/**
 * What scripts can rely on: 0 done; 1 the config or request was refused (invalid, conflict, not
 * found); 2 the command line is wrong; 3 the control plane could not be reached or refused the
 * credential.
 */
export const ExitCode = Object.freeze({ ok: 0, invalid: 1, usage: 2, unreachable: 3 })
