/**
 * {@link WriteTurns}: the async writes of one stream handle, one at a time in
 * call order.
 *
 * @module
 */
import { timedOutError } from "../errors.ts";
import type { ErrorSubject } from "../errors.ts";
import type { WaitOptions } from "../options.ts";
import { checkWaitOptions, deadlineOf, Pending, type WaitRegistry } from "../_wait/mod.ts";
import { msLeft } from "../_wait/deadline.ts";
import { withProgress } from "./_progress.ts";

/**
 * A write that waits for room goes out in several parts; a later write must
 * not put its bytes between them. So each async write starts once every
 * earlier one of its handle has settled. A write done by its first try
 * leaves nothing behind: the fast path costs no promise more.
 */
export class WriteTurns {
  /** Settles when the last pending write has; `undefined` when none is pending. */
  #tail: Promise<void> | undefined;
  readonly #registry: WaitRegistry | undefined;
  readonly #subject: () => ErrorSubject;

  /**
   * @param registry the handle's waits, which its `close()` cancels
   * @param subject what the errors name (asked when an error is made)
   */
  constructor(registry: WaitRegistry | undefined, subject: () => ErrorSubject) {
    this.#registry = registry;
    this.#subject = subject;
  }

  /** Settles once every write pending now has settled (a stream's close waits for them). */
  idle(): Promise<void> {
    return this.#tail ?? Promise.resolve();
  }

  /**
   * Starts `write` now, or once the pending writes have settled. A queued
   * write rejects while it waits when its signal aborts, its timeout passes
   * (the timeout counts from the call) or its handle closes, and then has
   * written nothing.
   *
   * @param syscall the call, for the errors
   * @param write starts the write with the options left for it
   * @param options the caller's options
   * @param done whether the write just started already ended (all written)
   * @returns the write's promise
   */
  run<T>(
    syscall: string,
    write: (options: WaitOptions | undefined) => Promise<T>,
    options: WaitOptions | undefined,
    done: () => boolean,
  ): Promise<T> {
    const before = this.#tail;
    const p = before === undefined ? write(options) : this.#after(before, syscall, write, options);
    if (before === undefined && done()) return p;
    // Cleared in a reaction of `p` itself, registered before the caller's: a
    // caller that awaits each write then finds no turn pending and writes at
    // once. Cleared one reaction later, every write after one that waited
    // queued behind the last (measured: 8 675 of 8 704 writes of a one-CPU
    // transfer took the queued path).
    const settled = () => {
      if (this.#tail === tail) this.#tail = undefined;
    };
    // A queued write that failed may have been cancelled before its turn came: the
    // writes before it may still be going out, and the next must wait for them too.
    const tail: Promise<void> = p.then(
      settled,
      before === undefined ? settled : () => before.then(settled),
    );
    this.#tail = tail;
    return p;
  }

  async #after<T>(
    before: Promise<void>,
    syscall: string,
    write: (options: WaitOptions | undefined) => Promise<T>,
    options: WaitOptions | undefined,
  ): Promise<T> {
    checkWaitOptions(options);
    const signal = options?.signal;
    const deadline = deadlineOf(options);
    const turn = new Pending(
      syscall,
      signal,
      deadline,
      this.#registry,
      () => timedOutError(syscall, this.#subject(), options!.timeout!),
      true,
    );
    try {
      await new Promise<void>((resolve) => {
        before.then(resolve);
        turn.onCancel(resolve);
      });
      if (turn.cancelled) {
        const e = turn.error();
        throw e === signal?.reason ? e : withProgress(e, 0);
      }
    } finally {
      turn.dispose();
    }
    if (deadline === Infinity) return write(options);
    // The write gets what is left of the timeout; its TimedOut names the caller's.
    return write({ signal, timeout: msLeft(deadline) }).catch((e) => {
      if (!(e instanceof Deno.errors.TimedOut) || (e as { code?: string }).code !== "ETIMEDOUT") {
        throw e;
      }
      const progress = (e as { bytesWritten?: number }).bytesWritten ?? 0;
      throw withProgress(timedOutError(syscall, this.#subject(), options!.timeout!), progress);
    });
  }
}
