/**
 * Turns of the event loop for operations done at once. A result the first
 * try (or the spin) got resolves its promise as a microtask: a loop of such
 * operations, against a peer that always has data or room, would never give
 * the event loop a turn, and timers, signal listeners and Deno's own I/O
 * would wait for as long as it runs (seconds, measured). Deno's own
 * operations each take a turn. So every {@link CHECK_EVERY}th such result
 * looks at the clock, and when no turn is known for {@link TURN_MS}, it
 * resolves on the next turn instead.
 *
 * @module
 */
import { nextTurn } from "./poll.ts";

/** How many results done at once go between looks at the clock (a look costs ~0.1 µs). */
const CHECK_EVERY = 32;
/** The longest run of results done at once without a turn of the event loop, in ms. */
const TURN_MS = 2;

let count = 0;
/** When a turn of the event loop was last known (`performance.now()`). */
let turnAt = 0;

/** Records that the event loop has had a turn: a wait resumed from it. */
export function turnSeen(): void {
  turnAt = performance.now();
}

/** `r`, an operation's result got without waiting, as the promise of its async form. */
export function resolvedNow<T>(r: T): Promise<T> {
  if (++count < CHECK_EVERY) return Promise.resolve(r);
  count = 0;
  if (performance.now() - turnAt < TURN_MS) return Promise.resolve(r);
  return new Promise((resolve) =>
    nextTurn(() => {
      turnAt = performance.now();
      resolve(r);
    })
  );
}
