/**
 * Cross-process wait/notify on a 32-bit word of shared memory, through
 * `futex(2)`: what `Atomics.wait`/`Atomics.notify` do for a
 * SharedArrayBuffer but cannot do on memory mapped through FFI, which other
 * processes see too.
 *
 * The word is `view[index]` of an `Int32Array` over a `SharedMemory`'s
 * or `PosixSharedMemory`'s `bytes.buffer`. {@link wait} never blocks
 * the event loop: every async wait of the isolate (the main one, or a
 * Worker), on any number of words, shares one `futex_waitv(2)` call parked
 * on one pool thread (on kernels
 * without it, before Linux 5.16, each wait parks a `FUTEX_WAIT` of its own).
 * {@link waitSync} blocks the calling thread in `FUTEX_WAIT`, as
 * `Atomics.wait` does. {@link notify} wakes waiters in every process.
 *
 * As with any futex: change the word, then notify (a wait already asleep in
 * the kernel sees a change only through a notify; one about to sleep sees
 * the change instead), and re-check the word after every `"ok"` (a wait may
 * end without a notify meant for it). A lock built on a word, as below, is
 * not robust: a process killed while it holds it leaves it held for good
 * (a System V `Semaphore` with `undo` gives a killed holder's token back).
 *
 * @example A lock two processes can share (Drepper's "Futexes Are Tricky")
 * ```ts
 * import { notify, PosixSharedMemory, waitSync } from "@libc/ipc";
 * import assert from "node:assert/strict";
 *
 * // 0: free, 1: held, 2: held and someone may be waiting.
 * function lock(words: Int32Array, i: number): void {
 *   let c = Atomics.compareExchange(words, i, 0, 1);
 *   if (c === 0) return;
 *   if (c !== 2) c = Atomics.exchange(words, i, 2);
 *   while (c !== 0) {
 *     waitSync(words, i, 2);
 *     c = Atomics.exchange(words, i, 2);
 *   }
 * }
 * function unlock(words: Int32Array, i: number): void {
 *   if (Atomics.exchange(words, i, 0) === 2) notify(words, i, 1);
 * }
 *
 * // Hand `shm` to children with spawn(..., { fds: { 3: shm } }).
 * using shm = PosixSharedMemory.anonymous(4096);
 * const words = new Int32Array(shm.bytes.buffer);
 * lock(words, 0);
 * words[1]++;
 * unlock(words, 0);
 * assert.deepEqual([words[0], words[1]], [0, 1]);
 * ```
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C } from "../../ffi/platform.ts";
import { ok } from "../_sys.ts";
import { futexWait, FutexWord } from "../_wait/futex.ts";
import {
  checkSyncWaitOptions,
  rejectedNow,
  Spinner,
  waitSync as engineWaitSync,
} from "../_wait/mod.ts";
import { checkInteger, shown } from "../_check.ts";
import { lengthOf } from "../_views.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import { type Mapping, offsetIn, sharedMappingOf } from "./_mapping.ts";

/**
 * How a wait ended, as `Atomics.wait` names it: `"not-equal"` when the word
 * did not hold the expected value to begin with (nothing waited), `"ok"`
 * when the wait was woken by a notify or by the word changing. A timeout is
 * an error (`Deno.errors.TimedOut`), as everywhere in the library, not a
 * result.
 *
 * @example A word that does not hold the expected value: nothing waits
 * ```ts
 * import { type FutexWaitResult, PosixSharedMemory, wait, waitSync } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using shm = PosixSharedMemory.anonymous(4096);
 * const words = new Int32Array(shm.bytes.buffer); // words[0] holds 0
 * const result: FutexWaitResult = await wait(words, 0, 1);
 * assert.equal(result, "not-equal");
 * assert.equal(waitSync(words, 0, 1), "not-equal");
 * ```
 */
export type FutexWaitResult = "ok" | "not-equal";

/** FUTEX_WAKE takes an int: this many wakes everyone. */
const WAKE_ALL = 0x7fffffff;
const SYS_FUTEX = BigInt(C.SYS_futex);

