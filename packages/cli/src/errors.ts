/** A command line the CLI cannot act on: exit status 2, as usage errors get everywhere. */
export class UsageError extends Error {
  override name = 'UsageError'
  readonly code = 'WEFT_CLI_USAGE'
}

export const ExitCode = Object.freeze({ ok: 0, invalid: 1, usage: 2 })
