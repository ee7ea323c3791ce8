/**
 * The futex-word source: cross-process wait/notify on an `Int32Array` over
 * shared memory, what `Atomics.wait` cannot do on FFI memory.
 *
 * Async waits share **one** `futex_waitv(2)` call (Linux ≥ 5.16) parked on a
 * pool thread, over up to 127 waited words plus one private cancel word.
 * Adding, removing or cancelling a wait stores to the cancel word and wakes
 * it; the call returns, and is made again over the new set. A wake returns the
 * index of the last entry the kernel found woken (`futex_unqueue_multiple`):
 * entries before it may have been woken too, by notifies that counted this
 * call as a waiter, so each of them counts as woken (a spurious wake at
 * worst, which futex users allow; a lost one would leave a waiter asleep
 * that a notify reported woken). The cancel word is entry 0, so a wake that
 * returns it woke no waited word. Every failure is -1 with errno lost, so the
 * words are read again afterwards: a word whose value changed counts as
 * woken. A wait whose view was detached meanwhile (its buffer transferred
 * away) ends with a TypeError, as reads into a detached buffer do.
 * Without `futex_waitv` (ENOSYS), each wait parks a `FUTEX_WAIT` of its own
 * within the thread budget, cancelled by a `FUTEX_WAKE` of its word (a
 * spurious wake for other waiters of that word, which futex users allow).
 *
 * A notify that does not change the word can be missed while the set is being
 * rebuilt, as with any futex: change the word, then notify. Words beyond the
 * 127 of the call are read on the poll clock (a notify that does not change
 * one of them is missed) until a word leaves the call: they then join it.
 *
 * @module
 */
import { rejectedNow } from "./turns.ts";
import { libc } from "../../ffi/libc.ts";
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { AGAIN, E, errorOf, failed, lastErrno, ok } from "../_sys.ts";
import { addressOf, checkInteger, isDetached } from "../_check.ts";
import type { ErrorSubject } from "../errors.ts";
import { callSource } from "./call.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import { wait, type WaitContext, waitSync } from "./mod.ts";
import { setTimeLeft } from "./deadline.ts";
import type { Pending } from "./pending.ts";
import { NO_THREAD, type Operation, type Source } from "./source.ts";
import { settleReleased } from "./release.ts";
import { roomFreed } from "./budget.ts";

/** What a futex wait ended with, as `Atomics.wait` names it. */
export type FutexResult = "ok" | "not-equal";

const WAITV = LAYOUTS.futex_waitv;
const TIMESPEC = LAYOUTS.timespec;
/** The kernel's FUTEX_WAITV_MAX; entry 0 is the engine's own cancel word. */
const MAX_WORDS = 128;
const SYS_FUTEX = BigInt(C.SYS_futex);
const SYS_FUTEX_WAITV = BigInt(C.SYS_futex_waitv);
const SHARED_U32 = C.FUTEX_32;
const PRIVATE_U32 = C.FUTEX_32 | C.FUTEX_PRIVATE_FLAG;
const WAKE_ALL = 0x7fffffff;

interface Word {
  readonly key: string;
  readonly view: Int32Array;
  readonly index: number;
  readonly expected: number;
  readonly address: bigint;
  readonly waits: Set<FutexWait>;
}

interface FutexWait {
  readonly resolve: (r: FutexResult | typeof AGAIN) => void;
  readonly reject: (e: unknown) => void;
}

class FutexEngine {
  #words = new Map<string, Word>();
  #armed: Word[] = [];
  #inFlight = false;
  #list = new Uint8Array(WAITV.size * MAX_WORDS);
  #listView = new DataView(this.#list.buffer);
  // An ArrayBuffer of its own: small typed arrays may live on V8's heap, which moves.
  #cancel = new Int32Array(new ArrayBuffer(8));
  #cancelPtr = Deno.UnsafePointer.of(this.#cancel);
  #cancelAddress = BigInt(Deno.UnsafePointer.value(this.#cancelPtr));

