/**
 * {@link Pending}: one async wait in progress, and {@link WaitRegistry}: the
 * waits of one handle. A wait ends early when its AbortSignal fires, its
 * deadline passes or its handle closes; each gets a reason of its own.
 *
 * @module
 */
import { atDeadline, type DeadlineTimer } from "./deadline.ts";

/**
 * The pending waits of one handle: `close()` cancels them all, each with an
 * error of its own; `ref` says whether they keep the process alive.
 */
export class WaitRegistry {
  #ref = true;
  readonly #waits = new Set<Pending>();

  /**
   * Whether this handle's waits keep the process alive (its `unref()` clears
   * it). A change restarts the pending waits: each parks or polls again as
   * its new state allows.
   */
  get ref(): boolean {
    return this.#ref;
  }

  set ref(ref: boolean) {
    if (ref === this.#ref) return;
    this.#ref = ref;
    for (const p of [...this.#waits]) if (!p.keepsAlive) p.restart();
  }

  /** How many waits are pending. */
  get size(): number {
    return this.#waits.size;
  }

  /** Cancels every pending wait, each with the reason `reason(syscall)` makes for it. */
  cancelAll(reason: (syscall: string) => unknown): void {
    for (const p of [...this.#waits]) p.cancel(reason(p.syscall));
  }

  /** @internal */
  add(p: Pending): void {
    this.#waits.add(p);
  }

  /** @internal */
  delete(p: Pending): void {
    this.#waits.delete(p);
  }
}

/** One async wait: what ends it early, and what stops its current park then. */
/** The reason of a wait its deadline cancelled, until {@link Pending.error} makes its error. */
const TIMED_OUT: unique symbol = Symbol("timed out");

export class Pending {
  /** Whether the wait was cancelled; then {@link Pending.error} says why. */
  cancelled = false;
  /** Why it was cancelled: the signal's reason, a BadResource error, or a timeout (see {@link Pending.error}). */
  #reason: unknown = undefined;
  /** The C function the wait is for (`"read"`), for the errors of `close()`. */
  readonly syscall: string;
  readonly registry: WaitRegistry | undefined;
  /** Whether it keeps the process alive whatever its handle's `ref` says (a write). */
  readonly keepsAlive: boolean;
  #stop: (() => void) | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;
  readonly #timer: DeadlineTimer;
  readonly #timedOut: () => unknown;

  constructor(
    syscall: string,
    signal: AbortSignal | undefined,
    deadline: number,
    registry: WaitRegistry | undefined,
    timedOut: () => unknown,
    keepsAlive = false,
  ) {
    this.syscall = syscall;
    this.registry = registry;
    this.keepsAlive = keepsAlive;
    registry?.add(this);
    this.#signal = signal;
    if (signal !== undefined) {
      this.#onAbort = () => this.cancel(signal.reason);
      if (signal.aborted) this.#onAbort();
      else signal.addEventListener("abort", this.#onAbort, { once: true });
    }
    this.#timedOut = timedOut;
    this.#timer = atDeadline(deadline, () => this.cancel(TIMED_OUT));
    if (!this.ref) this.#timer.ref(false);
  }

  /** Whether the handle's waits keep the process alive. */
  get ref(): boolean {
    return this.keepsAlive || (this.registry?.ref ?? true);
  }

  /**
   * Sets what stops the current park when the wait is cancelled (`undefined`
   * when nothing is parked); runs it at once if the wait already is. A stop
   * runs once: a restart (a change of `ref`) after the cancel finds none.
   */
  onCancel(stop: (() => void) | undefined): void {
    if (stop !== undefined && this.cancelled) {
      this.#stop = undefined;
      stop();
    } else {
      this.#stop = stop;
    }
  }

  /**
   * Ends the current park or poll without cancelling the wait: the engine
   * tries again, then parks or polls as the wait's `ref` now allows. A parked
   * call is made to return as on cancel; a result it got is still delivered.
   */
  restart(): void {
    this.#timer.ref(this.ref);
    const stop = this.#stop;
    this.#stop = undefined;
    stop?.();
  }

  /**
   * What the cancelled wait rejects with: its reason, or for a timeout a
   * TimedOut made now, in the wait's own async function, so that its stack
   * reaches the caller's `await` (made in the timer, it ended in Deno's timer code).
   */
  error(): unknown {
    return this.#reason === TIMED_OUT ? this.#timedOut() : this.#reason;
  }

  /** Cancels the wait with `reason` (the first reason wins). */
  cancel(reason: unknown): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.#reason = reason;
    const stop = this.#stop;
    this.#stop = undefined;
    stop?.();
  }

  /** Releases the timer, the signal listener and the registry entry. */
  dispose(): void {
    this.#timer.stop();
    if (this.#onAbort !== undefined) this.#signal!.removeEventListener("abort", this.#onAbort);
    this.registry?.delete(this);
  }
}