/**
 * What waits keep of each word, by mapping and byte offset: a spinner, which
 * learns how soon the word's other side answers (a wait that the peer ends
 * within µs, as in a ping-pong or a lock held briefly, spins instead of
 * parking), the reusable sync wait, and the word's pointer for notify (making
 * one costs a few hundred ns right after a system call; a lookup here less).
 */
interface Word {
  readonly mapping: Mapping;
  /** Where it is in its mapping. */
  readonly at: number;
  readonly spinner: Spinner;
  sync?: FutexWord;
  pointer?: NonNullable<Deno.PointerValue>;
}
const words = new WeakMap<Mapping, Map<number, Word>>();
/**
 * The most words kept per mapping: a program that notifies each word of a
 * large table once would otherwise keep a few hundred bytes for each. The
 * one kept longest goes first; a wait still pending on it keeps its own, and
 * the word's next use starts a new one (its spinner learns again).
 */
const WORDS_KEPT = 1024;

function wordOf(mapping: Mapping, view: Int32Array, index: number): Word {
  let byOffset = words.get(mapping);
  if (byOffset === undefined) words.set(mapping, byOffset = new Map());
  const at = offsetIn(mapping, view, (index + 1) * 4) + index * 4;
  let word = byOffset.get(at);
  if (word === undefined) {
    if (byOffset.size >= WORDS_KEPT) byOffset.delete(byOffset.keys().next().value!);
    byOffset.set(at, word = { mapping, at, spinner: new Spinner() });
  }
  return word;
}

/** How many words of the mapping `view` is over are kept (for tests). */
export function wordsKept(view: Int32Array): number {
  return words.get(sharedMappingOf(view))?.size ?? 0;
}

/** The word last resolved: a loop on one word (a lock, a ping-pong) resolves it once. */
let last: { view: Int32Array; index: number; word: Word } | undefined;

/**
 * The word `view[index]` names, checked as {@link mappingOf} checks. A view
 * names one place for life: only its buffer's detaching, at the unmapping,
 * changes that, which its length then tells (0).
 */
function resolve(view: Int32Array, index: number): Word {
  if (
    last !== undefined && last.view === view && last.index === index && lengthOf(view) !== 0
  ) {
    return last.word;
  }
  const word = wordOf(mappingOf(view, index), view, index);
  last = { view, index, word };
  return word;
}

/**
 * The live mapping `view[index]` is in, checked before any call: a TypeError
 * for anything but an Int32Array over the library's shared memory, still
 * mapped, or an index that is not a number; a RangeError for an index
 * outside the view.
 */
function mappingOf(view: Int32Array, index: number): Mapping {
  if (!(view instanceof Int32Array)) {
    throw new TypeError(
      `view must be an Int32Array over shared memory, got ${shown(view)}`,
    );
  }
  const mapping = sharedMappingOf(view);
  checkInteger(index, "index", 0, view.length - 1);
  return mapping;
}

/** `expected` as the word would hold it: any 32-bit integer, signed or not. */
function wordValue(expected: number): number {
  return checkInteger(expected, "expected", -(2 ** 31), 2 ** 32 - 1, EXPECTED_RANGE) | 0;
}

/** The values of a 32-bit word, signed or not, as messages give them. */
const EXPECTED_RANGE = "of 32 bits (-2^31..2^32-1)";