  park(
    view: Int32Array,
    index: number,
    expected: number,
    address: bigint,
    p: Pending,
  ): Promise<FutexResult | typeof AGAIN> | typeof NO_THREAD {
    const key = `${address}:${expected}`;
    let word = this.#words.get(key);
    if (word === undefined) {
      if (this.#words.size >= MAX_WORDS - 1) return NO_THREAD;
      word = { key, view, index, expected, address, waits: new Set() };
      this.#words.set(key, word);
    }
    const w = word;
    return new Promise((resolve, reject) => {
      const wait: FutexWait = { resolve, reject };
      w.waits.add(wait);
      p.onCancel(() => {
        if (!w.waits.delete(wait)) return;
        if (w.waits.size === 0 && this.#words.get(w.key) === w) this.#forget(w);
        resolve(AGAIN);
        this.#kick();
      });
      this.#kick();
    });
  }

  /** Re-arms over the current set: at once when idle, else after making the call return. */
  #kick(): void {
    if (!this.#inFlight) return this.#arm();
    Atomics.add(this.#cancel, 0, 1);
    libc.futex(SYS_FUTEX, this.#cancelPtr, C.FUTEX_WAKE | C.FUTEX_PRIVATE_FLAG, 1, null, null, 0);
  }

  #arm(): void {
    if (this.#words.size === 0) return;
    this.#armed = [...this.#words.values()];
    this.#entry(0, Atomics.load(this.#cancel, 0), this.#cancelAddress, PRIVATE_U32);
    this.#armed.forEach((w, i) => this.#entry(i + 1, w.expected, w.address, SHARED_U32));
    this.#inFlight = true;
    libc.futex_waitv_parked(SYS_FUTEX_WAITV, this.#list, this.#armed.length + 1, 0, null, 0)
      .then((r) => this.#returned(r));
  }

  #entry(i: number, value: number, address: bigint, flags: number): void {
    const at = i * WAITV.size;
    this.#listView.setBigUint64(at + WAITV.offsets.val, BigInt(value >>> 0), true);
    this.#listView.setBigUint64(at + WAITV.offsets.uaddr, address, true);
    this.#listView.setUint32(at + WAITV.offsets.flags, flags, true);
    this.#listView.setUint32(at + WAITV.offsets.__reserved, 0, true);
  }

  #returned(r: number): void {
    this.#inFlight = false;
    let progress = r >= 0;
    this.#armed.forEach((w, i) => {
      const mayBeWoken = i + 1 <= r;
      if (this.#words.get(w.key) !== w) {
        // The kernel may have woken a word whose waits were all cancelled meanwhile:
        // that wake (one, as sem_post makes) was meant for some waiter; pass it on.
        if (mayBeWoken) futexWakeNow(w.address, 1);
        return;
      }
      if (isDetached(w.view)) {
        progress = true;
        this.#settle(
          w,
          (x) => x.reject(new TypeError("view was detached while the wait was pending")),
        );
      } else if (mayBeWoken || Atomics.load(w.view, w.index) !== w.expected) {
        progress = true;
        this.#settle(w, (x) => x.resolve("ok"));
      }
    });
    // -1 with nothing changed: a word the kernel cannot read (EFAULT) would make
    // every call fail at once; find it and fail its waits.
    if (!progress) this.#failUnreadable();
    this.#arm();
    if (!this.#inFlight) settleReleased();
  }

  /** Whether a wait is pending, or the shared call is still parked on a pool thread. */
  get busy(): boolean {
    return this.#inFlight || this.#words.size > 0;
  }

  /** Takes a word out of the set; a wait that found the set full, and polls, may get in now. */
  #forget(w: Word): void {
    const full = this.#words.size >= MAX_WORDS - 1;
    this.#words.delete(w.key);
    if (full) roomFreed();
  }

  #settle(w: Word, each: (x: FutexWait) => void): void {
    this.#forget(w);
    for (const x of w.waits) each(x);
    w.waits.clear();
  }

  #failUnreadable(): void {
    for (const w of this.#words.values()) {
      const r = futexWaitNow(w.address, w.expected, zeroTimeout);
      if (r < 0 && lastErrno() === E.EFAULT) {
        const e = errorOf(E.EFAULT, "futex_waitv", {});
        this.#settle(w, (x) => x.reject(e));
      }
    }
  }
}

const zeroTimeout = TIMESPEC.encode({ tv_sec: 0, tv_nsec: 0 });
const timeoutBuf = new Uint8Array(TIMESPEC.size);
const timeoutView = new DataView(timeoutBuf.buffer);

function futexWaitNow(address: bigint, expected: number, timeout: Uint8Array | null): number {
  return futexWaitAt(Deno.UnsafePointer.create(address), expected, timeout);
}

function futexWaitAt(pointer: Deno.PointerValue, expected: number, timeout: Uint8Array | null) {
  return libc.futex(
    SYS_FUTEX,
    pointer,
    C.FUTEX_WAIT,
    expected >>> 0,
    timeout,
    null,
    0,
  );
}

function futexWakeNow(address: bigint, count: number): number {
  const ptr = Deno.UnsafePointer.create(address);
  return libc.futex(SYS_FUTEX, ptr, C.FUTEX_WAKE, count, null, null, 0);
}

let engine: FutexEngine | undefined;

