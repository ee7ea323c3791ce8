/**
 * The source for blocking calls that have no fd to wait on (`msgrcv`,
 * `msgsnd`, a FIFO's `open`, next `semop`): the call itself is parked on a
 * pool thread, within the budget of `budget.ts`, and cancelled by a nudge to
 * that thread (`nudge.ts`) or a way of its own. The sync form runs the call
 * on this thread, interrupted at its deadline by the alarm.
 *
 * @module
 */
import { type About, AGAIN } from "../_sys.ts";
import { giveThread, takeThread } from "./budget.ts";
import {
  type BlockedCall,
  blockingCall,
  canNudge,
  canNudgeRestartable,
  findThread,
  nudgeAll,
  nudgeThread,
  threadsLost,
} from "./nudge.ts";
import type { Pending } from "./pending.ts";
import { NO_THREAD, type Source } from "./source.ts";
import { nextTurn } from "./poll.ts";
import { afterParkedCall } from "./release.ts";

/** A blocking call, in the forms the engine runs it in. */
export interface BlockingCall<T> {
  /** The C function, for errors. */
  readonly syscall: string;
  /** What its errors name, or how they are built. */
  readonly about: About;
  /** Starts the call on a pool thread (its `nonblocking` symbol). */
  start(): Promise<number>;
  /** Runs the call on this thread (the sync form). */
  run(): number;
  /** The operation's result from a call that returned `r >= 0`. */
  done(r: number): T;
  /** How to find the thread the parked call blocks, to nudge it (asked once parked); or `interrupt`. */
  thread?(): BlockedCall;
  /** The call restarts after a handler with `SA_RESTART` (a FIFO's open): see `nudge.ts`. */
  readonly restartable?: boolean;
  /**
   * Makes the parked call fail when the kernel starts it again, for a call
   * that `SA_RESTART` restarts and whose arguments the kernel reads anew each
   * time (a lock wait's `struct flock`, spoiled): once cancelled, the nudge
   * then ends it, with no handler that could fail another call.
   */
  defuse?(): void;
  /**
   * Makes a parked call return without a signal, where no nudge can (a FIFO's
   * open: open the other side). Returns what undoes it once the call has
   * returned, when the call cannot miss it; else undefined, and it is done
   * again until the call returns.
   */
  interrupt?(): (() => void) | undefined;
  /**
   * Undoes a result that came after the wait was cancelled or restarted
   * (closes an fd the call opened; drops a futex wake the interrupt made),
   * or returns false to have it delivered after all (a FIFO's read side that
   * a writer opened and wrote to: closing it would lose the bytes). Without
   * it, such a result is delivered: a message taken after an abort is not lost.
   */
  release?(r: number): boolean;
  /**
   * After a parked call failed (its errno is lost): throws the cause, or
   * returns AGAIN to try again. Default: AGAIN, and the engine's next attempt
   * (on this thread, errno readable) meets the error itself.
   */
  recover?(): typeof AGAIN;
  /**
   * Calls with the same key are interchangeable (receives of one queue with
   * one selection): only one of them parks; the others hold no thread and
   * wait for it to return, then try again.
   */
  readonly key?: string;
}

/** How soon a cancelled call is nudged again: event-loop turns first, then a timer. */
const RENUDGE_TURNS_MS = 1;
const RENUDGE_MS = 2;

/** The readiness source of a blocking call. */
export function callSource<T>(call: BlockingCall<T>): Source<T> {
  return {
    park: (p) => {
      const key = call.key;
      if (key !== undefined && lines.has(key)) return follow(key, p);
      if (!nudges(call) && call.interrupt === undefined) return NO_THREAD;
      if (!takeThread()) return NO_THREAD;
      if (key !== undefined) lines.set(key, NO_FOLLOWERS);
      return parked(call, p);
    },
    block: (deadline) => {
      const r = blockingCall(deadline, call.run, call.syscall, call.about);
      return r === AGAIN ? AGAIN : call.done(r);
    },
  };
}

