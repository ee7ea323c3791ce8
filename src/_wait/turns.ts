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
 * A turn is a `setImmediate`, except every {@link IO_TURN_MS} a timer's: a
 * ready immediate keeps Deno's runtime from idling, and its I/O driver (what
 * serves `Deno.serve`, signal listeners) runs only when it idles, or now and
 * then; a timer lets it (measured: 150-265 ms per HTTP request with
 * immediates alone, 7-14 ms with timers).
 *
 * @module
 */
import { nextTurn } from "./poll.ts";

/** How many results done at once go between looks at the clock (a look costs ~0.1 µs). */
const CHECK_EVERY = 32;
/** The longest run of results done at once without a turn of the event loop, in ms. */
const TURN_MS = 2;
/** The longest run without a turn that lets Deno's I/O driver run, in ms. */
const IO_TURN_MS = 16;

let count = 0;
/** When a turn of the event loop, and one that let I/O run, were last known (`performance.now()`). */
let turnAt = 0;
let ioTurnAt = 0;
/** The results waiting for the owed turn, in call order; undefined while none is owed. */
let owed: Array<() => void> | undefined;

/** Records that the event loop has had a turn that let I/O run: a wait resumed from it. */
export function turnSeen(): void {
  turnAt = ioTurnAt = performance.now();
}

/** `r`, an operation's result got without waiting, as the promise of its async form. */
export function resolvedNow<T>(r: T | PromiseLike<T>): Promise<T> {
  if (owed === undefined && (++count < CHECK_EVERY || !turnOverdue())) return Promise.resolve(r);
  return new Promise((resolve) => owed!.push(() => resolve(r)));
}

/** `e`, an operation's failure got without waiting, as the rejection of its async form. */
export function rejectedNow<T>(e: unknown): Promise<T> {
  if (owed === undefined && (++count < CHECK_EVERY || !turnOverdue())) return Promise.reject(e);
  return new Promise((_, reject) => owed!.push(() => reject(e)));
}

/** Whether a turn is overdue; if so, it is owed from now on, and asked for. */
function turnOverdue(): boolean {
  count = 0;
  const now = performance.now();
  if (now - turnAt < TURN_MS) return false;
  owed = [];
  const io = now - ioTurnAt >= IO_TURN_MS;
  const turn = () => {
    const waiting = owed!;
    owed = undefined;
    turnAt = performance.now();
    if (io) ioTurnAt = turnAt;
    for (const settle of waiting) settle();
  };
  if (io) setTimeout(turn, 0);
  else nextTurn(turn);
  return true;
}
