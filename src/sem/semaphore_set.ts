/**
 * System V semaphore sets: `semget(2)`, `semop(2)`, `semtimedop(2)`,
 * `semctl(2)`.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { AGAIN, E, errorOf, failed, lastErrno, ok } from "../_sys.ts";
import { closedError, errorFromCode, wouldBlockError } from "../errors.ts";
import { addressOf, checkBoolean, checkInteger, checkOptions, ownBuffer } from "../_check.ts";
import type { PathLike } from "../_path.ts";
import {
  checkId,
  ftok,
  getError,
  getFlags,
  keyOf,
  ownershipOf,
  setOwnershipOf,
  type SysvOpenOptions,
  type SysvOwnership,
  type SysvOwnershipChange,
  timeOf,
  withPerm,
} from "../_sysv.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import {
  callSource,
  checkTimeout,
  lazySource,
  napSync,
  NO_THREAD,
  type Operation,
  rejectedNow,
  releaseIdle,
  setTimeLeft,
  type Source,
  Spinner,
  tryNow,
  wait,
  type WaitContext,
  WaitRegistry,
  waitSync,
} from "../_wait/mod.ts";
import {
  blockingOperation,
  checkInt,
  checkValues,
  initialValues,
  operationAt,
  type SemaphoreLimits,
  type SemaphoreOperation,
  SEMBUF_SIZE,
  SembufArray,
  semLimits,
} from "./_sysv_sem.ts";

export type { SemaphoreLimits, SemaphoreOperation } from "./_sysv_sem.ts";
export type { SysvOpenOptions, SysvOwnership, SysvOwnershipChange } from "../_sysv.ts";

/**
 * Options of {@link SemaphoreSet.open}.
 *
 * @example
 * ```ts
 * import type { SemaphoreSetOpenOptions } from "@libc/ipc";
 * const options: SemaphoreSetOpenOptions = { create: true, count: 2, values: [1, 0] };
 * ```
 */
export interface SemaphoreSetOpenOptions extends SysvOpenOptions {
  /** How many members a new set has, 1..`SEMMSL`: needed to create one. An opener may name the fewest it needs. */
  count?: number;
  /** Initial values of a new set (one for all, or one per member), 0..`SEMVMX`; default 0. Set by the creator only. */
  values?: number | readonly number[];
  /** Milliseconds an opener waits for the creator to initialise the set. Default 5000. */
  initTimeout?: number;
}

/**
 * What `semctl(IPC_STAT)` reports about a set. Times are whole seconds from the
 * kernel's coarse clock, which may still read the previous second for a tick (a
 * few ms) after `Date.now()` has entered the next.
 *
 * @example
 * ```ts
 * import { SemaphoreSet, type SemaphoreSetStat } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using set = SemaphoreSet.open("private", { count: 1 });
 * const st: SemaphoreSetStat = set.stat();
 * assert.equal(st.members, 1);
 * set.remove();
 * ```
 */
export interface SemaphoreSetStat extends SysvOwnership {
  /** How many semaphores it has. */
  members: number;
  /** Time of the last `semop`, or `null` (a set this library made is initialised by one). */
  lastOp: Date | null;
  /** Time of the last change (creation, `IPC_SET`, `SETVAL`, `SETALL`). */
  lastChange: Date;
}

const SEMID_DS = LAYOUTS.semid_ds;
const TIMESPEC = LAYOUTS.timespec;
const DEFAULT_INIT_TIMEOUT = 5000;

/** The sync and try forms block in `semop`/`semtimedop` themselves: their source is never used. */
const BLOCKS_ONLY: Source<never> = { park: () => NO_THREAD, block: () => AGAIN };

