/**
 * What every readiness source gives the engine: a way to park an async wait,
 * and a way to block this thread.
 *
 * @module
 */
import type { AGAIN } from "../_sys.ts";
import type { ErrorSubject } from "../errors.ts";
import type { Pending } from "./pending.ts";

/** Returned by `park` when no pool thread can be had: the engine polls instead. */
export const NO_THREAD: unique symbol = Symbol("NO_THREAD");

/** A readiness source: fds (epoll), futex words, or a blocking call parked on a thread. */
export interface Source<T> {
  /**
   * Parks the async wait `p` until the operation may succeed. Resolves AGAIN
   * (the engine then tries again, unless `p` was cancelled) or, for a source
   * whose parked call does the work, the operation's result, which the engine
   * delivers even when `p` was cancelled meanwhile (nothing taken is lost).
   * Must settle promptly once `p` is cancelled.
   */
  park(p: Pending): Promise<T | typeof AGAIN> | typeof NO_THREAD;
  /**
   * Blocks this thread until the operation may succeed or `deadline` (a
   * `performance.now()` time, or Infinity) passes. Returns AGAIN (try again)
   * or the operation's result.
   */
  block(deadline: number): T | typeof AGAIN;
  /**
   * Whether a wait that keeps nothing alive (an unref'd handle's) parks here
   * too: the fd source's one parked `epoll_wait` lets go while only such
   * waits are left. A parked call of another source would keep the process
   * alive, so such waits poll on a clock that keeps nothing alive instead.
   */
  readonly parksUnref?: boolean;
}

/** A blocking operation as the engine runs it. */
export interface Operation<T> {
  /** The C function it calls, for errors (`"read"`, `"msgrcv"`). */
  readonly syscall: string;
  /** What its errors name: `{ fd }`, `{ id }`, `{ path }`. */
  readonly subject: ErrorSubject;
  /** One try that does not wait: the result, AGAIN when it would block; throws on failure. */
  attempt(): T | typeof AGAIN;
  /**
   * The tries of the spin, where they differ from `attempt`. A stream
   * socket's write retries only once `poll(2)` calls the socket writable,
   * which the kernel says once the peer has taken most of the buffer: a try
   * at any room would send a sliver per turn, and on one CPU the writer and
   * the reader would then hand the CPU over once per chunk.
   */
  retry?(): T | typeof AGAIN;
  /** What to wait on between tries. */
  readonly source: Source<T>;
  /** The errno a try that would block gets (EAGAIN unless said), for the try form's error. */
  readonly again?: number;
  /**
   * The operation done by blocking this thread until it completes or
   * `deadline` passes (a read on a blocking description of the same pipe):
   * the sync form uses it instead of `source.block`, which only waits for
   * readiness, so that one system call does both. AGAIN: try again.
   */
  block?(deadline: number): T | typeof AGAIN;
  /**
   * Whether the sync form goes straight to `block` when it has no deadline:
   * a call that costs no more than the try when it need not wait (a send on
   * a blocking stream socket), so that one call does what C's does.
   */
  readonly blocksAtOnce?: boolean;
  /**
   * For waits that poll: false when no try can succeed at the poll clock's
   * tick `now` (a System V queue holds no message, no semaphore value lets the
   * operations through), from one check that every wait on the same object
   * shares within that tick, so that a hundred polling waits on one queue cost
   * one system call per tick instead of a hundred. True when unsure.
   */
  mayBeReady?(now: number): boolean;
  /**
   * Its try itself blocks for a while (a FIFO's read side: up to 0.2 ms in
   * `open(2)`): a wait that polls retries on the poll clock alone, whose ticks
   * bound the time tries take, never on every event-loop turn.
   */
  readonly slowTry?: boolean;
  /**
   * The operation an async wait goes on with once the first try found
   * nothing, where this one is shared by the calls of a handle (its buffers
   * and selection belong to the next call): built only then, so that a call
   * its first try completes allocates none of it.
   */
  forWait?(): Operation<T>;
}

/**
 * A source built only when a wait parks or blocks: a try that succeeds at
 * once (the common case) then allocates none of it.
 */
export function lazySource<T>(make: () => Source<T>): Source<T> {
  let made: Source<T> | undefined;
  return {
    park: (p) => (made ??= make()).park(p),
    block: (deadline) => (made ??= make()).block(deadline),
  };
}
