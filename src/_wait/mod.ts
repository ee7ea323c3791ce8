/**
 * The waiting engine: the one way every blocking operation waits.
 *
 * An operation gives its non-waiting attempt and its readiness source
 * (`source.ts`); the engine owns the rest:
 *
 * - {@link wait} (the `x()` forms): a try on the main thread, where errno is
 *   readable; a short adaptive spin of tries; then a park through the source
 *   (fds: one `epoll_wait` for all; futex words: one `futex_waitv` for all;
 *   calls without an fd: parked on a pool thread within a budget), and a try
 *   after each wake-up. The deadline is absolute, so a retry never restarts a
 *   timeout. The AbortSignal, the deadline and the handle's `close()` (through
 *   its {@link WaitRegistry}) cancel a wait, each with its own error. When a
 *   source has no thread to give, the wait polls without one (`poll.ts`) and
 *   parks as soon as one frees.
 * - {@link waitSync} (the `xSync()` forms): a try, a spin, then the source
 *   blocks the thread (`poll(2)`, `FUTEX_WAIT`, or the call itself with an
 *   alarm at the deadline).
 * - {@link tryNow} (the `tryX()` forms): one try; `Deno.errors.WouldBlock`.
 *
 * @module
 */
import { rejectedNow, resolvedNow, turnSeen } from "./turns.ts";
import { AGAIN } from "../_sys.ts";
import { timedOutError, wouldBlockError } from "../errors.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import { checkSyncWaitOptions, checkWaitOptions, deadlineOf } from "./deadline.ts";
import { Pending, type WaitRegistry } from "./pending.ts";
import type { Spinner } from "./spinner.ts";
import { NO_THREAD, type Operation } from "./source.ts";
import { POLL_TURNS_MS, pollClock, pollTurn } from "./poll.ts";

export { AGAIN } from "../_sys.ts";
export {
  checkSyncWaitOptions,
  checkTimeout,
  checkWaitOptions,
  deadlineOf,
  setTimeLeft,
  sliceLeft,
} from "./deadline.ts";
export { Pending, WaitRegistry } from "./pending.ts";
export { Spinner } from "./spinner.ts";
export { lazySource, NO_THREAD, type Operation, type Source } from "./source.ts";
export {
  eventsNow,
  fdEngine,
  fdSource,
  hasBytesNow,
  pollNow,
  pollSync,
  READABLE,
  WRITABLE,
} from "./fd.ts";
export { type BlockingCall, callSource } from "./call.ts";
export { napSync, POLL_IDLE_MS, POLL_MAX_MS } from "./poll.ts";
export { blockingCall, callUntil, interruptible } from "./nudge.ts";
export { untilClosed } from "./until_closed.ts";
export { closeOwnedFd, releaseIdle } from "./release.ts";
export { rejectedNow, resolvedNow } from "./turns.ts";

/** What an operation waits with, besides its options: the handle's spinner and registry. */
export interface WaitContext {
  /** Learns the peer's pace; one per direction of a handle. */
  readonly spinner?: Spinner;
  /** The handle's pending waits: `close()` cancels them. */
  readonly registry?: WaitRegistry;
  /**
   * Whether the waits keep the process alive even while the handle is
   * unref'd: writes and sends, so that nothing written is lost at exit.
   */
  readonly keepsAlive?: boolean;
}

/**
 * The async form: one try now, then the wait. Never throws: bad arguments and
 * failures reject the promise, or become what `recover(e)` returns (it throws
 * to reject: a write adds its progress to the error; a receive may try again).
 * An operation done by its first try costs no async function, no await and no
 * `.catch`: `write()` that wrapped this in one took 0.5 µs more per pipe round
 * trip on one CPU, and a `.catch` on System V's `receive()` 0.4-0.8 µs more.
 */
