/**
 * Deadlines: absolute `performance.now()` times, so a wait made of several
 * parks never restarts its timeout; `Infinity` when there is none. Timers
 * longer than `setTimeout` takes (2^31-1 ms) run in slices.
 *
 * @module
 */
import { LAYOUTS } from "../../ffi/platform.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import { checkOptions, shown } from "../_check.ts";

/** The longest delay `setTimeout` honours; a longer one fires at once with a warning. */
export const MAX_TIMER_MS = 0x7fffffff;

/** Checks the wait options before any system call. */
export function checkWaitOptions(options: WaitOptions | SyncWaitOptions | undefined): void {
  if (options === undefined) return;
  const { signal } = checkOptions(options as WaitOptions);
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${shown(signal)}`);
  }
  if (options.timeout !== undefined) checkTimeout(options.timeout, "timeout");
}

/**
 * Checks the options of a sync form: those of {@link checkWaitOptions}, and no
 * `signal`, which nothing could act on while the call blocks the thread (a
 * TypeError, not an abort silently ignored).
 */
export function checkSyncWaitOptions(options: SyncWaitOptions | undefined): void {
  checkWaitOptions(options);
  if ((options as WaitOptions | undefined)?.signal !== undefined) {
    throw new TypeError(
      "a sync form takes no signal: it blocks the thread, so nothing can abort it " +
        "(use the async form, or a timeout)",
    );
  }
}

/** A timeout in milliseconds: a number >= 0 or Infinity (TypeError for a non-number). */
export function checkTimeout(timeout: unknown, what: string): number {
  if (typeof timeout !== "number" || !(timeout >= 0)) {
    const message = `${what} must be a number of milliseconds >= 0 (or Infinity), got ${
      shown(timeout)
    }`;
    throw typeof timeout === "number" ? new RangeError(message) : new TypeError(message);
  }
  return timeout;
}

/** The deadline of a wait that starts now: `Infinity` without a timeout. */
export function deadlineOf(options: SyncWaitOptions | undefined): number {
  const t = options?.timeout;
  return t === undefined || t === Infinity ? Infinity : performance.now() + t;
}

/**
 * Milliseconds left until `deadline`, at most {@link MAX_TIMER_MS}: what one
 * timed call may wait. A huge timeout (1e300 ms) as one timespec would wrap
 * its seconds (EINVAL, or a call that times out at once, again and again);
 * in slices the call returns at the end of each, and the engine calls it
 * again until the deadline.
 */
export function sliceLeft(deadline: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, deadline - performance.now()));
}

/** Milliseconds left until `deadline` (0 once passed; Infinity for none). */
export function msLeft(deadline: number): number {
  return Math.max(0, deadline - performance.now());
}

/**
 * Calls `fn` once `deadline` has passed, in timer slices of at most
 * {@link MAX_TIMER_MS}. Returns its timer, to stop it or to say whether it
 * keeps the process alive.
 */
export function atDeadline(deadline: number, fn: () => void): DeadlineTimer {
  if (deadline === Infinity) return NO_TIMER;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let keepsAlive = true;
  const arm = () => {
    const left = deadline - performance.now();
    if (left <= 0) return fn();
    timer = setTimeout(arm, Math.min(Math.ceil(left), MAX_TIMER_MS));
    if (!keepsAlive) Deno.unrefTimer(timer);
  };
  arm();
  return {
    stop: () => clearTimeout(timer),
    ref: (keep) => {
      keepsAlive = keep;
      if (timer === undefined) return; // it fired at once
      if (keep) Deno.refTimer(timer);
      else Deno.unrefTimer(timer);
    },
  };
}

/** The timer of {@link atDeadline}. */
export interface DeadlineTimer {
  /** Clears it. */
  stop(): void;
  /** Whether it keeps the process alive (as its wait does: an unref'd handle's does not). */
  ref(keep: boolean): void;
}

const NO_TIMER: DeadlineTimer = { stop: () => {}, ref: () => {} };

const TIMESPEC = LAYOUTS.timespec;

/**
 * Writes the time left until `deadline` (a `performance.now()` time; none
 * left when it has passed) into the `struct timespec` that `timespec` views:
 * the relative timeout of `semtimedop(2)`, `sigtimedwait(2)`, `FUTEX_WAIT`.
 */
export function setTimeLeft(timespec: DataView, deadline: number): void {
  const ms = sliceLeft(deadline);
  const sec = Math.floor(ms / 1000);
  const nsec = Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6));
  timespec.setBigInt64(TIMESPEC.offsets.tv_sec, BigInt(sec), true);
  timespec.setBigInt64(TIMESPEC.offsets.tv_nsec, BigInt(nsec), true);
}