/**
 * A System V semaphore set: `count` counters in the kernel that processes
 * change together, atomically, with {@link SemaphoreSet.op}: every operation
 * of one call happens at once, or none does and the call waits. The set
 * outlives every process until {@link SemaphoreSet.remove}; a process waiting
 * on it when it is removed wakes at once with `EIDRM`.
 *
 * **Creation without a race.** `semget(2)` makes a set with every value 0, and
 * setting values is a second call: another process could use the set in
 * between. So the creator makes it with `IPC_CREAT | IPC_EXCL` and sets the
 * initial values with **one** `semop` of `+value` operations (no `SEM_UNDO`),
 * which also sets the set's `sem_otime` (an all-zero set gets one
 * wait-for-zero operation, which sets it too). Every other opener, including
 * `create` without `exclusive` that finds the set already there, waits until
 * `sem_otime` is not 0 (`IPC_STAT`, polled every millisecond, blocking the
 * thread) before using it, for `initTimeout` ms at most (then `TimedOut`
 * naming the key: the creator died before initialising it). So an opener
 * never sees the zeros of a set not yet initialised. A set another program
 * made is ready at once when an operation has completed on it (the classic
 * protocol: `SETVAL`s, then a `semop`), or two seconds after it was made or a
 * value was last set (`sem_ctime`): `SETVAL`/`SETALL` alone leave
 * `sem_otime` 0, and a non-zero value may be the first of several. (Only a
 * set of more members with non-zero values than one `semop` takes, `SEMOPM`,
 * is set with `SETALL` first, one unit short, then marked with a `semop` of
 * that unit.)
 *
 * **Undo.** An operation with `undo: true` (`SEM_UNDO`) records the opposite
 * adjustment for this process; when it ends, even killed, the kernel applies
 * it, so a lock holder that dies gives the lock back. Without it, what a dead
 * process took stays taken. An undo entry holds at most
 * `SemaphoreSet.limits().maxUndo` (`SEMAEM`, 32767 on Linux) either way, and a
 * value at most `limits().maxValue` (`SEMVMX`, 32767): an operation that would
 * pass either fails with `ERANGE`. `setValue()`/`setValues()` clear the undo
 * entries of the members they set, in every process.
 *
 * Every blocking operation has the three forms of the library: `op()` returns
 * a promise and never blocks the event loop (after a short spin it parks the
 * `semop` itself on one of Deno's pool threads, so it wakes as soon as the
 * kernel lets it through; an abort, a timeout or `close()` ends it at once
 * with a signal to that thread, and an operation that took effect meanwhile
 * is reported done, never lost), `opSync()` blocks the thread in
 * `semtimedop(2)`, `tryOp()` never waits.
 *
 * Wraps `semget(2)`, `semop(2)`, `semtimedop(2)`, `semctl(2)` and `ftok(3)`.
 * Needs `--allow-ffi`.
 *
 * @example Two members changed together: take one of each, or wait
 * ```ts
 * import { SemaphoreSet } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using set = SemaphoreSet.open("private", { count: 2, values: [1, 0] });
 * assert.throws(() => set.tryOp([{ index: 0, delta: -1 }, { index: 1, delta: -1 }]), Deno.errors.WouldBlock);
 * assert.deepEqual(set.values(), [1, 0]); // neither changed
 * set.opSync([{ index: 1, delta: 1 }]);
 * await set.op([{ index: 0, delta: -1 }, { index: 1, delta: -1 }]);
 * assert.deepEqual(set.values(), [0, 0]);
 * set.remove();
 * ```
 */
export class SemaphoreSet implements Disposable {
  /** The set id (`semid`). */
  readonly id: number;
  /** The key it was opened by (0 for `"private"` or {@link SemaphoreSet.fromId}). */
  readonly key: number;
  /** How many semaphores it has. */
  readonly count: number;
  #closed = false;
  readonly #subject: { id: number };
  readonly #waits = new WaitRegistry();
  readonly #context: WaitContext = { spinner: new Spinner(), registry: this.#waits };
  readonly #gives: WaitContext = { registry: this.#waits, keepsAlive: true };
  /** The operations of the sync and try forms, and of an async one until it has to wait. */
  readonly #ops = new SembufArray();
  readonly #shared: Operation<void>;
  readonly #timeout = new Uint8Array(TIMESPEC.size);
  readonly #timeoutView = new DataView(this.#timeout.buffer);
  #valuesBuf?: Uint16Array<ArrayBuffer>;
  #scratch?: Int32Array;
  /** The poll clock's tick of the last `GETALL` for polling operations, and whether it worked. */
  #readAt = NaN;
  #valuesRead = false;