export function wait<T>(
  op: Operation<T>,
  options: WaitOptions | undefined,
  context: WaitContext = {},
  recover?: (e: unknown) => T | Promise<T>,
): Promise<T> {
  try {
    checkWaitOptions(options);
    const signal = options?.signal;
    if (signal?.aborted) throw signal.reason;
    const { spinner } = context;
    const r = spinner === undefined ? op.attempt() : spinner.first(op.attempt);
    if (r !== AGAIN) return resolvedNow(r);
    const forWait = op.forWait?.() ?? op;
    const start = performance.now();
    const deadline = deadlineOf(options);
    // The spin here, not in the async loop: a result it gets settles in call order with the
    // results of calls made after this one (through the loop, it settled ticks later).
    if (spinner !== undefined) {
      const spun = spinner.spin(forWait.retry ?? forWait.attempt);
      if (spun !== AGAIN) return resolvedNow(spun);
    }
    const waiting = waitLoop(forWait, options, context, start, deadline);
    return recover === undefined ? waiting : waiting.catch(recover);
  } catch (e) {
    if (recover === undefined) return rejectedNow(e);
    try {
      return resolvedNow(recover(e));
    } catch (mapped) {
      return rejectedNow(mapped);
    }
  }
}

async function waitLoop<T>(
  op: Operation<T>,
  options: WaitOptions | undefined,
  { spinner, registry, keepsAlive }: WaitContext,
  start: number,
  deadline: number,
): Promise<T> {
  const p = new Pending(
    op.syscall,
    options?.signal,
    deadline,
    registry,
    () => timedOutError(op.syscall, op.subject, options!.timeout!),
    keepsAlive,
  );
  let pollingSince: number | undefined;
  try {
    for (;;) {
      if (p.cancelled) throw p.error();
      const parked = p.ref || op.source.parksUnref === true ? op.source.park(p) : NO_THREAD;
      let got: T | typeof AGAIN;
      let clock = false;
      if (parked !== NO_THREAD) {
        got = await parked;
      } else if (op.slowTry !== true && performance.now() - start < POLL_TURNS_MS) {
        got = await pollTurn(p);
      } else {
        got = await pollClock(op, p, pollingSince ??= performance.now());
        clock = true;
      }
      p.onCancel(undefined);
      turnSeen();
      // A result the parked call got is delivered even if the wait was cancelled meanwhile.
      if (got === AGAIN) {
        if (p.cancelled) throw p.error();
        // The clock let it go because a thread freed: every polling wait hears it, and
        // one parks; a try of each first would be hundreds of calls in one go.
        if (clock) continue;
        const r = op.attempt();
        if (r === AGAIN) continue;
        spinner?.learn(performance.now() - start);
        return r;
      }
      spinner?.learn(performance.now() - start);
      return got;
    }
  } finally {
    p.dispose();
  }
}

/** The sync form: one try, a spin, then blocking until the result or the deadline. */
export function waitSync<T>(
  op: Operation<T>,
  options: SyncWaitOptions | undefined,
  { spinner }: WaitContext = {},
): T {
  checkSyncWaitOptions(options);
  const deadline = deadlineOf(options);
  if (
    op.block !== undefined &&
    ((op.blocksAtOnce === true && deadline === Infinity) || spinner?.blocksFirst())
  ) {
    // A call that costs no more than its try blocks at once when it has no deadline (the
    // alarm of a deadline would cost two calls more). Otherwise, the peer shares this
    // CPU: blocking in the operation itself switches to it, as a yield would, in one
    // call. An operation that can only wait for readiness (poll, then the call) does
    // better with the yields of the spin: on one CPU each hands the CPU to the peer at
    // once (measured on sockets and signalfds: 25 → 14 µs per round trip).
    const r = blockOn(op, deadline);
    if (r !== AGAIN) return r;
  }
  let r = spinner === undefined ? op.attempt() : spinner.first(op.attempt);
  if (r !== AGAIN) return r;
  const start = performance.now();
  if (spinner !== undefined) r = spinner.spin(op.retry ?? op.attempt);
  while (r === AGAIN) {
    if (performance.now() >= deadline) {
      throw timedOutError(op.syscall, op.subject, options!.timeout!);
    }
    r = blockOn(op, deadline);
    if (r === AGAIN) r = op.attempt();
  }
  spinner?.learn(performance.now() - start);
  return r;
}

/** Blocks this thread in the operation itself where it can, else until its source is ready. */
function blockOn<T>(op: Operation<T>, deadline: number): T | typeof AGAIN {
  return op.block !== undefined ? op.block(deadline) : op.source.block(deadline);
}

/** The try form: one try; `Deno.errors.WouldBlock` (with the call's errno) when it would have to wait. */
export function tryNow<T>(
  op: Pick<Operation<T>, "syscall" | "subject" | "attempt" | "again">,
  detail?: string,
): T {
  const r = op.attempt();
  if (r === AGAIN) throw wouldBlockError(op.syscall, op.subject, op.again, detail);
  return r;
}
