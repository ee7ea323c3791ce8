/**
 * The budget of pool threads that parked calls (`msgrcv`, `msgsnd`, a FIFO's
 * `open`, ...) may hold at once. Deno gives each isolate (the main one, each
 * Worker) a blocking pool of its own of 32 threads, shared with its own file
 * operations; the library holds at most {@link CALL_BUDGET} of them for
 * parked calls, plus one for all fd waits and one for all futex waits, however
 * many waits are pending. Waits beyond the budget poll without a thread and
 * take a thread as soon as one frees.
 *
 * @module
 */

/** Pool threads parked calls may hold at once, in this isolate. */
export const CALL_BUDGET = 4;

let held = 0;
let waiting: Array<() => void> = [];

/** Takes a thread of the budget; false when all are held. */
export function takeThread(): boolean {
  if (held >= CALL_BUDGET) return false;
  held++;
  return true;
}

/** Gives a thread back and tells every wait that polls for one. */
export function giveThread(): void {
  held--;
  roomFreed();
}

/**
 * Tells every wait that polls for room that some freed: a thread, or a word's
 * place in the shared `futex_waitv` call. Each tries to park again.
 */
export function roomFreed(): void {
  if (waiting.length === 0) return;
  const now = waiting;
  waiting = [];
  for (const wake of now) wake();
}

/** Calls `wake` once, the next time room frees ({@link roomFreed}). Returns the function that forgets it. */
export function whenThreadFree(wake: () => void): () => void {
  waiting.push(wake);
  return () => {
    const at = waiting.indexOf(wake);
    if (at >= 0) waiting.splice(at, 1);
  };
}

/** Threads held now (for tests and diagnostics). */
export function threadsHeld(): number {
  return held;
}
