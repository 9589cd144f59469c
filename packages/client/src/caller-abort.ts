/**
 * The abort function a caller holds from the moment it dispatches through the mesh: its
 * `onConnect` runs before anything else, so an abort lands at once whatever the request is
 * doing — waiting out an injected delay, queued for a connection, between attempts, in one.
 * Each stage says where an abort goes while it runs.
 */
export class CallerAbort {
  #reason: Error | undefined
  #listener: ((reason: Error) => void) | undefined

  /** Handed to the caller's `onConnect`. */
  readonly abort = (reason?: Error): void => {
    if (this.#reason) return
    this.#reason = reason ?? new Error('weft: request aborted')
    this.#listener?.(this.#reason)
  }

  /** Why the caller aborted, once it has. */
  get reason(): Error | undefined {
    return this.#reason
  }

  /** Where an abort goes from now on; called at once if the caller aborted already. */
  listen(listener: (reason: Error) => void): void {
    this.#listener = listener
    if (this.#reason) listener(this.#reason)
  }
}
