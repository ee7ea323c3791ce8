/**
 * POSIX semaphores (`sem_overview(7)`): named ones (`sem_open(3)`,
 * `sem_close(3)`, `sem_unlink(3)`) and unnamed ones in shared memory
 * (`sem_init(3)`, `sem_destroy(3)`), with `sem_post(3)`, `sem_trywait(3)`,
 * `sem_clockwait(3)` and `sem_getvalue(3)`.
 *
 * The async wait follows glibc's own `sem_t` protocol (glibc ≥ 2.21 with
 * 64-bit atomics, `nptl/sem_waitcommon.c`): a 64-bit word holds the value in
 * its low half and the number of waiters in its high half, and `sem_post`
 * wakes the value word (`FUTEX_WAKE` of one) only when that count is not 0.
 * So a wait counts itself in before it parks in the waiting engine's shared
 * `futex_waitv`, takes a token with a compare-and-swap (never below 0), and
 * counts itself out however it ends. A C program's `sem_wait` and `sem_post`
 * on the same semaphore interoperate with it exactly.
 *
 * @module
 */
import { chmodCreated } from "../_chmod.ts";
import { libc } from "../../ffi/libc.ts";
import { C, LAYOUTS, SIZEOF } from "../../ffi/platform.ts";
import { i32, struct, u64 } from "../../ffi/struct/mod.ts";
import { AGAIN, E, errorOf, failed, lastErrno, ok } from "../_sys.ts";
import { closedError, type ErrorSubject } from "../errors.ts";
import { checkBoolean, checkInteger, checkMode, checkOptions, shown } from "../_check.ts";
import { posixName } from "../_posix_name.ts";
import { fileOf } from "../_path.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import {
  checkWaitOptions,
  NO_THREAD,
  type Operation,
  Pending,
  rejectedNow,
  releaseIdle,
  resolvedNow,
  sliceLeft,
  type Source,
  Spinner,
  tryNow,
  wait,
  type WaitContext,
  WaitRegistry,
  waitSync,
} from "../_wait/mod.ts";
import { futexReadiness, futexWake } from "../_wait/futex.ts";
import { Mapping, offsetIn, sharedMappingOf } from "../shm/_mapping.ts";

/**
 * Options of {@link PosixSemaphore.open}.
 *
 * @example Its mode, exactly, and its first value
 * ```ts
 * import { PosixSemaphore } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const name = `/libc-ipc-doc-${Deno.pid}-open-options`;
 * using sem = PosixSemaphore.open(name, { create: true, exclusive: true, mode: 0o640, value: 2 });
 * const file = `/dev/shm/sem.${name.slice(1)}`; // where glibc keeps it
 * const mode = Deno.statSync(file).mode! & 0o777;
 * PosixSemaphore.unlink(name);
 * assert.deepEqual([mode, sem.value], [0o640, 2]);
 * ```
 */
export interface PosixSemaphoreOpenOptions {
  /** Create the semaphore if it does not exist (`O_CREAT`). Default `false`. */
  create?: boolean;
  /** With `create`: fail with `AlreadyExists` if it exists (`O_EXCL`). */
  exclusive?: boolean;
  /**
   * Permission bits of a semaphore this call creates, applied exactly (the
   * umask does not narrow them). Default `0o600`: owner only. Opening an
   * existing semaphore asks for no permission bits.
   */
  mode?: number;
  /** The value of a semaphore this call creates: an integer 0..`SEM_VALUE_MAX` (2^31-1). Default 0. */
  value?: number;
}

/**
 * glibc's `struct new_sem` (`sysdeps/nptl/internaltypes.h`, 64-bit atomics):
 * `data` holds the value in its low 32 bits and the number of waiters in its
 * high 32; `private` is 0 for a process-private semaphore and
 * `FUTEX_PRIVATE_FLAG` for a process-shared one (glibc flips that flag into
 * its futex calls). Not in any header: glibc's `sem_t` is an opaque union of
 * 32 bytes.
 */
const NEW_SEM = struct("new_sem", { data: u64, private: i32 });
/**
 * Index of the value (the low half of `data`, little endian) in a 32-bit
 * view. Atomics on either half interleave correctly with glibc's 64-bit ones
 * on the whole word (no carry crosses the halves: the value stays within
 * 0..SEM_VALUE_MAX), and need no BigInt on the hot path.
 */
