/**
 * Polling without a thread, for waits that no source can park (the budget of
 * parked calls is spent, or nudges are unavailable). A wait first retries on
 * every event-loop turn for {@link POLL_TURNS_MS} (`setImmediate` costs µs
 * where a timer costs ms here), then joins the **one** poll clock of the
 * isolate: a single timer runs every due wait's non-waiting try in one go, at
 * intervals that double per wait from {@link POLL_FIRST_MS} to
 * {@link POLL_MAX_MS}, and to {@link POLL_IDLE_MS} once a wait has polled for
 * {@link POLL_IDLE_AFTER_MS}. A wait leaves the clock as soon as a thread
 * frees (it then parks) or it is cancelled. The clock keeps the process alive
 * only while some wait on it does: an unref'd handle's waits poll here
 * instead of parking.
 *
 * @module
 */
import { AGAIN } from "../_sys.ts";
import { whenThreadFree } from "./budget.ts";
import type { Pending } from "./pending.ts";
import type { Operation } from "./source.ts";

/** How long a wait retries on every event-loop turn before it joins the clock. */
export const POLL_TURNS_MS = 2;
/** First interval of the clock for a wait; it doubles up to {@link POLL_MAX_MS}. */
export const POLL_FIRST_MS = 1;
/** Longest interval of a wait that started polling recently. */
export const POLL_MAX_MS = 10;
/** Polling for longer than this, a wait is tried every {@link POLL_IDLE_MS}. */
export const POLL_IDLE_AFTER_MS = 250;
/** The interval of a wait that has polled for long: the most such a wait lags. */
export const POLL_IDLE_MS = 50;

const napWord = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread for `ms` without a timer (for sync forms that poll). */
export function napSync(ms: number): void {
  if (ms > 0) Atomics.wait(napWord, 0, 0, ms);
}

let immediate: ((fn: () => void) => unknown) | undefined;

/**
 * Runs `fn` on the next event-loop turn (`setImmediate`). Deno defines that
 * global on first use, by loading its Node timers (10-15 ms here): read at
 * the first turn a wait takes, not at import, as `import "node:timers"` did.
 */
export function nextTurn(fn: () => void): void {
  (immediate ??= globalThis.setImmediate)(fn);
}

/** Resolves on the next event-loop turn, or at once when `p` is cancelled. */
export function pollTurn(p: Pending): Promise<typeof AGAIN> {
  return new Promise((resolve) => {
    const done = () => resolve(AGAIN);
    p.onCancel(done);
    if (!p.cancelled) nextTurn(done);
  });
}

interface Poller {
  readonly op: Pick<Operation<unknown>, "attempt" | "mayBeReady">;
  /** Whether it keeps the process alive (a change of its handle's restarts it). */
  readonly ref: boolean;
  readonly since: number;
  interval: number;
  due: number;
  finish(r: unknown, failed?: boolean): void;
}

const pollers = new Set<Poller>();

/** How many waits poll on the clock now, and whether its timer is set (for tests). */
export function polling(): { waits: number; timer: boolean } {
  return { waits: pollers.size, timer: timer !== undefined };
}
let timer: ReturnType<typeof setTimeout> | undefined;
let timerDue = Infinity;
/** How many pollers keep the process alive: the clock's timer does while any does. */
let refs = 0;

/**
 * Tries `op` on the poll clock until it gives a result (resolved), fails
 * (rejected), a thread frees or `p` is cancelled (both AGAIN). A tick skips the
 * try when `op.mayBeReady` says it cannot succeed. `since` is when the wait
 * started polling, for its interval.
 */
export function pollClock<T>(
  op: Pick<Operation<T>, "attempt" | "mayBeReady">,
  p: Pending,
  since: number,
): Promise<T | typeof AGAIN> {
  return new Promise((resolve, reject) => {
    const elapsed = performance.now() - since;
    const interval = elapsed >= POLL_IDLE_AFTER_MS
      ? POLL_IDLE_MS
      : Math.min(POLL_MAX_MS, Math.max(POLL_FIRST_MS, elapsed / 2));
    const poller: Poller = {
      op,
      ref: p.ref,
      since,
      interval,
      due: dueAfter(performance.now(), interval),
      finish(r, failed) {
        if (!pollers.delete(poller)) return;
        if (pollers.size === 0) stopClock(); // no timer left behind: `deno test` counts it
        else if (poller.ref && --refs === 0) refTimer();
        forget();
        if (failed) reject(r);
        else resolve(r as T | typeof AGAIN);
      },
    };
    // An unref'd wait polls whether or not a thread is free.
    const forget = poller.ref ? whenThreadFree(() => poller.finish(AGAIN)) : () => {};
    pollers.add(poller);
    if (poller.ref && ++refs === 1) refTimer();
    p.onCancel(() => poller.finish(AGAIN));
    if (pollers.has(poller)) schedule(poller.due);
  });
}

/**
 * The first tick after `now` on a grid of `interval` (at most `interval`
 * later, so a wait lags at most its interval): waits with the same interval
 * share their ticks, so the clock's timer fires once for all of them.
 */
export function dueAfter(now: number, interval: number): number {
  return (Math.floor(now / interval) + 1) * interval;
}

/** Stops the clock's timer: nothing polls. */
function stopClock(): void {
  clearTimeout(timer);
  timer = undefined;
  timerDue = Infinity;
  refs = 0;
}

function schedule(due: number): void {
  if (due >= timerDue) return;
  clearTimeout(timer);
  timerDue = due;
  timer = setTimeout(tick, Math.max(0, due - performance.now()));
  refTimer();
}

/** Lets the clock's timer keep the process alive while, and only while, some poller does. */
function refTimer(): void {
  if (timer === undefined) return;
  if (refs > 0) Deno.refTimer(timer);
  else Deno.unrefTimer(timer);
}

/**
 * How long the clock runs tries in one go before the event loop takes a turn:
 * some tries block briefly (a FIFO's read side, 0.2 ms), and 64 of those in
 * one go held timers up by 17 ms.
 */
const TICK_MS = 1;

function tick(): void {
  timerDue = Infinity;
  const now = performance.now();
  let next = Infinity;
  let busy = false;
  for (const poller of [...pollers]) {
    if (poller.due <= now && !busy && pollers.has(poller)) {
      // Tried last from now on: when the due waits outlast a tick, the next tick goes on
      // with those not tried, instead of the first ones again (which starved the rest).
      pollers.delete(poller);
      pollers.add(poller);
      let r: unknown;
      try {
        r = poller.op.mayBeReady?.(now) === false ? AGAIN : poller.op.attempt();
      } catch (e) {
        poller.finish(e, true);
        continue;
      }
      if (r !== AGAIN) {
        poller.finish(r);
        continue;
      }
      poller.interval = now - poller.since >= POLL_IDLE_AFTER_MS
        ? POLL_IDLE_MS
        : Math.min(POLL_MAX_MS, poller.interval * 2);
      poller.due = dueAfter(now, poller.interval);
      busy = performance.now() - now >= TICK_MS;
    }
    if (pollers.has(poller)) next = Math.min(next, poller.due);
  }
  // More were due: the rest run after the event loop's next turn, so that
  // hundreds of polling waits never hold up other work for a whole tick.
  if (next <= now) nextTurn(tick);
  else if (next !== Infinity) schedule(next);
}
