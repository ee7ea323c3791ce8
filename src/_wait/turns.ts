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
 * A turn is a `setImmediate` (which runs due timers too), raced with the
 * return of a `poll(2)` of no descriptors made on a pool thread (a
 * nonblocking FFI call: an operation of Deno's, which no fake clock of a test
 * replaces); every {@link IO_TURN_MS} it is that call alone, with a 1 ms
 * timeout: a turn that never idles keeps Deno's runtime from polling its I/O
 * driver (what serves `Deno.serve`), which it does only when it idles, or now
 * and then (measured: 150-265 ms per HTTP request with immediates alone,
 * 15 ms with these). Should neither come (a faked `setImmediate` and every
 * pool thread busy), the runtime's timer, taken at import, ends the turn
 * after {@link OWED_MAX_MS}.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { nextTurn } from "./poll.ts";

/** How many results done at once go between looks at the clock (a look costs ~0.1 µs). */
const CHECK_EVERY = 32;
/** The longest run of results done at once without a turn of the event loop, in ms. */
const TURN_MS = 2;
/** The longest run without a turn that lets Deno's I/O driver run, in ms (it idles 1 ms: 2 %). */
const IO_TURN_MS = 50;
/** The longest a turn may be owed: then the results waiting for it go on without it. */
const OWED_MAX_MS = 200;
/** The runtime's timers, as they were at import (a test's fake clock may replace them later). */
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

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
  return owed !== undefined || (++count >= CHECK_EVERY && turnOverdue());
}

/** Whether a turn is overdue; if so, it is owed from now on, and asked for. */
function turnOverdue(): boolean {
  count = 0;
  const now = performance.now();
  if (now - turnAt < TURN_MS) return false;
  const io = now - ioTurnAt >= IO_TURN_MS;
  const waiting: Array<() => void> = [];
  const turn = () => {
    if (owed !== waiting) return; // another of its sources came first
    owed = undefined;
    realClearTimeout(guard);
    turnAt = performance.now();
    if (io) ioTurnAt = turnAt;
    for (const settle of waiting) settle();
  };
  const guard = realSetTimeout(turn, OWED_MAX_MS);
  try {
    libc.poll_parked(null, 0, io ? 1 : 0).then(turn, turn);
  } catch {
    // No call to make (ffi revoked since): the other sources end the turn.
  }
  if (!io) nextTurn(turn);
  owed = waiting;
  return true;
}