const VALUE = NEW_SEM.offsets.data / 4;
/** Index of the waiter count (the high half of `data`). */
const WAITERS = VALUE + 1;
const PRIVATE = NEW_SEM.offsets.private / 4;
/** What glibc stores in `private` for a process-shared semaphore. */
const PROCESS_SHARED = C.FUTEX_PRIVATE_FLAG;
const SEM_T: number = SIZEOF.sem_t;
const SEM_VALUE_MAX: number = C.SEM_VALUE_MAX;
/** glibc names `/name` `sem.name` in /dev/shm; the file name may have NAME_MAX bytes. */
const NAME_MAX_BYTES = C.NAME_MAX - "sem.".length + 1;
const SEM_DIR = "/dev/shm/sem.";

const TIMESPEC = LAYOUTS.timespec;
const nowBuf = new Uint8Array(TIMESPEC.size);
const nowView = new DataView(nowBuf.buffer);
const absBuf = new Uint8Array(TIMESPEC.size);
const absView = new DataView(absBuf.buffer);

/** The source of the shared sync/try operation: the sync form blocks in sem_wait itself. */
const BLOCKS_ONLY: Source<never> = { park: () => NO_THREAD, block: () => AGAIN };

/**
 * The named semaphores open in this process, by address: glibc maps a name
 * once per process (`sem_open` of a name already open returns the same
 * address and counts it), so handles of one name share one mapping, which
 * the last of them unmaps with the last `sem_close`.
 */
const opened = new Map<bigint, { mapping: Mapping; handles: number }>();

/** One async wait's place in the semaphore's waiter count. */
interface Waiter {
  counted: boolean;
}

function checkValue(value: unknown): number {
  return checkInteger(value, "value", 0, SEM_VALUE_MAX, `0..${SEM_VALUE_MAX} (SEM_VALUE_MAX)`);
}

/** Where in library shared memory `view` puts a sem_t, checked. */
function placeOf(view: Uint8Array): { mapping: Mapping; offset: number } {
  if (!(view instanceof Uint8Array)) {
    throw new TypeError(
      `view must be a Uint8Array, got ${shown(view)}`,
    );
  }
  const mapping = sharedMappingOf(view);
  if (view.byteLength < SEM_T) {
    throw new RangeError(
      `view must have at least ${SEM_T} bytes (sizeof(sem_t)), got ${view.byteLength}`,
    );
  }
  const offset = offsetIn(mapping, view, SEM_T);
  if ((mapping.address + BigInt(offset)) % 8n !== 0n) {
    throw new RangeError(
      `view must start on an 8-byte boundary (a sem_t holds a 64-bit atomic word), ` +
        `got byte offset ${offset} in its shared memory`,
    );
  }
  return { mapping, offset };
}

/**
 * Counts `n` waits out of the waiter count. A post wakes one waiter: if that
 * was one of these and it took no token, another waiter is woken in its
 * place, so that no token stays unused while others sleep.
 */
function leave(words: Uint32Array, word: Int32Array, n: number, took: boolean): void {
  Atomics.sub(words, WAITERS, n);
  if (!took && Atomics.load(words, VALUE) > 0 && Atomics.load(words, WAITERS) > 0) {
    futexWake(word, VALUE, n);
  }
}

/** `deadline` (a `performance.now()` time) as an absolute CLOCK_MONOTONIC timespec. */
function monotonicAt(deadline: number): Uint8Array {
  ok(libc.clock_gettime(C.CLOCK_MONOTONIC, nowBuf), "clock_gettime");
  const left = sliceLeft(deadline);
  const leftSec = Math.floor(left / 1000);
  const nsec = Number(nowView.getBigInt64(TIMESPEC.offsets.tv_nsec, true)) +
    Math.round((left - leftSec * 1000) * 1e6);
  const sec = Number(nowView.getBigInt64(TIMESPEC.offsets.tv_sec, true)) + leftSec +
    Math.floor(nsec / 1e9);
  absView.setBigInt64(TIMESPEC.offsets.tv_sec, BigInt(sec), true);
  absView.setBigInt64(TIMESPEC.offsets.tv_nsec, BigInt(nsec % 1e9), true);
  return absBuf;
}