  private constructor(id: number, key: number, count: number) {
    this.id = id;
    this.key = key;
    this.count = count;
    this.#subject = { id };
    this.#shared = {
      syscall: "semop",
      subject: this.#subject,
      attempt: () =>
        this.#attempt(this.#ops.try, this.#ops.wait, this.#ops.length, this.#ops.noWait),
      source: BLOCKS_ONLY,
      block: (deadline) => this.#block(deadline),
    };
  }

  /**
   * Opens (or with `create`, creates) the set of `key` (`semget(2)`). A new
   * set gets its initial values before any other opener can use it (see the
   * class). Opening an existing set asks for no permission bits, as
   * `semget(key, 0, 0)` does, then reads its size and waits for its
   * initialisation with `semctl(IPC_STAT)`, which needs read permission.
   *
   * Needs `--allow-ffi`.
   *
   * @param key a key (a 32-bit integer, e.g. from {@link SemaphoreSet.ftok}) or
   *   `"private"` for a new set only this process knows the id of (`IPC_PRIVATE`)
   * @param options `create`, `exclusive`, `mode` (default 0600), `count`, `values`, `initTimeout`
   * @returns the set
   * @throws {TypeError} when `key` is neither a number nor `"private"`, `options` is not an
   *   object, `count` is missing to create a set, `exclusive` comes without `create`, or an
   *   option has the wrong type
   * @throws {RangeError} for a `key` that is not a 32-bit integer (-2^31..2^32-1) or is 0 (pass
   *   `"private"`), a `mode` outside 0..0o777, a `count`
   *   outside 1..`SEMMSL`, values outside 0..`SEMVMX` or not one per member, a negative `initTimeout`
   * @throws {Deno.errors.NotFound} no set has that key and `create` is not set
   * @throws {Deno.errors.AlreadyExists} with `create` and `exclusive`, when it exists
   * @throws {Deno.errors.PermissionDenied} when the mode denies this user
   * @throws {Deno.errors.TimedOut} when the set's creator has not initialised it within `initTimeout`
   * @throws {IpcError} EINVAL when the existing set has fewer members than `count`; ENOSPC when
   *   the system has `SEMMNI` sets already
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 3, values: 2 });
   * assert.deepEqual(set.values(), [2, 2, 2]);
   * set.remove();
   * ```
   */
  static open(key: number | "private", options: SemaphoreSetOpenOptions = {}): SemaphoreSet {
    const key32 = keyOf(key, "semaphore set");
    checkOptions(options);
    const count = options.count === undefined ? undefined : countOf(options.count);
    const initTimeout = checkTimeout(options.initTimeout ?? DEFAULT_INIT_TIMEOUT, "initTimeout");
    const create = checkBoolean(options.create, "create", false) || key === "private";
    const exclusive = checkBoolean(options.exclusive, "exclusive", false);
    // The caller's pair checked as given (exclusive needs create), then asked of
    // semget as create + exclusive: an existing set is opened apart, below.
    getFlags(key, options);
    const flags = getFlags(key, { mode: options.mode, create: true, exclusive: true });
    const keyOut = key === "private" ? 0 : key32;
    const about = { key: key32 };
    if (create) {
      if (count === undefined) throw new TypeError("count is needed to create a semaphore set");
      const values = initialValues(options.values, count);
      const id = libc.semget(key32, count, flags);
      if (id >= 0) return SemaphoreSet.#initialise(id, keyOut, values);
      const code = lastErrno();
      if (code !== E.EEXIST || exclusive) throw getError(code, "semget", about);
    }
    const id = libc.semget(key32, count ?? 0, 0);
    if (id < 0) {
      const code = lastErrno();
      throw code === E.EINVAL && count !== undefined
        ? errorFromCode(code, "semget", about, `the set has fewer than ${count} members`)
        : errorOf(code, "semget", about);
    }
    return new SemaphoreSet(id, keyOut, initialised(id, key32, initTimeout));
  }

  /** Sets the values of the set just made with one semop (which marks it initialised). */
  static #initialise(id: number, key: number, values: number[]): SemaphoreSet {
    const set = new SemaphoreSet(id, key, values.length);
    try {
      const ops: SemaphoreOperation[] = [];
      for (let index = 0; index < values.length; index++) {
        if (values[index] > 0) ops.push({ index, delta: values[index] });
      }
      // An all-zero set: wait-for-zero on a zero passes at once, and sets sem_otime too.
      if (ops.length === 0) ops.push({ index: 0, delta: 0 });
      if (ops.length > semLimits().maxOpsPerCall) {
        // SETALL with one member a unit short, which one semop (any SEMOPM takes one) then
        // raises: that marks the set initialised.
        const last = ops[ops.length - 1].index;
        set.setValues(values.map((v, i) => i === last ? v - 1 : v));
        ops.length = 0;
        ops.push({ index: last, delta: 1 });
      }
      set.tryOp(ops);
      return set;
    } catch (e) {
      libc.semctl(id, 0, C.IPC_RMID, null);
      set.close();
      throw e;
    }
  }

  /**
   * Uses an existing set by its id (e.g. one a parent passed on), checking it
   * exists and reading its size with `semctl(IPC_STAT)`, which needs read
   * permission on the set. It does not wait for the set's initialisation: an
   * id comes from a set already opened, hence initialised.
   *
   * Wraps `semctl(2)`. Needs `--allow-ffi`.
   *
   * @param id the set id
   * @returns the set
   * @throws {TypeError} when `id` is not a number
   * @throws {RangeError} when `id` is not an integer 0..2^31-1
   * @throws {IpcError} EINVAL when no set has that id
   * @throws {Deno.errors.PermissionDenied} when this user may not read the set
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 2 });
   * using same = SemaphoreSet.fromId(set.id);
   * assert.equal(same.count, 2);
   * set.remove();
   * ```
   */
  static fromId(id: number): SemaphoreSet {
    id = checkId(id);
    return new SemaphoreSet(id, 0, Number(statOf(id, { id }).sem_nsems));
  }

  /**
   * Derives a key from an existing file and a project id (`ftok(3)`): processes
   * that agree on both get the same set. The key is built from the file's
   * device and inode numbers, so a file deleted and created again may give another key.
   *
   * Needs `--allow-ffi`.
   *
   * @param path an existing file
   * @param projId 1..255 (only the low 8 bits count, and 0 is not allowed)
   * @returns the key
   * @throws {TypeError} for an empty path, a path with a NUL, a URL that is not `file:`, or a
   *   `projId` that is not a number
   * @throws {RangeError} when `projId` is not an integer 1..255
   * @throws {Deno.errors.NotFound} when `path` does not exist
   * @throws {Deno.errors.PermissionDenied} when a directory on the way to `path` is not searchable
   * @throws {Deno.errors.NotADirectory} when a component of `path` is not a directory
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * assert.equal(SemaphoreSet.ftok("/", 7), SemaphoreSet.ftok("/", 7));
   * ```
   */
  static ftok(path: PathLike, projId: number): number {
    return ftok(path, projId);
  }

  /**
   * The kernel's System V semaphore limits, read once per process with
   * `semctl(0, 0, IPC_INFO)`: the largest value (`SEMVMX`) and undo adjustment
   * (`SEMAEM`), the operations per call (`SEMOPM`), members per set
   * (`SEMMSL`) and sets in the system (`SEMMNI`).
   *
   * Wraps `semctl(2)`. Needs `--allow-ffi`.
   *
   * @returns the limits
   * @throws {IpcError} EINVAL where the kernel lacks `IPC_INFO`
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const { maxValue, maxOpsPerCall } = SemaphoreSet.limits();
   * assert.ok(maxValue >= 32767 && maxOpsPerCall >= 1);
   * ```
   */
  static limits(): SemaphoreLimits {
    return semLimits();
  }

  /**
   * Whether `close()` (or `remove()`) has been called on this handle.
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const set = SemaphoreSet.open("private", { count: 1 });
   * set.remove();
   * assert.equal(set.closed, true);
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /** The id, for an operation about to call `syscall`; BadResource (EBADF) after `close()`. */
  #idFor(syscall: string): number {
    if (this.#closed) throw closedError(`semaphore set ${this.id}`, syscall, this.#subject);
    return this.id;
  }

  /**
   * The errors of this set's calls: a set removed while we waited (or before
   * this call) is EINVAL to every call but one asleep in the kernel, which
   * sees EIDRM. Say EIDRM whenever the id, which named a set when this handle
   * was made, names none any more.
   */
  readonly #about = (code: number, syscall: string): Error => {
    if (code === E.EINVAL && this.#gone()) code = E.EIDRM;
    const e = errorOf(code, syscall, this.#subject);
    if (code === E.ERANGE && syscall !== "semctl") {
      // The values are the kernel's to check, atomically: say which limits they met.
      e.message += " (a value would pass SEMVMX, or an undo adjustment SEMAEM: operations with " +
        "undo that this process has not reversed add up, as a Semaphore acquired in a loop with " +
        "its default undo: true and never released does; see limits())";
    }
    return e;
  };

  #gone(): boolean {
    if (libc.semctl(this.id, 0, C.IPC_STAT, new Uint8Array(SEMID_DS.size)) >= 0) return false;
    const code = lastErrno();
    return code === E.EINVAL || code === E.EIDRM;
  }

  // ------------------------------------------------------------ operations

  /** One try of `n` operations without waiting; WouldBlock when a `wait: false` one stops it. */
  #attempt(
    tryOps: Uint8Array,
    waitOps: Uint8Array,
    n: number,
    noWait: boolean,
  ): void | typeof AGAIN {
    const id = this.#idFor("semop");
    while (libc.semop(id, tryOps, n) < 0) {
      if (failed("semop", this.#about) === AGAIN) {
        if (noWait) this.#stopsHere(waitOps, n);
        return AGAIN;
      }
    }
  }

  /**
   * After a try failed with EAGAIN: throws WouldBlock if the operation the
   * kernel stops at has `wait: false`, as `semop` would with the caller's own
   * flags. Decided from the values now (`GETALL`), applying the operations in
   * order as the kernel does. Another process may change the values between
   * the try and this read: then the call waits and tries again (or fails) on
   * what it reads next, as if it had come a moment later.
   */
  #stopsHere(waitOps: Uint8Array, n: number): void {
    const at = this.#stopAt(waitOps, n, this.#readValues());
    if (at < 0) return;
    const { index, delta, flags } = operationAt(waitOps, at);
    if ((flags & C.IPC_NOWAIT) === 0) return;
    throw wouldBlockError(
      "semop",
      this.#subject,
      E.EAGAIN,
      `operation ${at} (index ${index}, delta ${delta}) cannot proceed and has wait: false`,
    );
  }

  /** The sync form's blocking call: `semtimedop` until the deadline, `semop` without one. */
  #block(deadline: number): void | typeof AGAIN {
    const id = this.#idFor("semop");
    const { wait: ops, length: n } = this.#ops;
    if (deadline === Infinity) {
      if (libc.semop(id, ops, n) >= 0) return;
      failed("semop", this.#about); // throws unless interrupted (EINTR) or EAGAIN
      return AGAIN;
    }
    setTimeLeft(this.#timeoutView, deadline);
    if (libc.semtimedop(id, ops, n, this.#timeout) >= 0) return;
    // EAGAIN: the time is up, or a `wait: false` operation stopped it; the engine's next try tells.
    failed("semtimedop", this.#about);
    return AGAIN;
  }

  /** The async form of the operations laid out in the shared array, as an operation of the engine. */
  #asyncOp(): Operation<void> {
    // The shared arrays belong to the next call: an operation that has to wait
    // takes copies of its own first (before it yields; the address of its
    // parked array also tells the parked call's thread apart).
    const n = this.#ops.length;
    const noWait = this.#ops.noWait;
    const size = n * SEMBUF_SIZE;
    let tryOps = this.#ops.try;
    let waitOps = this.#ops.wait;
    let owned = false;
    const own = () => {
      if (!owned) {
        owned = true;
        tryOps = tryOps.slice(0, size);
        const copy = ownBuffer(size);
        copy.set(waitOps.subarray(0, size));
        waitOps = copy;
      }
      return waitOps;
    };
    const source = () =>
      callSource({
        syscall: "semop",
        about: this.#about,
        start: () => libc.semop_parked(this.id, own(), n),
        run: () => libc.semop(this.id, own(), n),
        done: () => undefined,
        key: `semop ${this.id} ${own().join(",")}`,
        thread: () => ({ syscall: C.SYS_semtimedop, arg: 1, value: addressOf(own()) }),
      });
    return {
      syscall: "semop",
      subject: this.#subject,
      attempt: () => {
        if (this.#attempt(tryOps, waitOps, n, noWait) !== AGAIN) return undefined;
        own();
        return AGAIN;
      },
      source: lazySource(source),
      mayBeReady: (now) => this.#letsThrough(waitOps, n, now),
    };
  }

  /**
   * Whether the values let `n` operations through, from values read once per
   * poll-clock tick `now` (`GETALL`) for all the operations polling the set;
   * true when they cannot be read (the operation's own try then decides).
   */
  #letsThrough(ops: Uint8Array, n: number, now: number): boolean {
    if (now !== this.#readAt) {
      this.#readAt = now;
      this.#valuesRead = this.#getAll(this.id) >= 0;
    }
    return !this.#valuesRead || this.#stopAt(ops, n, this.#valuesBuf!) < 0;
  }

  /** The operation at which `n` operations stop on `values`, applied in order as the kernel does; -1: none. */
  #stopAt(ops: Uint8Array, n: number, values: Uint16Array): number {
    const scratch = this.#scratch ??= new Int32Array(this.count);
    for (let i = 0; i < this.count; i++) scratch[i] = values[i];
    return blockingOperation(ops, n, scratch);
  }

  /**
   * Performs the operations atomically (`semop(2)`): all at once, or none and
   * wait, without blocking the event loop, until all can proceed. An aborted
   * `signal`, the timeout or `close()` rejects; but operations the parked call
   * performed before the abort landed have taken effect, and the promise then
   * resolves. The set's removal rejects at once with `EIDRM`.
   *
   * Needs `--allow-ffi`.
   *
   * @param ops 1..`SEMOPM` operations `{ index, delta, undo?, wait? }`
   * @param options `signal`, `timeout`
   * @returns a promise that resolves once the operations are done
   * @throws {TypeError} when `ops` is not an array of objects, a field has the wrong type, or `signal` is not an AbortSignal
   * @throws {RangeError} for an `index` outside 0..count-1, a `delta` beyond ±`SEMVMX`, more than
   *   `SEMOPM` operations or none, or a `timeout` that is not a number ≥ 0
   * @throws {Deno.errors.WouldBlock} when an operation with `wait: false` cannot proceed
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {IpcError} EIDRM when the set is removed; ERANGE when a value or undo entry would pass `SEMVMX`/`SEMAEM`
   * @throws {Deno.errors.BadResource} when the handle is (or gets) closed
   * @throws {Deno.errors.PermissionDenied} when this user may not change the set (or, with a
   *   `wait: false` operation that has to be judged, read its values)
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 1 });
   * const taken = set.op([{ index: 0, delta: -2 }], { timeout: 5000 });
   * set.opSync([{ index: 0, delta: 3 }]);
   * await taken;
   * assert.equal(set.value(0), 1);
   * set.remove();
   * ```
   */
  op(ops: readonly SemaphoreOperation[], options?: WaitOptions): Promise<void> {
    try {
      this.#ops.set(ops, this.count);
      return wait(this.#asyncOp(), options, this.#contextOf());
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Performs the operations atomically, blocking the thread until all can
   * proceed (the kernel wakes it at once, also when the set is removed), or
   * `timeout` passes.
   *
   * Wraps `semtimedop(2)` (`semop(2)` without a timeout). Needs `--allow-ffi`.
   *
   * @param ops 1..`SEMOPM` operations `{ index, delta, undo?, wait? }`
   * @param options `timeout`
   * @throws {TypeError} when `ops` is not an array of objects or a field has the wrong type
   * @throws {RangeError} as {@link SemaphoreSet.op}
   * @throws {Deno.errors.WouldBlock} when an operation with `wait: false` cannot proceed
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {IpcError} EIDRM when the set is removed; ERANGE as {@link SemaphoreSet.op}
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 1, values: 1 });
   * set.opSync([{ index: 0, delta: -1 }]);
   * assert.throws(() => set.opSync([{ index: 0, delta: -1 }], { timeout: 10 }), Deno.errors.TimedOut);
   * set.remove();
   * ```
   */
  opSync(ops: readonly SemaphoreOperation[], options?: SyncWaitOptions): void {
    this.#ops.set(ops, this.count);
    waitSync(this.#shared, options, this.#contextOf());
  }

  /**
   * Performs the operations atomically if all can proceed now, without
   * waiting (`IPC_NOWAIT` on every one).
   *
   * Wraps `semop(2)`. Needs `--allow-ffi`.
   *
   * @param ops 1..`SEMOPM` operations `{ index, delta, undo?, wait? }`
   * @throws {Deno.errors.WouldBlock} (`EAGAIN`) when they would have to wait
   * @throws {TypeError} when `ops` is not an array of objects or a field has the wrong type
   * @throws {RangeError} as {@link SemaphoreSet.op}
   * @throws {IpcError} EIDRM when the set has been removed; ERANGE as {@link SemaphoreSet.op}
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 1 });
   * assert.throws(() => set.tryOp([{ index: 0, delta: -1 }]), Deno.errors.WouldBlock);
   * set.tryOp([{ index: 0, delta: 0 }]); // it is zero: passes
   * set.remove();
   * ```
   */
  tryOp(ops: readonly SemaphoreOperation[]): void {
    this.#ops.set(ops, this.count);
    tryNow(this.#shared);
  }

  /**
   * The wait context of the operations just set. Operations that only add
   * never wait, so they leave the spinner alone: its first-try yield, learned
   * from the operations that do wait, would hand the CPU to a peer that has
   * nothing to do yet (measured on one CPU, async ping-pong of +1/-1 with
   * `deno task bench:compare:shm`: 39–41 → 25–27 µs per round trip).
   */
  #contextOf(): WaitContext {
    return this.#ops.onlyGive ? this.#gives : this.#context;
  }

  // ---------------------------------------------------------------- values

  #index(index: number, syscall = "semctl"): number {
    this.#idFor(syscall);
    return checkInt(index, "index", this.count - 1, `the set has ${this.count} members`);
  }

  /** One `semctl` command on member `index` that returns a number. */
  #query(index: number, cmd: number): number {
    return ok(libc.semctl(this.id, this.#index(index), cmd, null), "semctl", this.#about);
  }

  /** The values (`GETALL`), into a buffer kept for the next read. */
  #readValues(): Uint16Array {
    ok(this.#getAll(this.#idFor("semctl")), "semctl", this.#about);
    return this.#valuesBuf!;
  }

  /** `semctl(id, GETALL)` into the values buffer; the call's result. */
  #getAll(id: number): number {
    const values = this.#valuesBuf ??= new Uint16Array(this.count);
    return libc.semctl(id, 0, C.GETALL, values);
  }

  /**
   * The value of member `index` (`semctl(GETVAL)`).
   *
   * Needs `--allow-ffi`.
   *
   * @param index 0..count-1
   * @returns its value
   * @throws {RangeError} when `index` is not an integer 0..count-1
   * @throws {IpcError} EIDRM when the set has been removed
   * @throws {Deno.errors.PermissionDenied} when this user may not read the set
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 2, values: [4, 5] });
   * assert.equal(set.value(1), 5);
   * set.remove();
   * ```
   */
  value(index: number): number {
    return this.#query(index, C.GETVAL);
  }

  /**
   * Every member's value, in one call (`semctl(GETALL)`).
   *
   * Needs `--allow-ffi`.
   *
   * @returns the values, by index
   * @throws {IpcError} EIDRM when the set has been removed
   * @throws {Deno.errors.PermissionDenied} when this user may not read the set
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 3, values: [1, 2, 3] });
   * assert.deepEqual(set.values(), [1, 2, 3]);
   * set.remove();
   * ```
   */
  values(): number[] {
    return Array.from(this.#readValues());
  }

  /**
   * Sets member `index` to `value` (`semctl(SETVAL)`): processes waiting on it
   * wake if they now may proceed, and every process's undo entry for it is
   * cleared.
   *
   * Needs `--allow-ffi`.
   *
   * @param index 0..count-1
   * @param value 0..`SEMVMX`
   * @throws {RangeError} when `index` or `value` is out of range
   * @throws {IpcError} EIDRM when the set has been removed
   * @throws {Deno.errors.PermissionDenied} when this user may not change the set
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 1 });
   * set.setValue(0, 7);
   * assert.equal(set.value(0), 7);
   * set.remove();
   * ```
   */
  setValue(index: number, value: number): void {
    const i = this.#index(index);
    const v = checkInt(value, "value", semLimits().maxValue, "SEMVMX");
    ok(libc.semctl_value(this.id, i, C.SETVAL, v), "semctl", this.#about);
  }

  /**
   * Sets every member's value in one call (`semctl(SETALL)`); as
   * {@link SemaphoreSet.setValue} for each.
   *
   * Needs `--allow-ffi`.
   *
   * @param values one per member, each 0..`SEMVMX`
   * @throws {TypeError} when `values` is not an array
   * @throws {RangeError} when it does not hold one value per member, or a value is out of range
   * @throws {IpcError} EIDRM when the set has been removed
   * @throws {Deno.errors.PermissionDenied} when this user may not change the set
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 2 });
   * set.setValues([3, 9]);
   * assert.deepEqual(set.values(), [3, 9]);
   * set.remove();
   * ```
   */
  setValues(values: readonly number[]): void {
    this.#idFor("semctl");
    const checked = Uint16Array.from(checkValues(values, this.count));
    ok(
      libc.semctl(this.id, 0, C.SETALL, new Uint8Array(checked.buffer)),
      "semctl",
      this.#about,
    );
  }

  /**
   * How many processes (threads) wait for member `index` to grow: their
   * operation takes more than it holds (`semctl(GETNCNT)`).
   *
   * Needs `--allow-ffi`.
   *
   * @param index 0..count-1
   * @returns the number of waiters
   * @throws {RangeError} when `index` is not an integer 0..count-1
   * @throws {IpcError} EIDRM when the set has been removed
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 1 });
   * assert.equal(set.waitingForIncrease(0), 0);
   * set.remove();
   * ```
   */
  waitingForIncrease(index: number): number {
    return this.#query(index, C.GETNCNT);
  }

  /**
   * How many processes (threads) wait for member `index` to become 0
   * (`semctl(GETZCNT)`).
   *
   * Needs `--allow-ffi`.
   *
   * @param index 0..count-1
   * @returns the number of waiters
   * @throws {RangeError} when `index` is not an integer 0..count-1
   * @throws {IpcError} EIDRM when the set has been removed
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 1, values: 1 });
   * assert.equal(set.waitingForZero(0), 0);
   * set.remove();
   * ```
   */
  waitingForZero(index: number): number {
    return this.#query(index, C.GETZCNT);
  }

  /**
   * The process that last operated on member `index` (`semctl(GETPID)`): 0
   * if none has yet. `semop` and `SETVAL`/`SETALL` count.
   *
   * Needs `--allow-ffi`.
   *
   * @param index 0..count-1
   * @returns its process id
   * @throws {RangeError} when `index` is not an integer 0..count-1
   * @throws {IpcError} EIDRM when the set has been removed
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 1, values: 1 });
   * assert.equal(set.pid(0), Deno.pid); // its creator set it
   * set.remove();
   * ```
   */
  pid(index: number): number {
    return this.#query(index, C.GETPID);
  }

  // ------------------------------------------------------------ management

  /**
   * The set's state (`semctl(IPC_STAT)`).
   *
   * Needs `--allow-ffi`.
   *
   * @returns size, times, owner and mode
   * @throws {IpcError} EIDRM when the set no longer exists
   * @throws {Deno.errors.PermissionDenied} when this user may not read the set
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 4 });
   * const st = set.stat();
   * assert.deepEqual([st.members, st.mode, st.uid], [4, 0o600, Deno.uid()]);
   * set.remove();
   * ```
   */
  stat(): SemaphoreSetStat {
    const ds = statOf(this.#idFor("semctl"), this.#about);
    const perm = ds.sem_perm;
    return {
      ...ownershipOf(perm),
      members: Number(ds.sem_nsems),
      lastOp: timeOf(ds.sem_otime),
      lastChange: timeOf(ds.sem_ctime) ?? new Date(0),
    };
  }

  /**
   * Changes the set's owner (`uid`, `gid`) or permission bits (`mode`), as
   * sysv_ipc's `uid`/`gid`/`mode` setters and C's `semctl(IPC_SET)` after
   * `IPC_STAT` do: the fields given are set, the others stay as they are;
   * the creator stays the creator. Only the owner, the creator or a process
   * with `CAP_SYS_ADMIN` may do it, and they may give the set to any user.
   *
   * Wraps `semctl(2)` (`IPC_STAT`, then `IPC_SET`). Needs `--allow-ffi`.
   *
   * @param change `uid`, `gid` (0..2^32-2) and `mode` (0..0o777), each optional
   * @throws {TypeError} when `change` is not an object, has another key (`owner`, `perms`),
   *   or a field is not a number
   * @throws {RangeError} when `uid` or `gid` is not an integer 0..2^32-2 (2^32-1 is
   *   `(uid_t)-1`), or `mode` not one 0..0o777
   * @throws {Deno.errors.PermissionDenied} EACCES when this user may not read the set; EPERM
   *   when it is neither the owner nor the creator, and lacks `CAP_SYS_ADMIN`
   * @throws {IpcError} EINVAL when `uid` or `gid` has no mapping in this user namespace; EIDRM
   *   when the set has been removed
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 2 });
   * set.setOwnership({ mode: 0o640, gid: Deno.gid()! });
   * assert.deepEqual([set.stat().mode, set.stat().gid], [0o640, Deno.gid()]);
   * set.remove();
   * ```
   */
  setOwnership(change: SysvOwnershipChange): void {
    this.#idFor("semctl");
    setOwnershipOf(change, {
      stat: () => statOf(this.#idFor("semctl"), this.#about),
      perm: (ds) => ds.sem_perm,
      set: (ds) => libc.semctl(this.id, 0, C.IPC_SET, SEMID_DS.encode(ds)),
      error: (code) => this.#about(code, "semctl"),
      unreadable: () => withPerm(SEMID_DS.decode(new Uint8Array(SEMID_DS.size)), "sem", this.id),
    });
  }

  /**
   * Destroys the set (`semctl(IPC_RMID)`): every process waiting on it wakes
   * with `EIDRM`. This handle is closed too.
   *
   * Needs `--allow-ffi`.
   *
   * @throws {Deno.errors.PermissionDenied} when this user may not remove it (neither its owner nor its creator)
   * @throws {IpcError} EIDRM when the set no longer exists
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const set = SemaphoreSet.open("private", { count: 1 });
   * set.remove();
   * assert.throws(() => SemaphoreSet.fromId(set.id), { code: "EINVAL" });
   * ```
   */
  remove(): void {
    ok(libc.semctl(this.#idFor("semctl"), 0, C.IPC_RMID, null), "semctl", this.#about);
    this.close();
  }

  /**
   * Lets this process exit while an `op` on this handle that waits is pending, like
   * `Deno.Conn.unref()`. Operations that only add never wait. While the process runs for other
   * reasons, an unref'd wait still completes: it polls without a thread, within 10 ms for its
   * first quarter second, then within 50 ms. Applies to pending waits too.
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 1 });
   * const taken = set.op([{ index: 0, delta: -1 }]);
   * set.unref(); // the op goes on, but no longer keeps the process alive
   * set.setValue(0, 1);
   * set.ref(); // it keeps the process alive again while it is awaited below
   * await taken;
   * assert.equal(set.value(0), 0);
   * set.remove();
   * ```
   */
  unref(): void {
    this.#waits.ref = false;
  }

  /**
   * Undoes {@link SemaphoreSet.unref}: pending and later waits keep the process
   * alive again (the default).
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using set = SemaphoreSet.open("private", { count: 1 });
   * set.unref();
   * set.ref();
   * const taken = set.op([{ index: 0, delta: -1 }]);
   * set.setValue(0, 1);
   * await taken;
   * assert.equal(set.value(0), 0);
   * set.remove();
   * ```
   */
  ref(): void {
    this.#waits.ref = true;
  }

  /**
   * Closes this handle (the set itself lives on: see {@link SemaphoreSet.remove});
   * pending waits reject with `BadResource` (`EBADF`), each with an error of
   * its own. Closing twice does nothing. No system call: a System V set id
   * is not a descriptor.
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const set = SemaphoreSet.open("private", { count: 1 });
   * const pending = set.op([{ index: 0, delta: -1 }]);
   * set.close();
   * await assert.rejects(pending, { name: "BadResource", code: "EBADF", id: set.id });
   * SemaphoreSet.fromId(set.id).remove(); // the set outlived the handle
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waits.cancelAll((syscall) =>
      closedError(`semaphore set ${this.id}`, syscall, this.#subject)
    );
    releaseIdle();
  }

  /**
   * Closes this handle (`using`); the set lives on. See {@link SemaphoreSet.close}.
   *
   * @example
   * ```ts
   * import { SemaphoreSet } from "@libc/ipc";
   * let id: number;
   * {
   *   using set = SemaphoreSet.open("private", { count: 1 });
   *   id = set.id;
   * } // closed here
   * SemaphoreSet.fromId(id).remove();
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** The number of members of a set: 1..SEMMSL. */
function countOf(count: unknown): number {
  const { maxMembers } = semLimits();
  return checkInteger(count, "count", 1, maxMembers, `1..${maxMembers} (SEMMSL)`);
}

/** `semctl(IPC_STAT)` of set `id`, decoded. */
function statOf(
  id: number,
  about: Parameters<typeof ok>[2],
): ReturnType<typeof SEMID_DS.decode> {
  const buf = new Uint8Array(SEMID_DS.size);
  ok(libc.semctl(id, 0, C.IPC_STAT, buf), "semctl", about);
  return SEMID_DS.decode(buf);
}

/** How old (by `sem_ctime`, whole seconds) a set no operation has marked is when taken as it is. */
const SETTLED_S = 2;

/**
 * Waits until the set `id` is initialised, polling every millisecond for `ms`
 * at most; returns its number of members. A set is initialised once an
 * operation has completed on it (`sem_otime` set: this library's creator
 * initialises with one `semop`, the classic protocol ends with one), or once
 * {@link SETTLED_S} seconds have passed since it was made or a value was last
 * set (`sem_ctime`): a set another program made and set with `SETVAL` or
 * `SETALL` alone, or left with the kernel's 0s, since no creator takes that
 * long between its calls. A non-zero value says nothing: a creator setting
 * one member at a time has set the first.
 */
function initialised(id: number, key: number, ms: number): number {
  const deadline = performance.now() + ms;
  for (;;) {
    const ds = statOf(id, { key, id });
    const count = Number(ds.sem_nsems);
    if (ds.sem_otime !== 0n) return count;
    if (Math.floor(Date.now() / 1000) - Number(ds.sem_ctime) >= SETTLED_S) return count;
    if (performance.now() >= deadline) {
      throw errorFromCode(
        E.ETIMEDOUT,
        "semget",
        { key },
        `its creator did not initialise it within ${ms} ms (no operation has completed on it, ` +
          `and it was made, or a value set, less than ${SETTLED_S} s ago)`,
        "Timed out",
      );
    }
    napSync(1);
  }
}
