/**
 * {@link BlockingCalls}: how the sync forms of a socket wait. The library's
 * sockets that move data keep a blocking open file description, and every
 * call that must not wait passes `MSG_DONTWAIT`; a sync form then waits
 * inside the receive or send itself, which waits and moves the data in one
 * system call as C's blocking calls do (a `poll(2)` and then the call take
 * two, and on one CPU every hand-over pays for both).
 *
 * @module
 */
import { AGAIN, E, lastErrno } from "../_sys.ts";
import { callUntil, interruptible, type Source } from "../_wait/mod.ts";

/** One per socket handle: whether its description blocks, and the wait that follows from it. */
export class BlockingCalls {
  #blocks: boolean;

  /** @param blocks whether the socket's open file description is blocking (no `O_NONBLOCK`) */
  constructor(blocks: boolean) {
    this.#blocks = blocks;
  }

  /**
   * Runs `call` (the operation's attempt without `MSG_DONTWAIT`: AGAIN when
   * interrupted) until `deadline`. Where the description does not block, or
   * no alarm can end the call at the deadline, waits through `source`
   * instead (AGAIN: the caller tries again).
   */
  wait<T>(
    deadline: number,
    call: () => T | typeof AGAIN,
    source: Source<never>,
  ): T | typeof AGAIN {
    if (!this.#blocks || !interruptible(deadline)) return source.block(deadline);
    const r = callUntil(deadline, call);
    // EAGAIN from a call that may wait: a process sharing the description made it
    // non-blocking (O_NONBLOCK is the description's, so theirs too). Wait through the source from now on.
    if (r === AGAIN && lastErrno() === E.EAGAIN) this.#blocks = false;
    return r;
  }
}