/**
 * Waits, without blocking the event loop, until `view[index]` is notified or
 * no longer holds `expected`, from this or any other process: the async
 * `Atomics.wait` for shared memory.
 *
 * Resolves `"not-equal"` at once when the word does not hold `expected`;
 * otherwise `"ok"` once a {@link notify} wakes it (even if the value did not
 * change), or once the wait finds the word changed (a wait asleep in the
 * kernel learns of a change only through a notify). Unlike `Atomics.wait`,
 * `"ok"` may also come of a notify of another word this process waits on:
 * the shared kernel call reports only the last word it found woken, so the
 * words before it in the call count as woken too (a missed wake would leave
 * a waiter asleep that a notify reported woken). So check the word and wait
 * again, as with `futex(2)`: `while (Atomics.load(w, i) === v) await wait(w, i, v)`. With more than 127 words
 * waited on at once, the waits beyond those the kernel call takes see only a
 * change of their word: change the word, then notify, as a futex wants. Every pending wait of
 * the process shares one parked `futex_waitv(2)` call, however many words
 * they wait on; closing the shared memory rejects its pending waits at once,
 * so the word is never waited on after it is unmapped. A pending wait keeps
 * the process alive; one that ended (woken, aborted, timed out) does not.
 *
 * Wraps `futex(2)` (`FUTEX_WAIT`) and `futex_waitv(2)`. Needs `--allow-ffi`.
 *
 * @param view an Int32Array over a `SharedMemory`'s or `PosixSharedMemory`'s `bytes.buffer`
 * @param index the word to wait on: `view[index]`
 * @param expected the value that means "keep waiting", a 32-bit integer
 * @param options `signal` cancels the wait, `timeout` (ms) bounds it
 * @returns `"ok"` when woken or changed, `"not-equal"` when the word did not hold `expected`
 * @throws {TypeError} (as a rejection) when `view` is not an Int32Array over
 *   the library's shared memory, or that memory is closed; for an `index` or
 *   `expected` that is not a number, `options` that is not an object, or a
 *   `signal` that is not an AbortSignal
 * @throws {RangeError} (as a rejection) for an `index` outside the view, an
 *   `expected` that is not a 32-bit integer, or a bad `timeout`
 * @throws {Deno.errors.TimedOut} (as a rejection, `code: "ETIMEDOUT"`) when `timeout` passes first
 * @throws {Deno.errors.BadResource} (as a rejection, `code: "EBADF"`) when the
 *   shared memory is closed while the wait is pending
 * @throws the `signal`'s reason (as a rejection) when it aborts the wait
 *
 * @example Woken by a notify
 * ```ts
 * import { notify, PosixSharedMemory, wait } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using shm = PosixSharedMemory.anonymous(4096);
 * const words = new Int32Array(shm.bytes.buffer);
 * const woken = wait(words, 0, 0); // words[0] holds 0: it waits
 * Atomics.store(words, 0, 1); // another process would do this
 * notify(words, 0);
 * assert.equal(await woken, "ok");
 * assert.equal(await wait(words, 0, 0), "not-equal");
 * ```
 *
 * @example Bounded by a timeout
 * ```ts
 * import { PosixSharedMemory, wait } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using shm = PosixSharedMemory.anonymous(4096);
 * const words = new Int32Array(shm.bytes.buffer);
 * await assert.rejects(wait(words, 0, 0, { timeout: 10 }), Deno.errors.TimedOut);
 * ```
 */
export function wait(
  view: Int32Array,
  index: number,
  expected: number,
  options?: WaitOptions,
): Promise<FutexWaitResult> {
  try {
    const { mapping, spinner } = resolve(view, index);
    const value = wordValue(expected);
    return futexWait(
      view,
      index,
      value,
      options,
      { registry: mapping.waits, spinner },
      mapping.subject,
    );
  } catch (e) {
    return rejectedNow(e);
  }
}