/**
 * The waits that follow a parked call, by its key: they try again when it
 * returns. A parked call that none follows (the common case) allocates no set.
 */
const lines = new Map<string, Set<() => void>>();
const NO_FOLLOWERS: Set<() => void> = new Set();

function follow(key: string, p: Pending): Promise<typeof AGAIN> {
  let followers = lines.get(key)!;
  if (followers === NO_FOLLOWERS) lines.set(key, followers = new Set());
  return new Promise((resolve) => {
    const wake = () => {
      followers.delete(wake);
      resolve(AGAIN);
    };
    followers.add(wake);
    p.onCancel(wake);
  });
}

/** The parked call of `key` has returned: its followers try again. */
function endLine(key: string): void {
  const followers = lines.get(key)!;
  lines.delete(key);
  for (const wake of followers) wake();
}

async function parked<T>(call: BlockingCall<T>, p: Pending): Promise<T | typeof AGAIN> {
  let stop = (): void => {};
  // Made to return: the wait was cancelled, or restarted (its handle's `ref` changed).
  let interrupted = false;
  try {
    const result = call.start();
    p.onCancel(() => {
      interrupted = true;
      call.defuse?.();
      stop = repeat(interrupter(call));
    });
    const r = await result;
    if (r < 0) return p.cancelled ? AGAIN : (call.recover?.() ?? AGAIN);
    if (interrupted && call.release?.(r) === true) return AGAIN;
    return call.done(r);
  } finally {
    stop();
    p.onCancel(undefined);
    giveThread();
    afterParkedCall();
    if (call.key !== undefined) endLine(call.key);
  }
}

/**
 * What makes the call return: its own way, or a nudge to the thread it blocks.
 * `again` does it and says whether that is done for sure (a nudge to a thread
 * seen blocked in the call: the signal cannot land before the call enters the
 * kernel); `undo` undoes it once the call has returned.
 */
function interrupter(call: BlockingCall<unknown>): Interrupter {
  const interrupt = call.interrupt;
  let undo: (() => void) | undefined;
  const byInterrupt = () => (undo ??= interrupt!()) !== undefined;
  if (!nudges(call) && interrupt !== undefined) return { again: byInterrupt, undo: () => undo?.() };
  let lost = false;
  return {
    again: () => {
      if (!lost) {
        const tid = findThread(call.thread!());
        if (tid > 0) {
          nudgeThread(tid, call.restartable);
          return true;
        }
        // Not found: the call has not entered the kernel yet (or has just returned), and the
        // next try finds it; unless the process can no longer read where it would be found.
        lost = threadsLost();
        if (!lost) return false;
      }
      if (interrupt !== undefined) return byInterrupt();
      nudgeAll();
      return false;
    },
    undo: () => undo?.(),
  };
}

/** Whether a parked `call` is cancelled by a nudge to its thread here. */
function nudges(call: BlockingCall<unknown>): boolean {
  if (call.thread === undefined) return false;
  return call.restartable === true ? canNudgeRestartable() : canNudge();
}

interface Interrupter {
  again(): boolean;
  undo(): void;
}

/**
 * Interrupts the call now and again until stopped: the signal can land before
 * the call enters the kernel, and the other side of a FIFO can come and go
 * before the open sees it. Event-loop turns first, then a timer; once the
 * interrupt is sure, only the timer, as a safety net: turns in a row would keep
 * this thread busy while the pool thread needs a CPU to return. Returns the
 * stop function.
 */
function repeat({ again: interrupt, undo }: Interrupter): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const start = performance.now();
  const again = () => {
    if (stopped) return;
    const sure = interrupt();
    if (!sure && performance.now() - start < RENUDGE_TURNS_MS) nextTurn(again);
    else timer = setTimeout(again, RENUDGE_MS);
  };
  again();
  return () => {
    stopped = true;
    clearTimeout(timer);
    undo();
  };
}