/** Whether this isolate's shared `futex_waitv` has a wait pending or is still parked. */
export function futexBusy(): boolean {
  return engine?.busy === true;
}

let waitvKnown: boolean | undefined;
let forceFallback = false;

/** Whether this kernel has futex_waitv: with no words it fails EINVAL, without the call ENOSYS. */
function hasWaitv(): boolean {
  if (waitvKnown === undefined) {
    const r = libc.futex_waitv(SYS_FUTEX_WAITV, new Uint8Array(0), 0, 0, null, 0);
    waitvKnown = !(r < 0 && lastErrno() === E.ENOSYS);
  }
  return waitvKnown && !forceFallback;
}

/** Makes async futex waits use the per-wait fallback, as without futex_waitv (for tests). */
export function useFutexFallback(on: boolean): void {
  forceFallback = on;
}

/** The address of `view[index]`, checked: an Int32Array and an index inside it. */
function wordAddress(view: Int32Array, index: number): bigint {
  if (!(view instanceof Int32Array)) {
    throw new TypeError(
      `view must be an Int32Array, got ${Object.prototype.toString.call(view)}`,
    );
  }
  checkInteger(index, "index", 0, view.length - 1);
  if (isDetached(view)) {
    throw new TypeError("view is on a detached ArrayBuffer (its memory was unmapped)");
  }
  return addressOf(view) + BigInt(index * 4);
}

/** `expected` as the word holds it: a TypeError for a non-number, a RangeError past 32 bits. */
function checkExpected(expected: number): number {
  return checkInteger(expected, "expected", -(2 ** 31), 2 ** 32 - 1, WORD_RANGE) | 0;
}

/** The values of a 32-bit word, signed or not, as messages give them. */
const WORD_RANGE = "of 32 bits (-2^31..2^32-1)";

/**
 * The wait for `view[index]` to stop holding `expected`, as an operation of
 * the engine: "not-equal" when it does not hold it at first, "ok" once woken
 * (or changed) after the wait began.
 */
export function futexOperation(
  view: Int32Array,
  index: number,
  expected: number,
  subject: ErrorSubject = {},
): Operation<FutexResult> {
  const address = wordAddress(view, index);
  const value = checkExpected(expected);
  let tries = 0;
  return {
    syscall: "futex",
    subject,
    attempt: () => {
      if (Atomics.load(view, index) === value) {
        tries++;
        return AGAIN;
      }
      return tries++ === 0 ? "not-equal" : "ok";
    },
    source: wordSource(view, index, value, address),
  };
}

/**
 * The readiness of `view[index]` as a source for an operation of its own (a
 * semaphore's take): parks until the word stops holding `expected` or is
 * woken, then the engine tries the operation again.
 */
export function futexReadiness(view: Int32Array, index: number, expected: number): Source<never> {
  const source = wordSource(view, index, checkExpected(expected), wordAddress(view, index));
  return {
    park: (p) => {
      const parked = source.park(p);
      return parked === NO_THREAD ? NO_THREAD : parked.then(() => AGAIN);
    },
    block: (deadline) => {
      source.block(deadline);
      return AGAIN;
    },
  };
}

/** Waiting on one word: the shared futex_waitv (or the fallback), or FUTEX_WAIT on this thread. */
function wordSource(
  view: Int32Array,
  index: number,
  value: number,
  address: bigint,
): Source<FutexResult> {
  return {
    park: (p) => {
      if (hasWaitv()) return (engine ??= new FutexEngine()).park(view, index, value, address, p);
      return fallback(address, value).park(p);
    },
    block: (deadline) => blockOnWord(Deno.UnsafePointer.create(address), value, deadline),
  };
}

/** FUTEX_WAIT on this thread until woken, the word changes, or `deadline` passes. */
function blockOnWord(
  pointer: Deno.PointerValue,
  value: number,
  deadline: number,
): FutexResult | typeof AGAIN {
  let timeout: Uint8Array | null = null;
  if (deadline !== Infinity) {
    if (deadline <= performance.now()) return AGAIN;
    setTimeLeft(timeoutView, deadline);
    timeout = timeoutBuf;
  }
  if (futexWaitAt(pointer, value, timeout) === 0) return "ok";
  failed("futex", {}, [E.EAGAIN, E.ETIMEDOUT]);
  return AGAIN;
}

/**
 * The sync wait of one word, made once and reused: the blocking path of a
 * lock then allocates nothing and looks up no address (`UnsafePointer.of`
 * costs more than the FUTEX_WAIT's way into the kernel).
 */
export class FutexWord {
  readonly #view: Int32Array;
  readonly #index: number;
  readonly #pointer: Deno.PointerValue;
  #value = 0;
  #tries = 0;
  readonly #operation: Operation<FutexResult>;