/**
 * Blocks the calling thread until `view[index]` is notified or no longer
 * holds `expected`, from this or any other process: `Atomics.wait` for shared
 * memory. Meant for scripts, Workers and short waits: the event loop stops
 * meanwhile (use {@link wait} to keep it running).
 *
 * Returns `"not-equal"` at once, without a system call, when the word does
 * not hold `expected`; otherwise `"ok"` once a {@link notify} wakes it (even
 * if the value did not change), or when the word changed before the thread
 * fell asleep.
 *
 * Wraps `futex(2)` (`FUTEX_WAIT`). Needs `--allow-ffi`.
 *
 * @param view an Int32Array over a `SharedMemory`'s or `PosixSharedMemory`'s `bytes.buffer`
 * @param index the word to wait on: `view[index]`
 * @param expected the value that means "keep waiting", a 32-bit integer
 * @param options `timeout` (ms) bounds the wait
 * @returns `"ok"` when woken or changed, `"not-equal"` when the word did not hold `expected`
 * @throws {TypeError} when `view` is not an Int32Array over the library's
 *   shared memory, or that memory is closed; for an `index` or `expected`
 *   that is not a number, or `options` that is not an object
 * @throws {RangeError} for an `index` outside the view, an `expected` that is
 *   not a 32-bit integer, or a bad `timeout`
 * @throws {Deno.errors.TimedOut} (`code: "ETIMEDOUT"`) when `timeout` passes first
 *
 * @example
 * ```ts
 * import { PosixSharedMemory, waitSync } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using shm = PosixSharedMemory.anonymous(4096);
 * const words = new Int32Array(shm.bytes.buffer);
 * Atomics.store(words, 0, 7);
 * assert.equal(waitSync(words, 0, 0), "not-equal");
 * assert.throws(() => waitSync(words, 0, 7, { timeout: 10 }), Deno.errors.TimedOut);
 * ```
 */
export function waitSync(
  view: Int32Array,
  index: number,
  expected: number,
  options?: SyncWaitOptions,
): FutexWaitResult {
  const word = resolve(view, index);
  const value = wordValue(expected);
  checkSyncWaitOptions(options);
  // The uncontended path of a lock: no allocation, no system call.
  if (Atomics.load(view, index) !== value) return "not-equal";
  word.sync ??= new FutexWord(view, index, word.mapping.subject);
  return engineWaitSync(word.sync.waitingFor(value), options, word);
}

/**
 * Wakes up to `count` waiters of `view[index]`, in any process:
 * `Atomics.notify` for shared memory (`FUTEX_WAKE`). Change the word before
 * notifying: a waiter that is about to wait then sees the change instead of
 * missing the wake.
 *
 * The count is the kernel's: a thread blocked in {@link waitSync}, in this or
 * another process, counts as one; so do all the async {@link wait}s of one
 * process on the word with the same `expected`, which share one entry of the
 * process's `futex_waitv` call and all wake together. `count: 0` wakes none
 * and makes no call (the kernel would wake one).
 *
 * Wraps `futex(2)` (`FUTEX_WAKE`). Needs `--allow-ffi`.
 *
 * @param view an Int32Array over a `SharedMemory`'s or `PosixSharedMemory`'s `bytes.buffer`
 * @param index the word whose waiters to wake: `view[index]`
 * @param count how many to wake at most, an integer ≥ 0 or `Infinity` (the default: all)
 * @returns how many waiters the kernel woke
 * @throws {TypeError} when `view` is not an Int32Array over the library's
 *   shared memory, or that memory is closed; for an `index` or `count` that
 *   is not a number
 * @throws {RangeError} for an `index` outside the view, or a `count` that is
 *   neither an integer ≥ 0 nor `Infinity`
 *
 * @example
 * ```ts
 * import { notify, PosixSharedMemory } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using shm = PosixSharedMemory.anonymous(4096);
 * const words = new Int32Array(shm.bytes.buffer);
 * Atomics.store(words, 0, 1);
 * assert.equal(notify(words, 0), 0); // nobody was waiting
 * ```
 */
export function notify(view: Int32Array, index: number, count: number = Infinity): number {
  const word = resolve(view, index);
  if (count !== Infinity) checkInteger(count, "count", 0, Infinity, ">= 0 or Infinity");
  // FUTEX_WAKE of 0 wakes one all the same.
  if (count === 0) return 0;
  word.mapping.check("futex");
  word.pointer ??= word.mapping.pointerAt(word.at, "futex");
  const n = Math.min(count, WAKE_ALL);
  return ok(libc.futex(SYS_FUTEX, word.pointer, C.FUTEX_WAKE, n, null, null, 0), "futex");
}
