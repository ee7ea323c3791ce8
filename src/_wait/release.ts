/**
 * What an isolate holds for its waits, given back once no handle of it owns
 * a descriptor and nothing waits: the fd engine's epoll and eventfd, and the
 * descriptor parked calls keep in reserve. Nothing tells an isolate that it
 * ends, so a Worker's stayed open for good. Handles ask as they close; the
 * reserve goes once the last parked call has returned. The next wait takes
 * them again.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { disown, ownedCount } from "../_owned_fds.ts";
import { releaseReserve, reserved } from "../_proc.ts";
import { threadsHeld } from "./budget.ts";
import { fdEngine } from "./fd.ts";
import { futexBusy } from "./futex.ts";

let asked = false;

/** As a handle closes: gives back what nothing needs any more. */
export function releaseIdle(): void {
  fdEngine.releaseIfIdle();
  if (ownedCount() > 0) return;
  asked = true;
  afterParkedCall();
}

/** After a parked call returned: the reserve goes, if a close asked and nothing needs it. */
export function afterParkedCall(): void {
  if (!asked || threadsHeld() > 0 || ownedCount() > 0) return settleReleased();
  asked = false;
  releaseReserve();
  settleReleased();
}

/** Whether this isolate holds nothing for waits: no handle's descriptor, parked call, epoll or reserve. */
function holdsNothing(): boolean {
  return ownedCount() === 0 && threadsHeld() === 0 && !futexBusy() &&
    fdEngine.descriptors.length === 0 && reserved() < 0;
}

let whenReleased: Array<() => void> = [];

/**
 * Resolves the `released()` promises if nothing is held now: called as what
 * is held is given back (the fd engine's close, the shared futex call's
 * return, a parked call's return, a handle's close).
 */
export function settleReleased(): void {
  if (whenReleased.length === 0 || !holdsNothing()) return;
  const now = whenReleased;
  whenReleased = [];
  for (const resolve of now) resolve();
}

/**
 * Resolves once this isolate holds nothing for the library: every handle
 * that owns a descriptor is closed, no call is parked on a pool thread (a
 * futex `wait` pending holds one, on shared memory that owns no descriptor), and
 * the fd engine's epoll and eventfd and the descriptor kept in reserve are
 * given back. What a cancelled wait held is given back only once its call has
 * returned on its pool thread, a moment after the abort or close: a Worker
 * that awaits this before it answers "done" can be terminated without leaving
 * descriptors behind. It waits for handles still open to close.
 *
 * @returns a promise that resolves when nothing is held (at once if nothing is)
 *
 * @example A Worker's cleanup before it says it is done
 * ```ts
 * import { MessageQueue, released } from "@libc/ipc";
 * const q = MessageQueue.open("private");
 * const stop = new AbortController();
 * const pending = q.receive({ signal: stop.signal }).catch(() => "cancelled");
 * stop.abort();
 * q.remove();
 * await pending;
 * await released(); // the parked receive has returned, and the reserve is closed
 * ```
 */
export function released(): Promise<void> {
  if (holdsNothing()) return Promise.resolve();
  return new Promise((resolve) => whenReleased.push(resolve));
}

/**
 * Closes a descriptor a handle owns, the one way every owner does: the fd
 * engine forgets it, it is no longer owned, `close(2)` releases it (whatever
 * it reports: nothing to retry), then what nothing needs any more goes.
 */
export function closeOwnedFd(fd: number): void {
  fdEngine.forget(fd);
  disown(fd);
  libc.close(fd);
  releaseIdle();
}