/**
 * A POSIX semaphore: a counter of tokens that any process may `post` (add
 * one) and `wait` for (take one, waiting while there is none).
 *
 * A **named** semaphore ({@link PosixSemaphore.open}) has a name like
 * `"/jobs"` that any process may open; it lives in `/dev/shm/sem.jobs` until
 * {@link PosixSemaphore.unlink}. An **unnamed** one lives in shared memory
 * that the processes already share ({@link PosixSemaphore.init},
 * {@link PosixSemaphore.at}): a {@link PosixSharedMemory} or
 * {@link SharedMemory} view. Both are the `sem_t` of glibc, so C programs
 * that use the same semaphore work with this one.
 *
 * Waiting comes in three forms: {@link PosixSemaphore.wait} returns a promise
 * and never blocks the event loop (`signal` and `timeout` cancel it, and
 * `close()` does), {@link PosixSemaphore.waitSync} blocks the thread,
 * {@link PosixSemaphore.tryWait} never waits. Async waits on any number of
 * semaphores share one pool thread.
 *
 * Wraps `sem_open(3)`, `sem_close(3)`, `sem_unlink(3)`, `sem_init(3)`,
 * `sem_destroy(3)`, `sem_post(3)`, `sem_trywait(3)`, `sem_clockwait(3)` and
 * `sem_getvalue(3)`. Needs `--allow-ffi`.
 *
 * @example A named semaphore, posted and taken
 * ```ts
 * import { PosixSemaphore } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const name = `/libc-ipc-doc-${Deno.pid}-class`;
 * using sem = PosixSemaphore.open(name, { create: true, exclusive: true });
 * try {
 *   setTimeout(() => sem.post(), 10); // any process may post
 *   await sem.wait({ timeout: 5000 });
 *   assert.equal(sem.value, 0);
 * } finally {
 *   PosixSemaphore.unlink(name);
 * }
 * ```
 *
 * @example A parent and its child share an unnamed semaphore
 * ```ts ignore
 * import { PosixSemaphore, PosixSharedMemory, spawn } from "@libc/ipc";
 * if (Deno.args[0] === "child") {
 *   using shm = PosixSharedMemory.fromFd(3);
 *   using sem = PosixSemaphore.at(shm.bytes);
 *   sem.post();
 * } else {
 *   using shm = PosixSharedMemory.anonymous(4096);
 *   using sem = PosixSemaphore.init(shm.bytes, 0);
 *   await using child = spawn(import.meta.url, { args: ["child"], fds: { 3: shm } });
 *   await sem.wait();
 *   await child.status;
 * }
 * ```
 */
export class PosixSemaphore implements Disposable {
  /**
   * The name of a named semaphore, as given to {@link PosixSemaphore.open};
   * `null` for an unnamed one.
   *
   * @example
   * ```ts
   * import { PosixSemaphore, PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(64);
   * using sem = PosixSemaphore.init(shm.bytes, 0);
   * assert.equal(sem.name, null);
   * ```
   */
  readonly name: string | null;
  readonly #mapping: Mapping;
  readonly #ptr: Deno.PointerObject;
  readonly #address: bigint;
  /** The value and the waiter count, over the mapping: detached with it. */
  readonly #words: Uint32Array;
  readonly #word: Int32Array;
  readonly #subject: ErrorSubject;
  readonly #what: string;
  /** An unnamed semaphore's watch on its shared memory: cancelled when that is unmapped. */
  readonly #watcher: Pending | undefined;
  #closed = false;
  readonly #waits = new WaitRegistry();
  readonly #context: WaitContext;
  /** The async waits counted in the waiter count now. */
  readonly #waiters = new Set<Waiter>();
  #ready?: Source<never>;
  readonly #sync: Operation<void>;
  readonly #try: Pick<Operation<void>, "syscall" | "subject" | "attempt">;
  readonly #valueBuf = new Uint8Array(new ArrayBuffer(4));
  readonly #valueView = new Int32Array(this.#valueBuf.buffer);