  /** The word `view[index]` (checked as {@link futexOperation} does); errors name `subject`. */
  constructor(view: Int32Array, index: number, subject: ErrorSubject = {}) {
    this.#view = view;
    this.#index = index;
    this.#pointer = Deno.UnsafePointer.create(wordAddress(view, index));
    const block = (deadline: number) => blockOnWord(this.#pointer, this.#value, deadline);
    this.#operation = {
      syscall: "futex",
      subject,
      attempt: () => {
        if (Atomics.load(this.#view, this.#index) === this.#value) {
          this.#tries++;
          return AGAIN;
        }
        return this.#tries++ === 0 ? "not-equal" : "ok";
      },
      // Sync waits only: they block, never park. Blocking is the wait itself,
      // so a sync wait whose peer shares this CPU blocks at once.
      source: { park: () => NO_THREAD, block },
      block,
    };
  }

  /** The operation of a sync wait while the word holds `expected`. */
  waitingFor(expected: number): Operation<FutexResult> {
    this.#value = checkExpected(expected);
    this.#tries = 0;
    return this.#operation;
  }
}

/** The fallback's calls parked now, with the address of the word each waits on. */
const parkedCalls = new Map<Promise<number>, bigint>();

/**
 * Settles once every fallback call parked on a word in the `size` bytes at
 * `address` has returned; undefined when there is none. Memory must stay
 * mapped until then: a FUTEX_WAIT on a shared mapping waits on the object
 * behind it (the file, the segment), and once the address is unmapped no
 * wake can reach it, so the call, and the wait behind it, would never return.
 */
export function parkedCallsReturned(address: bigint, size: number): Promise<unknown> | undefined {
  const end = address + BigInt(size);
  const calls = [...parkedCalls].filter(([, at]) => at >= address && at < end);
  return calls.length === 0 ? undefined : Promise.allSettled(calls.map(([call]) => call));
}

/** The fallback: one parked FUTEX_WAIT, cancelled by waking its word. */
function fallback(address: bigint, value: number): Source<FutexResult> {
  const ptr = Deno.UnsafePointer.create(address);
  return callSource<FutexResult>({
    syscall: "futex",
    about: {},
    start: () => {
      const call = libc.futex_parked(SYS_FUTEX, ptr, C.FUTEX_WAIT, value >>> 0, null, null, 0);
      parkedCalls.set(call, address);
      const returned = () => parkedCalls.delete(call);
      call.then(returned, returned);
      return call;
    },
    run: () => futexWaitNow(address, value, null),
    done: () => "ok",
    // Waking every waiter of the word also makes up for a notify this wait took.
    // Not sure to reach the wait (it may not be in the kernel yet): done again until it returns.
    interrupt: () => {
      libc.futex(SYS_FUTEX, ptr, C.FUTEX_WAKE, WAKE_ALL, null, null, 0);
      return undefined;
    },
    // A wake after the cancel is the interrupt's own (or made up for by it): drop it.
    release: () => true,
    key: `futex ${address} ${value}`,
  });
}

/**
 * Wakes up to `count` waiters of `view[index]`, in any process (`FUTEX_WAKE`).
 * Returns how many were woken.
 */
export function futexWake(view: Int32Array, index: number, count: number = WAKE_ALL): number {
  const address = wordAddress(view, index);
  checkInteger(count, "count", 0, Infinity, ">= 0");
  // FUTEX_WAKE with 0 wakes one waiter (the kernel treats it as 1): waking none needs no call.
  if (count === 0) return 0;
  const n = Math.min(count, WAKE_ALL);
  return ok(
    libc.futex(SYS_FUTEX, Deno.UnsafePointer.create(address), C.FUTEX_WAKE, n, null, null, 0),
    "futex",
  );
}

/**
 * Waits without blocking the event loop until `view[index]` no longer holds
 * `expected` or a notify wakes it: "not-equal" when it did not hold it at
 * first, "ok" after a wait.
 */
export function futexWait(
  view: Int32Array,
  index: number,
  expected: number,
  options?: WaitOptions,
  context?: WaitContext,
  subject?: ErrorSubject,
): Promise<FutexResult> {
  try {
    return wait(futexOperation(view, index, expected, subject), options, context);
  } catch (e) {
    return rejectedNow(e);
  }
}

/** The blocking form of {@link futexWait}. */
export function futexWaitSync(
  view: Int32Array,
  index: number,
  expected: number,
  options?: SyncWaitOptions,
  context?: WaitContext,
): FutexResult {
  return waitSync(futexOperation(view, index, expected), options, context);
}
