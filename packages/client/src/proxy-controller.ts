import type { Dispatcher } from 'undici'

/**
 * The controller a caller's handler holds for the whole request, across retries: pause, resume
 * and abort reach whichever attempt is current.
 */
export class ProxyController implements Dispatcher.DispatchController {
  #current: Dispatcher.DispatchController | undefined
  #aborted = false
  #reason: Error | null = null
  #paused = false

  attach(controller: Dispatcher.DispatchController): void {
    this.#current = controller
    if (this.#paused) controller.pause()
  }

  get aborted(): boolean {
    return this.#aborted
  }

  get paused(): boolean {
    return this.#paused
  }

  get reason(): Error | null {
    return this.#reason
  }

  abort(reason: Error): void {
    this.#aborted = true
    this.#reason = reason
    this.#current?.abort(reason)
  }

  pause(): void {
    this.#paused = true
    this.#current?.pause()
  }

  resume(): void {
    this.#paused = false
    this.#current?.resume()
  }
}
