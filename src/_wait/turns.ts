/**
 * Turns of the event loop for operations done at once. A result the first
 * try (or the spin) got resolves its promise as a microtask: a loop of such
 * operations, against a peer that always has data or room, would never give
 * the event loop a turn, and timers, signal listeners and Deno's own I/O
 * would wait for as long as it runs (seconds, measured). Deno's own
 * operations each take a turn. So every {@link CHECK_EVERY}th such result
 * looks at the clock, and when no turn is known for {@link TURN_MS}, a turn
 * is owed: every result done at once from then on (awaited or not, so the
 * loop yields whichever one it awaits) resolves after it, in call order.
 *
 * A turn is the return of a `poll(2)` of no descriptors made on a pool
 * thread (a nonblocking FFI call): an operation of Deno's, as its own take
 * one, and one no fake clock of a test replaces (a faked `setTimeout` or
 * `setImmediate` that never fires held every later result for good). Every
 * {@link IO_TURN_MS} it takes 1 ms: a call that returns at once keeps Deno's
 * runtime from idling, and its I/O driver (what serves `Deno.serve`, signal
 * listeners) runs only when it idles, or now and then (measured: 150-265 ms
 * per HTTP request with turns that never idle, 5-25 ms with a 1-2 ms idle
 * every 16 ms).
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";

/** How many results done at once go between looks at the clock (a look costs ~0.1 µs). */
const CHECK_EVERY = 32;
/** The longest run of results done at once without a turn of the event loop, in ms. */
const TURN_MS = 2;
/** The longest run without a turn that lets Deno's I/O driver run, in ms (it idles 1 ms: 2 %). */
const IO_TURN_MS = 50;
/**
 * How long a turn may stay owed before the results waiting for it are settled
 * without it, by the next result done at once: a last resort, should the
 * call's completion be lost.
 */
const OWED_MAX_MS = 200;

let count = 0;
/** When a turn of the event loop, and one that let I/O run, were last known (`performance.now()`). */
let turnAt = 0;
let ioTurnAt = 0;
/** The results waiting for the owed turn, in call order; undefined while none is owed. */
let owed: Array<() => void> | undefined;
/** When the owed turn was asked for. */
let owedAt = 0;
/** Settles the results waiting for the owed turn, in call order. */
let settleOwed: () => void = () => {};

/** Records that the event loop has had a turn that let I/O run: a wait resumed from it. */
export function turnSeen(): void {
  turnAt = ioTurnAt = performance.now();
}

/** `r`, an operation's result got without waiting, as the promise of its async form. */
export function resolvedNow<T>(r: T | PromiseLike<T>): Promise<T> {
  if (!turnOwed()) return Promise.resolve(r);
  return new Promise((resolve) => owed!.push(() => resolve(r)));
}

/** `e`, an operation's failure got without waiting, as the rejection of its async form. */
export function rejectedNow<T>(e: unknown): Promise<T> {
  if (!turnOwed()) return Promise.reject(e);
  return new Promise((_, reject) => owed!.push(() => reject(e)));
}

/** Whether a result done at once waits for a turn: one is owed, or now overdue. */
function turnOwed(): boolean {
  if (owed !== undefined) {
    if (performance.now() - owedAt < OWED_MAX_MS) return true;
    settleOwed(); // its turn never came: the results go on without it
  }
  return ++count >= CHECK_EVERY && turnOverdue();
}

/** Whether a turn is overdue; if so, it is owed from now on, and asked for. */
function turnOverdue(): boolean {
  count = 0;
  const now = performance.now();
  if (now - turnAt < TURN_MS) return false;
  const io = now - ioTurnAt >= IO_TURN_MS;
  const waiting: Array<() => void> = [];
  const turn = () => {
    if (owed !== waiting) return; // settled without it already
    owed = undefined;
    turnAt = performance.now();
    if (io) ioTurnAt = turnAt;
    for (const settle of waiting) settle();
  };
  libc.poll_parked(null, 0, io ? 1 : 0).then(turn, turn);
  owed = waiting;
  owedAt = now;
  settleOwed = turn;
  return true;
}
