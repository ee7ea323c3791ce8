/**
 * Four processes (this one and three children) each add 1 to one counter in
 * shared memory 100 000 times, under a lock built on cross-process
 * wait/notify (a futex: what `Atomics.wait`/`Atomics.notify` cannot do on
 * memory shared with other processes). The lock is the classic three-state
 * mutex of Drepper's "Futexes Are Tricky": 0 free, 1 held, 2 held with
 * waiters; only a contended lock or unlock makes a system call. The counter
 * itself is a plain, non-atomic read and write: only the lock keeps the
 * total exact.
 *
 * Run: `deno run --allow-ffi examples/futex_counter.ts`. It prints:
 *
 * ```text
 * Counter: 400000 (expected 400000)
 * ```
 *
 * @module
 */
import { notify, PosixSharedMemory, spawn, waitSync } from "@libc/ipc";

const PROCESSES = 4;
const INCREMENTS = 100_000;
/** Word 0: the lock; word 1: the counter. */
const LOCK = 0;
const COUNTER = 1;

function lock(words: Int32Array): void {
  let c = Atomics.compareExchange(words, LOCK, 0, 1);
  if (c === 0) return;
  // Held: mark it contended (2) and sleep until it is free, then take it as contended.
  if (c !== 2) c = Atomics.exchange(words, LOCK, 2);
  while (c !== 0) {
    waitSync(words, LOCK, 2);
    c = Atomics.exchange(words, LOCK, 2);
  }
}

function unlock(words: Int32Array): void {
  // Someone may sleep only if it was contended (2): wake one of them.
  if (Atomics.exchange(words, LOCK, 0) === 2) notify(words, LOCK, 1);
}

function count(words: Int32Array): void {
  for (let i = 0; i < INCREMENTS; i++) {
    lock(words);
    words[COUNTER] = words[COUNTER] + 1;
    unlock(words);
  }
}

if (Deno.args[0] === "child") {
  // The memory came as fd 3: no name anywhere.
  using shm = PosixSharedMemory.fromFd(3);
  count(new Int32Array(shm.bytes.buffer, 0, 2));
} else {
  using shm = PosixSharedMemory.anonymous(4096);
  const words = new Int32Array(shm.bytes.buffer, 0, 2);
  const children = Array.from(
    { length: PROCESSES - 1 },
    () => spawn(import.meta.url, { args: ["child"], fds: { 3: shm } }),
  );
  count(words);
  for (const child of children) {
    const status = await child.status;
    if (!status.success) Deno.exitCode = status.code;
  }
  console.log(`Counter: ${Atomics.load(words, COUNTER)} (expected ${PROCESSES * INCREMENTS})`);
}