  private constructor(name: string | null, mapping: Mapping, offset: number) {
    this.name = name;
    this.#mapping = mapping;
    // An unnamed one is named by the shared memory it lives in.
    this.#subject = name === null ? { ...mapping.subject } : { path: name };
    this.#what = name === null ? "semaphore" : `semaphore '${name}'`;
    this.#ptr = mapping.pointerAt(offset, "sem_open");
    this.#address = mapping.address + BigInt(offset);
    this.#words = new Uint32Array(mapping.bytes.buffer, offset, 2);
    this.#word = new Int32Array(mapping.bytes.buffer, offset, 2);
    this.#context = { spinner: new Spinner(), registry: this.#waits };
    this.#sync = {
      syscall: "sem_wait",
      subject: this.#subject,
      attempt: this.#take,
      source: BLOCKS_ONLY,
      block: (deadline) => this.#block(deadline),
    };
    this.#try = { syscall: "sem_trywait", subject: this.#subject, attempt: this.#take };
    if (name === null) {
      // Whoever closes the shared memory closes this handle too, before it is unmapped.
      // Kept alive: it never parks, and a change of `ref` must not restart (close) it.
      this.#watcher = new Pending("sem_wait", undefined, Infinity, mapping.waits, () => {}, true);
      this.#watcher.onCancel(() => this.#lost());
    }
  }

  /**
   * Opens a named semaphore, creating it with `create: true`. One this call
   * creates gets exactly `mode` (default `0o600`) and `value` (default 0); an
   * existing one keeps its own, and opening it asks for no permission bits.
   * Every argument is checked before any system call.
   *
   * glibc keeps the semaphore in `/dev/shm/sem.<name without "/">` and maps
   * it into this process once, however many handles open it.
   *
   * Wraps `sem_open(3)` (and `chmod(2)`, as `sem_open` applies the umask).
   * Needs `--allow-ffi`.
   *
   * @param name `"/"` followed by 1 to 251 bytes, none of them `"/"` (glibc adds `"sem."` to make a file name of at most 255 bytes)
   * @param options `create`, `exclusive`, `mode`, `value`
   * @returns the open semaphore; close it (or `using`) when done
   * @throws {TypeError} for a malformed name (no leading `"/"`, another `"/"`, a NUL, `"/."`), `options` that is not an object, an option of the wrong type, or `exclusive` without `create`
   * @throws {RangeError} for a name of the wrong length, a `mode` outside 0..0o777, or a `value` outside 0..2^31-1
   * @throws {Deno.errors.NotFound} when the semaphore does not exist and `create` is not set
   * @throws {Deno.errors.AlreadyExists} when it exists and `exclusive` is set
   * @throws {Deno.errors.PermissionDenied} when its mode does not let this user read and write it
   * @throws {IpcError} EMFILE/ENFILE when out of descriptors, ENOMEM when it cannot be mapped
   *
   * @example Create exclusively, then open it again
   * ```ts
   * import { PosixSemaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-open`;
   * const sem = PosixSemaphore.open(name, { create: true, exclusive: true, value: 2 });
   * try {
   *   using again = PosixSemaphore.open(name); // any process may do this
   *   again.tryWait();
   *   assert.equal(sem.value, 1);
   *   assert.throws(
   *     () => PosixSemaphore.open(name, { create: true, exclusive: true }),
   *     Deno.errors.AlreadyExists,
   *   );
   * } finally {
   *   sem.close();
   *   PosixSemaphore.unlink(name);
   * }
   * ```
   */
  static open(name: string, options: PosixSemaphoreOpenOptions = {}): PosixSemaphore {
    const c = posixName(name, "semaphore name", NAME_MAX_BYTES);
    checkOptions(options);
    const create = checkBoolean(options.create, "create");
    const exclusive = checkBoolean(options.exclusive, "exclusive");
    if (exclusive && !create) throw new TypeError("exclusive needs create: true");
    const mode = checkMode(options.mode);
    const value = options.value === undefined ? 0 : checkValue(options.value);
    const subject = { path: name };

    // Create exclusively first: only a semaphore this call made gets its mode set.
    let p: Deno.PointerValue = null;
    let created = false;
    for (;;) {
      if (create) {
        p = libc.sem_open(c, C.O_CREAT | C.O_EXCL, mode, value);
        if (p !== null) {
          created = true;
          break;
        }
        const code = lastErrno();
        if (code !== E.EEXIST || exclusive) throw errorOf(code, "sem_open", subject);
      }
      p = libc.sem_open(c, 0, 0, 0);
      if (p !== null) break;
      const code = lastErrno();
      // Unlinked between the two calls: create it again.
      if (code !== E.ENOENT || !create) throw errorOf(code, "sem_open", subject);
    }
    try {
      // sem_open applies the umask; the mode asked for is the mode wanted.
      if (created) chmodCreated(SEM_DIR + name.slice(1), mode, "file", "sem_open");
      // glibc maps a sem_t of the file without looking at its size: one too short for it
      // (not a semaphore) would be a SIGBUS at the first use. Its own are never short.
      const file = created ? null : fileOf(SEM_DIR + name.slice(1));
      if (file !== null && file.size < BigInt(SEM_T)) {
        throw new TypeError(
          `'${name}' is not a semaphore: ${SEM_DIR}${name.slice(1)} holds ${file.size} bytes, ` +
            `fewer than a sem_t (${SEM_T})`,
        );
      }
      return PosixSemaphore.#named(name, p);
    } catch (e) {
      libc.sem_close(p);
      if (created) libc.sem_unlink(c);
      throw e;
    }
  }

  static #named(name: string, p: Deno.PointerObject): PosixSemaphore {
    const address = BigInt(Deno.UnsafePointer.value(p));
    let entry = opened.get(address);
    if (entry === undefined) {
      const subject = { path: name };
      const mapping = new Mapping(
        p,
        SEM_T,
        () => ok(libc.sem_close(p), "sem_close", subject),
        `semaphore '${name}'`,
        subject,
      );
      entry = { mapping, handles: 0 };
      opened.set(address, entry);
    }
    entry.handles++;
    return new PosixSemaphore(name, entry.mapping, 0);
  }

  /**
   * Removes a named semaphore's name. Processes that have it open keep using
   * it; it is destroyed when the last one closes it.
   *
   * Wraps `sem_unlink(3)`. Needs `--allow-ffi`.
   *
   * @param name the semaphore's name, as given to {@link PosixSemaphore.open}
   * @throws {TypeError} for a malformed name
   * @throws {RangeError} for a name of the wrong length
   * @throws {Deno.errors.NotFound} when no semaphore has that name
   * @throws {Deno.errors.PermissionDenied} when the caller may not remove it
   *
   * @example
   * ```ts
   * import { PosixSemaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-unlink`;
   * PosixSemaphore.open(name, { create: true }).close();
   * PosixSemaphore.unlink(name);
   * assert.throws(() => PosixSemaphore.unlink(name), Deno.errors.NotFound);
   * ```
   */
  static unlink(name: string): void {
    const c = posixName(name, "semaphore name", NAME_MAX_BYTES);
    ok(libc.sem_unlink(c), "sem_unlink", { path: name });
  }

  /**
   * Makes an unnamed, process-shared semaphore (`pshared` = 1) of value
   * `value` in the first `sizeof(sem_t)` (32) bytes of `view`, which must be
   * over shared memory of this library ({@link PosixSharedMemory},
   * {@link SharedMemory}) so that other processes reach it; they take it with
   * {@link PosixSemaphore.at}. Initialise it once, before anyone uses it.
   *
   * When the shared memory is closed (or remapped by a resize), the handle
   * closes too: its waits end with `BadResource`.
   *
   * Wraps `sem_init(3)`. Needs `--allow-ffi`.
   *
   * @param view where the semaphore goes: a Uint8Array over shared memory, starting on an 8-byte boundary, at least 32 bytes long
   * @param value its value, an integer 0..`SEM_VALUE_MAX` (2^31-1)
   * @returns the semaphore
   * @throws {TypeError} when `view` is not a Uint8Array over the library's shared memory, or that memory is closed; when `value` is not a number
   * @throws {RangeError} when `view` is shorter than 32 bytes or not 8-byte aligned, or `value` is out of range
   *
   * @example
   * ```ts
   * import { PosixSemaphore, PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(4096);
   * using sem = PosixSemaphore.init(shm.bytes.subarray(64), 3);
   * assert.equal(sem.value, 3);
   * ```
   */
  static init(view: Uint8Array, value: number): PosixSemaphore {
    const { mapping, offset } = placeOf(view);
    const v = checkValue(value);
    ok(libc.sem_init(mapping.pointerAt(offset, "sem_init"), 1, v), "sem_init");
    return new PosixSemaphore(null, mapping, offset);
  }

  /**
   * Uses the unnamed semaphore that {@link PosixSemaphore.init} (or a C
   * program's `sem_init(sem, 1, value)`) made at the start of `view`.
   *
   * Needs `--allow-ffi`.
   *
   * @param view where the semaphore is: a Uint8Array over shared memory, starting on an 8-byte boundary, at least 32 bytes long
   * @returns the semaphore
   * @throws {TypeError} when `view` is not a Uint8Array over the library's shared memory, or holds no process-shared semaphore
   * @throws {RangeError} when `view` is shorter than 32 bytes or not 8-byte aligned
   *
   * @example
   * ```ts
   * import { PosixSemaphore, PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(4096);
   * PosixSemaphore.init(shm.bytes, 1).close(); // say, in another process
   * using sem = PosixSemaphore.at(shm.bytes);
   * sem.tryWait();
   * assert.equal(sem.value, 0);
   * ```
   */
  static at(view: Uint8Array): PosixSemaphore {
    const { mapping, offset } = placeOf(view);
    const fields = new Int32Array(mapping.bytes.buffer, offset, SEM_T / 4);
    if (Atomics.load(fields, PRIVATE) !== PROCESS_SHARED) {
      throw new TypeError(
        "view holds no process-shared semaphore: make one there first with " +
          "PosixSemaphore.init (or sem_init with pshared = 1)",
      );
    }
    return new PosixSemaphore(null, mapping, offset);
  }

  /**
   * Whether `close()` (or `destroy()`) has been called on this handle, or
   * the shared memory of an unnamed semaphore has been closed.
   *
   * @example
   * ```ts
   * import { PosixSemaphore, PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(64);
   * const sem = PosixSemaphore.init(shm.bytes, 0);
   * shm.close();
   * assert.equal(sem.closed, true);
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  #closedError(syscall: string): Error {
    return closedError(this.#what, syscall, this.#subject);
  }

  /** The sem_t's address for a call; BadResource (EBADF) once closed. */
  #pointer(syscall: string): Deno.PointerObject {
    if (this.#closed) throw this.#closedError(syscall);
    return this.#ptr;
  }

  /** Takes a token if there is one (value > 0 → value − 1); AGAIN if none. */
  readonly #take = (): undefined | typeof AGAIN => {
    if (this.#closed) throw this.#closedError("sem_wait");
    const words = this.#words;
    for (;;) {
      const v = Atomics.load(words, VALUE);
      if (v === 0) return AGAIN;
      if (Atomics.compareExchange(words, VALUE, v, v - 1) === v) return undefined;
    }
  };

  /** The sync form's blocking call: glibc counts itself in and takes the token. */
  #block(deadline: number): undefined | typeof AGAIN {
    const ptr = this.#pointer("sem_wait");
    const r = deadline === Infinity
      ? libc.sem_wait(ptr)
      : libc.sem_clockwait(ptr, C.CLOCK_MONOTONIC, monotonicAt(deadline));
    if (r === 0) return undefined;
    // EINTR and ETIMEDOUT: the engine tries again or throws TimedOut at the deadline.
    failed(deadline === Infinity ? "sem_wait" : "sem_clockwait", this.#subject, E.ETIMEDOUT);
    return AGAIN;
  }

  #countIn(w: Waiter): void {
    if (w.counted) return;
    Atomics.add(this.#words, WAITERS, 1);
    w.counted = true;
    this.#waiters.add(w);
  }

  #countOut(w: Waiter, took: boolean): void {
    // Not counted: it never parked, or close() counted it out already.
    if (!w.counted) return;
    w.counted = false;
    this.#waiters.delete(w);
    leave(this.#words, this.#word, 1, took);
  }

  /** Counts every async wait of this handle out (they are cancelled). */
  #leaveAll(words: Uint32Array, word: Int32Array): void {
    const n = this.#waiters.size;
    if (n === 0) return;
    for (const w of this.#waiters) w.counted = false;
    this.#waiters.clear();
    leave(words, word, n, false);
  }

  /**
   * Takes a token, waiting without blocking the event loop while the value
   * is 0. It tries at once, then after a short spin; then it counts itself
   * among the semaphore's waiters (so that `sem_post` in any process wakes
   * it) and parks in the engine's one `futex_waitv` for every async wait. A
   * wait that ends without a token (signal, timeout, `close()`) passes on a
   * wake it may have had, so that other waiters, in C too, get the token.
   *
   * Follows `sem_wait(3)`'s protocol (glibc's futex word). Needs `--allow-ffi`.
   *
   * @param options `signal` to cancel, `timeout` in milliseconds
   * @returns a promise that resolves once a token is taken
   * @throws {Deno.errors.TimedOut} when `timeout` passes first (`code: "ETIMEDOUT"`, naming the semaphore)
   * @throws {Deno.errors.BadResource} when the handle is (or gets) closed, or the shared memory of an unnamed semaphore is
   * @throws {TypeError} when `signal` is not an AbortSignal
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   *
   * @example
   * ```ts
   * import { PosixSemaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-wait`;
   * using sem = PosixSemaphore.open(name, { create: true });
   * PosixSemaphore.unlink(name);
   * await assert.rejects(sem.wait({ timeout: 10 }), Deno.errors.TimedOut);
   * sem.post();
   * await sem.wait();
   * ```
   */
  wait(options?: WaitOptions): Promise<void> {
    try {
      checkWaitOptions(options);
      const signal = options?.signal;
      if (signal?.aborted) return rejectedNow(signal.reason);
      if (this.#take() !== AGAIN) return resolvedNow(undefined);
      return this.#park(options);
    } catch (e) {
      return rejectedNow(e);
    }
  }

  async #park(options: WaitOptions | undefined): Promise<void> {
    const waiter: Waiter = { counted: false };
    const ready = this.#ready ??= futexReadiness(this.#word, VALUE, 0);
    const op: Operation<void> = {
      syscall: "sem_wait",
      subject: this.#subject,
      attempt: this.#take,
      source: {
        // Counted in before parking: sem_post wakes only when it sees waiters.
        park: (p) => {
          this.#countIn(waiter);
          return ready.park(p);
        },
        block: ready.block,
      },
    };
    let took = false;
    try {
      await wait(op, options, this.#context);
      took = true;
    } finally {
      this.#countOut(waiter, took);
    }
  }

  /**
   * Takes a token, blocking the thread while the value is 0.
   *
   * Wraps `sem_clockwait(3)` on `CLOCK_MONOTONIC` with a timeout, `sem_wait(3)`
   * without (both retried when a signal interrupts them). Needs `--allow-ffi`.
   *
   * @param options `timeout` in milliseconds
   * @throws {Deno.errors.TimedOut} when `timeout` passes first (`code: "ETIMEDOUT"`, naming the semaphore)
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   *
   * @example
   * ```ts
   * import { PosixSemaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-waitsync`;
   * using sem = PosixSemaphore.open(name, { create: true, value: 1 });
   * PosixSemaphore.unlink(name);
   * sem.waitSync();
   * assert.throws(() => sem.waitSync({ timeout: 10 }), { name: "TimedOut", code: "ETIMEDOUT" });
   * ```
   */
  waitSync(options?: SyncWaitOptions): void {
    this.#pointer("sem_wait");
    waitSync(this.#sync, options, this.#context);
  }

  /**
   * Takes a token if there is one now, without waiting.
   *
   * Does what `sem_trywait(3)` does, on glibc's futex word. Needs `--allow-ffi`.
   *
   * @throws {Deno.errors.WouldBlock} when the value is 0 (`code: "EAGAIN"`)
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { PosixSemaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-trywait`;
   * using sem = PosixSemaphore.open(name, { create: true, value: 1 });
   * PosixSemaphore.unlink(name);
   * sem.tryWait();
   * assert.throws(() => sem.tryWait(), { name: "WouldBlock", code: "EAGAIN" });
   * ```
   */
  tryWait(): void {
    this.#pointer("sem_trywait");
    tryNow(this.#try);
  }

  /**
   * Adds a token, waking one waiter in any process if there are some.
   *
   * Wraps `sem_post(3)`. Needs `--allow-ffi`.
   *
   * @throws {IpcError} EOVERFLOW when the value is `SEM_VALUE_MAX` (2^31-1) already
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { PosixSemaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-post`;
   * using sem = PosixSemaphore.open(name, { create: true, value: 2 ** 31 - 2 });
   * PosixSemaphore.unlink(name);
   * sem.post();
   * assert.throws(() => sem.post(), { code: "EOVERFLOW" });
   * ```
   */
  post(): void {
    ok(libc.sem_post(this.#pointer("sem_post")), "sem_post", this.#subject);
  }

  /**
   * The value now: how many tokens there are (never negative: glibc counts
   * waiters apart). Another process may change it at any moment.
   *
   * Wraps `sem_getvalue(3)`. Needs `--allow-ffi`.
   *
   * @returns the value, 0..2^31-1
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { PosixSemaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-value`;
   * using sem = PosixSemaphore.open(name, { create: true, value: 4 });
   * PosixSemaphore.unlink(name);
   * sem.post();
   * assert.equal(sem.value, 5);
   * ```
   */
  get value(): number {
    ok(
      libc.sem_getvalue(this.#pointer("sem_getvalue"), this.#valueBuf),
      "sem_getvalue",
      this.#subject,
    );
    return this.#valueView[0];
  }

  /**
   * Lets this process exit while a `wait()` on this handle is pending, like
   * `Deno.Conn.unref()`. While the process runs for other reasons, an unref'd wait still
   * completes: it polls without a thread, within 10 ms for its first quarter second, then
   * within 50 ms. Applies to pending waits too.
   *
   * @example
   * ```ts
   * import { PosixSemaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-unref`;
   * using sem = PosixSemaphore.open(name, { create: true });
   * PosixSemaphore.unlink(name);
   * const taken = sem.wait();
   * sem.unref(); // the wait goes on, but no longer keeps the process alive
   * sem.post();
   * sem.ref(); // it keeps the process alive again while it is awaited below
   * await taken;
   * assert.equal(sem.value, 0);
   * ```
   */
  unref(): void {
    this.#waits.ref = false;
  }

  /**
   * Undoes {@link PosixSemaphore.unref}: pending and later waits keep the process
   * alive again (the default).
   *
   * @example
   * ```ts
   * import { PosixSemaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-ref`;
   * using sem = PosixSemaphore.open(name, { create: true });
   * PosixSemaphore.unlink(name);
   * sem.unref();
   * sem.ref();
   * const taken = sem.wait();
   * sem.post();
   * await taken;
   * assert.equal(sem.value, 0);
   * ```
   */
  ref(): void {
    this.#waits.ref = true;
  }

  /**
   * Closes this handle; pending async waits reject with `BadResource`
   * (`EBADF`), each with an error of its own. A named semaphore is closed with
   * `sem_close(3)` (the last handle of a name unmaps it; it lives on until
   * unlinked); an unnamed one is forgotten (the memory and the semaphore in
   * it stay: see {@link PosixSemaphore.destroy}). Closing twice does nothing.
   *
   * Wraps `sem_close(3)` for a named semaphore. Needs `--allow-ffi`.
   *
   * @throws {IpcError} when `sem_close` fails (it does not for a handle of this library)
   *
   * @example
   * ```ts
   * import { PosixSemaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-close`;
   * const sem = PosixSemaphore.open(name, { create: true });
   * PosixSemaphore.unlink(name);
   * const pending = sem.wait();
   * sem.close();
   * await assert.rejects(pending, { name: "BadResource", code: "EBADF", path: name });
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waits.cancelAll((syscall) => this.#closedError(syscall));
    releaseIdle();
    this.#leaveAll(this.#words, this.#word);
    if (this.#watcher !== undefined) {
      this.#watcher.dispose();
      return;
    }
    const entry = opened.get(this.#address)!;
    if (--entry.handles > 0) {
      ok(libc.sem_close(this.#ptr), "sem_close", this.#subject);
      return;
    }
    opened.delete(this.#address);
    entry.mapping.unmap();
  }

  /**
   * The shared memory of this unnamed semaphore is being unmapped: its views
   * are detached already, the memory still mapped. Close, counting the waits
   * out through a view of their own.
   */
  #lost(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waits.cancelAll((syscall) =>
      closedError("semaphore's shared memory", syscall, this.#subject)
    );
    if (this.#waiters.size > 0) {
      const buffer = Deno.UnsafePointerView.getArrayBuffer(this.#ptr, 8);
      this.#leaveAll(new Uint32Array(buffer), new Int32Array(buffer));
      buffer.transfer();
    }
    this.#watcher!.dispose();
  }

  /**
   * Destroys an unnamed semaphore and closes this handle. Do it once no
   * process uses the semaphore any more: after this the memory is free for
   * other uses, or for {@link PosixSemaphore.init} again.
   *
   * Wraps `sem_destroy(3)`. Needs `--allow-ffi`.
   *
   * @throws {TypeError} for a named semaphore (close it, and {@link PosixSemaphore.unlink} its name)
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { PosixSemaphore, PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(64);
   * const sem = PosixSemaphore.init(shm.bytes, 0);
   * sem.destroy();
   * assert.equal(sem.closed, true);
   * ```
   */
  destroy(): void {
    if (this.name !== null) {
      throw new TypeError(
        `${this.#what} is named: close() it and PosixSemaphore.unlink() its name; ` +
          "destroy() is for unnamed semaphores (init)",
      );
    }
    const ptr = this.#pointer("sem_destroy");
    this.close();
    ok(libc.sem_destroy(ptr), "sem_destroy", this.#subject);
  }

  /**
   * Closes this handle (`using`). See {@link PosixSemaphore.close}.
   *
   * @example
   * ```ts
   * import { PosixSemaphore } from "@libc/ipc";
   * const name = `/libc-ipc-doc-${Deno.pid}-dispose`;
   * {
   *   using sem = PosixSemaphore.open(name, { create: true });
   *   sem.post();
   * } // closed here
   * PosixSemaphore.unlink(name);
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }
}
