/**
 * One System V semaphore: a lock or a counting semaphore over member 0 of a
 * set, with `SEM_UNDO` by default so a holder that dies gives it back.
 *
 * @module
 */
import { rejectedNow } from "../_wait/mod.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import type { SysvOpenOptions, SysvOwnershipChange } from "../_sysv.ts";
import { checkInt, type SemaphoreOperation, semLimits } from "./_sysv_sem.ts";
import { checkBoolean, checkInteger, checkOptions } from "../_check.ts";
import { SemaphoreSet, type SemaphoreSetStat } from "./semaphore_set.ts";

/**
 * Options of {@link Semaphore.open}.
 *
 * @example
 * ```ts
 * import type { SemaphoreOpenOptions } from "@libc/ipc";
 * const options: SemaphoreOpenOptions = { create: true, value: 3 };
 * ```
 */
export interface SemaphoreOpenOptions extends SysvOpenOptions {
  /** The initial value of a new semaphore, 0..`SEMVMX`; default 1 (a free lock). Set by the creator only. */
  value?: number;
  /** Milliseconds an opener waits for the creator to initialise it. Default 5000. */
  initTimeout?: number;
}

/**
 * Options of {@link Semaphore.acquire}.
 *
 * @example
 * ```ts
 * import type { SemaphoreAcquireOptions } from "@libc/ipc";
 * const options: SemaphoreAcquireOptions = { undo: false, timeout: 1000 };
 * ```
 */
export interface SemaphoreAcquireOptions extends SemaphoreReleaseOptions, WaitOptions {}

/**
 * Options of {@link Semaphore.release}, and of the acquire forms that do not wait.
 *
 * @example
 * ```ts
 * import type { SemaphoreReleaseOptions } from "@libc/ipc";
 * const options: SemaphoreReleaseOptions = { undo: false, count: 3 };
 * ```
 */
export interface SemaphoreReleaseOptions {
  /**
   * Record the adjustment the kernel undoes when this process ends
   * (`SEM_UNDO`): a holder that dies, even killed, gives the semaphore back.
   * Default `true`. The release of what was acquired uses the same flag, so
   * the adjustments balance.
   */
  undo?: boolean;
  /**
   * How many units, taken or given at once (one `semop`, as sysv_ipc's
   * `delta`): 1..`SEMVMX`. Default 1. What an acquire returns gives back as
   * many.
   */
  count?: number;
}

/** The operation taking (`sign` -1) or giving (+1) `count` units, frozen; cached for one unit. */
function unitsOp(sign: 1 | -1, count: number, undo: boolean): readonly SemaphoreOperation[] {
  if (count === 1) return ONE[`${sign} ${undo}`];
  return Object.freeze([Object.freeze({ index: 0, delta: sign * count, undo })]);
}
const ONE: Record<string, readonly SemaphoreOperation[]> = {};
for (const sign of [1, -1]) {
  for (const undo of [false, true]) {
    ONE[`${sign} ${undo}`] = Object.freeze([Object.freeze({ index: 0, delta: sign, undo })]);
  }
}

/** `undo` and `count` of `options`, checked. */
function unitsOf(options: SemaphoreReleaseOptions): { undo: boolean; count: number } {
  const o = checkOptions(options);
  const undo = checkBoolean(o.undo, "undo", true);
  if (o.count === undefined) return { undo, count: 1 };
  const max = semLimits().maxValue;
  return { undo, count: checkInteger(o.count, "count", 1, max, `1..${max} (SEMVMX)`) };
}

/**
 * One System V semaphore (member 0 of a set of one): a lock between
 * processes when its value is 1, a counting semaphore otherwise.
 * {@link Semaphore.acquire} takes one (waiting while the value is 0), or
 * `count`, and returns a `Disposable` that gives it back, so `using _ = await
 * sem.acquire()` holds it for a scope.
 *
 * Acquiring and releasing use `SEM_UNDO` by default, as a lock wants: if the
 * process ends while holding it, even killed, the kernel gives it back, and
 * one that acquired and released leaves it as it was. With `undo: false`,
 * what a dead process held stays taken until someone releases it. A
 * semaphore that signals between processes (one releases, another acquires)
 * takes `undo: false` on both sides: a release with `SEM_UNDO` is taken back
 * when its process ends, and acquisitions with it are given back (they also
 * add up, to `ERANGE` after 32767 in a row). Both defaults differ from C and
 * Python's sysv_ipc, where a new semaphore is 0 and nothing is undone unless
 * asked. An undo entry holds at
 * most `SemaphoreSet.limits().maxUndo` (`SEMAEM`, 32767 on Linux) and a value
 * at most `limits().maxValue` (`SEMVMX`, 32767): beyond either an operation
 * fails with `ERANGE`.
 *
 * It is created and initialised without a race, as {@link SemaphoreSet}
 * describes: an opener never sees the value before its creator set it.
 *
 * Wraps `semget(2)`, `semop(2)`, `semtimedop(2)` and `semctl(2)`. Needs `--allow-ffi`.
 *
 * @example A lock held for a scope
 * ```ts
 * import { Semaphore } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using sem = Semaphore.open("private"); // value 1: a free lock
 * {
 *   using _held = await sem.acquire();
 *   assert.equal(sem.value, 0);
 *   assert.throws(() => sem.tryAcquire(), Deno.errors.WouldBlock);
 * } // released here
 * assert.equal(sem.value, 1);
 * sem.remove();
 * ```
 */
export class Semaphore implements Disposable {
  /** The set it is member 0 of. */
  readonly set: SemaphoreSet;
  /** The set id (`semid`). */
  readonly id: number;
  /** The key it was opened by (0 for `"private"` or {@link Semaphore.fromId}). */
  readonly key: number;

  private constructor(set: SemaphoreSet) {
    this.set = set;
    this.id = set.id;
    this.key = set.key;
  }

  /**
   * Opens (or with `create`, creates) the semaphore of `key`: member 0 of the
   * set of that key, made with one member and the value `value` (default 1).
   *
   * Wraps `semget(2)`. Needs `--allow-ffi`.
   *
   * @param key a key (a 32-bit integer, e.g. from {@link SemaphoreSet.ftok}) or `"private"`
   * @param options `create`, `exclusive`, `mode` (default 0600), `value`, `initTimeout`
   * @returns the semaphore
   * @throws {TypeError} when `key` is neither a number nor `"private"`, `options` is not an object, `exclusive` comes without `create`, or an option has the wrong type
   * @throws {RangeError} for a `key` that is not a 32-bit integer (-2^31..2^32-1) or is 0, a `mode` outside 0..0o777, a `value` outside 0..`SEMVMX`, a negative `initTimeout`
   * @throws {Deno.errors.NotFound} no set has that key and `create` is not set
   * @throws {Deno.errors.AlreadyExists} with `create` and `exclusive`, when it exists
   * @throws {Deno.errors.PermissionDenied} when the mode denies this user
   * @throws {Deno.errors.TimedOut} when the creator has not initialised it within `initTimeout`
   *
   * @example
   * ```ts
   * import { Semaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using slots = Semaphore.open("private", { value: 3 });
   * assert.equal(slots.value, 3);
   * slots.remove();
   * ```
   */
  static open(key: number | "private", options: SemaphoreOpenOptions = {}): Semaphore {
    checkOptions(options);
    const value = options.value === undefined
      ? 1
      : checkInt(options.value, "value", semLimits().maxValue, "SEMVMX");
    const create = key === "private" || options.create === true;
    return new Semaphore(SemaphoreSet.open(key, {
      create: options.create,
      exclusive: options.exclusive,
      mode: options.mode,
      count: create ? 1 : undefined,
      values: value,
      initTimeout: options.initTimeout,
    }));
  }

  /**
   * Uses member 0 of an existing set by its id (`semctl(IPC_STAT)` checks it).
   *
   * Wraps `semctl(2)`. Needs `--allow-ffi`.
   *
   * @param id the set id
   * @returns the semaphore
   * @throws {TypeError} when `id` is not a number
   * @throws {RangeError} when `id` is not an integer 0..2^31-1
   * @throws {IpcError} EINVAL when no set has that id
   * @throws {Deno.errors.PermissionDenied} when this user may not read the set
   *
   * @example
   * ```ts
   * import { Semaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using sem = Semaphore.open("private", { value: 2 });
   * using same = Semaphore.fromId(sem.id);
   * assert.equal(same.value, 2);
   * sem.remove();
   * ```
   */
  static fromId(id: number): Semaphore {
    return new Semaphore(SemaphoreSet.fromId(id));
  }

  /**
   * A Disposable that releases once, with the flag the acquire used, even
   * after `close()`: an acquire whose `semop` completed as the handle closed
   * resolves, and its token must not stay taken. A set removed meanwhile
   * (acquire, work, `remove()`) has no token to take back: nothing to do,
   * and no error to put in place of the block's own.
   */
  #held({ undo, count }: { undo: boolean; count: number }): Disposable {
    let held = true;
    return {
      [Symbol.dispose]: () => {
        if (!held) return;
        held = false;
        const give = unitsOp(1, count, undo);
        try {
          if (!this.set.closed) return this.set.tryOp(give);
          using set = SemaphoreSet.fromId(this.set.id);
          set.tryOp(give);
        } catch (e) {
          const code = (e as { code?: unknown }).code;
          if (code !== "EIDRM" && code !== "EINVAL") throw e;
        }
      },
    };
  }

  /**
   * Takes `count` (default one: decrements the value), waiting without blocking
   * the event loop while the value is less. The result gives it back when disposed (`using`), once
   * however often it is disposed, and also after `close()`.
   *
   * Wraps `semop(2)`. Needs `--allow-ffi`.
   *
   * @param options `undo` (default true), `count` (default 1), `signal`, `timeout`
   * @returns what releases it
   * @throws {TypeError} when `options` is not an object, `undo` is not a boolean, `count` is not a number, or `signal` is not an AbortSignal
   * @throws {RangeError} when `count` is not an integer 1..`SEMVMX`, or `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {IpcError} EIDRM when the set is removed; ERANGE when the undo entry would pass `SEMAEM`
   * @throws {Deno.errors.PermissionDenied} when this user may not change the set
   * @throws {Deno.errors.BadResource} when the handle is (or gets) closed
   *
   * @example
   * ```ts
   * import { Semaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using sem = Semaphore.open("private", { value: 0 });
   * const pending = sem.acquire({ timeout: 5000 });
   * sem.release({ undo: false });
   * {
   *   using _held = await pending;
   *   assert.equal(sem.value, 0);
   * } // released here
   * assert.equal(sem.value, 1);
   * sem.remove();
   * ```
   */
  acquire(options: SemaphoreAcquireOptions = {}): Promise<Disposable> {
    try {
      const units = unitsOf(options);
      return this.set.op(unitsOp(-1, units.count, units.undo), options)
        .then(() => this.#held(units));
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Takes `count` (default one), blocking the thread while the value is less,
   * or until `timeout` passes.
   *
   * Wraps `semtimedop(2)`. Needs `--allow-ffi`.
   *
   * @param options `undo` (default true), `count` (default 1), `timeout`
   * @returns what releases it
   * @throws {TypeError} when `options` is not an object, `undo` is not a boolean or `count` not a number
   * @throws {RangeError} when `count` is not an integer 1..`SEMVMX`, or `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {IpcError} EIDRM when the set is removed
   * @throws {Deno.errors.PermissionDenied} when this user may not change the set
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { Semaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using sem = Semaphore.open("private");
   * const held = sem.acquireSync({ timeout: 1000 });
   * assert.throws(() => sem.acquireSync({ timeout: 5 }), Deno.errors.TimedOut);
   * held[Symbol.dispose]();
   * assert.equal(sem.value, 1);
   * sem.remove();
   * ```
   */
  acquireSync(options: SemaphoreReleaseOptions & SyncWaitOptions = {}): Disposable {
    const units = unitsOf(options);
    this.set.opSync(unitsOp(-1, units.count, units.undo), options);
    return this.#held(units);
  }

  /**
   * Takes `count` (default one) if the value is at least that now, without waiting.
   *
   * Wraps `semop(2)` with `IPC_NOWAIT`. Needs `--allow-ffi`.
   *
   * @param options `undo` (default true), `count` (default 1)
   * @returns what releases it
   * @throws {Deno.errors.WouldBlock} when the value is less than `count` (0, for one)
   * @throws {TypeError} when `options` is not an object, `undo` is not a boolean or `count` not a number
   * @throws {RangeError} when `count` is not an integer 1..`SEMVMX`
   * @throws {IpcError} EIDRM when the set has been removed
   * @throws {Deno.errors.PermissionDenied} when this user may not change the set
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { Semaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using sem = Semaphore.open("private");
   * const held = sem.tryAcquire();
   * assert.throws(() => sem.tryAcquire(), Deno.errors.WouldBlock);
   * held[Symbol.dispose]();
   * sem.remove();
   * ```
   */
  tryAcquire(options: SemaphoreReleaseOptions = {}): Disposable {
    const units = unitsOf(options);
    this.set.tryOp(unitsOp(-1, units.count, units.undo));
    return this.#held(units);
  }

  /**
   * Gives `count` (default one) back (adds to the value), waking waiters. Pass the `undo`
   * flag the matching acquire used (default true), so the undo adjustment
   * balances; a semaphore used as a signal between processes is posted with
   * `undo: false`. Disposing what an acquire returned does this for you.
   *
   * Wraps `semop(2)`. Needs `--allow-ffi`.
   *
   * @param options `undo` (default true), `count` (default 1)
   * @throws {TypeError} when `options` is not an object, `undo` is not a boolean or `count` not a number
   * @throws {RangeError} when `count` is not an integer 1..`SEMVMX`
   * @throws {IpcError} ERANGE when the value would pass `SEMVMX` or the undo entry `SEMAEM`;
   *   EIDRM when the set has been removed
   * @throws {Deno.errors.PermissionDenied} when this user may not change the set
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { Semaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using sem = Semaphore.open("private", { value: 0 });
   * sem.release({ undo: false });
   * assert.equal(sem.value, 1);
   * sem.remove();
   * ```
   */
  release(options: SemaphoreReleaseOptions = {}): void {
    const { undo, count } = unitsOf(options);
    this.set.tryOp(unitsOp(1, count, undo));
  }

  /**
   * The value now (`semctl(GETVAL)`).
   *
   * Needs `--allow-ffi`.
   *
   * @returns how many can be acquired now
   * @throws {IpcError} EIDRM when the set has been removed
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { Semaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using sem = Semaphore.open("private", { value: 5 });
   * assert.equal(sem.value, 5);
   * sem.remove();
   * ```
   */
  get value(): number {
    return this.set.value(0);
  }

  /**
   * The state of its set (`semctl(IPC_STAT)`), as {@link SemaphoreSet.stat}.
   *
   * Needs `--allow-ffi`.
   *
   * @returns size (1), times, owner and mode
   * @throws {IpcError} EIDRM when the set no longer exists
   * @throws {Deno.errors.PermissionDenied} when this user may not read the set
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { Semaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using sem = Semaphore.open("private");
   * const st = sem.stat();
   * assert.deepEqual([st.members, st.mode, st.uid], [1, 0o600, Deno.uid()]);
   * sem.remove();
   * ```
   */
  stat(): SemaphoreSetStat {
    return this.set.stat();
  }

  /**
   * Changes the owner (`uid`, `gid`) or permission bits (`mode`) of its
   * set, as {@link SemaphoreSet.setOwnership}: the fields given are set, the
   * others stay as they are. Only the owner, the creator or a process with
   * `CAP_SYS_ADMIN` may do it.
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
   * import { Semaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using sem = Semaphore.open("private");
   * sem.setOwnership({ mode: 0o666 }); // any user may acquire it now
   * assert.equal(sem.stat().mode, 0o666);
   * sem.remove();
   * ```
   */
  setOwnership(change: SysvOwnershipChange): void {
    this.set.setOwnership(change);
  }

  /**
   * Destroys the set (`semctl(IPC_RMID)`): every waiter wakes with `EIDRM`.
   * This handle is closed too.
   *
   * Needs `--allow-ffi`.
   *
   * @throws {Deno.errors.PermissionDenied} when this user may not remove it
   * @throws {IpcError} EIDRM when the set no longer exists
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { Semaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const sem = Semaphore.open("private");
   * sem.remove();
   * assert.equal(sem.closed, true);
   * ```
   */
  remove(): void {
    this.set.remove();
  }

  /**
   * Lets this process exit while an acquire on this handle is pending, like
   * `Deno.Conn.unref()`. See {@link SemaphoreSet.unref}.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using sem = Semaphore.open("private", { value: 0 });
   * const acquired = sem.acquire();
   * sem.unref(); // the acquire goes on, but no longer keeps the process alive
   * sem.release();
   * sem.ref(); // it keeps the process alive again while it is awaited below
   * const held = await acquired;
   * assert.equal(sem.value, 0);
   * held[Symbol.dispose](); // releases it
   * sem.remove();
   * ```
   */
  unref(): void {
    this.set.unref();
  }

  /**
   * Undoes {@link Semaphore.unref}: pending and later acquires keep the
   * process alive again (the default).
   *
   * @example
   * ```ts
   * import { Semaphore } from "@libc/ipc";
   * using sem = Semaphore.open("private");
   * sem.unref();
   * sem.ref();
   * sem.remove();
   * ```
   */
  ref(): void {
    this.set.ref();
  }

  /**
   * Closes this handle (the semaphore lives on); pending acquires reject with
   * `BadResource` (`EBADF`). Closing twice does nothing.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@libc/ipc";
   * const sem = Semaphore.open("private");
   * sem.close();
   * Semaphore.fromId(sem.id).remove();
   * ```
   */
  close(): void {
    this.set.close();
  }

  /**
   * Whether `close()` (or `remove()`) has been called.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const sem = Semaphore.open("private");
   * assert.equal(sem.closed, false);
   * sem.remove();
   * ```
   */
  get closed(): boolean {
    return this.set.closed;
  }

  /**
   * Closes this handle (`using`); the semaphore lives on. See {@link Semaphore.close}.
   *
   * @example
   * ```ts
   * import { Semaphore } from "@libc/ipc";
   * let id: number;
   * {
   *   using sem = Semaphore.open("private");
   *   id = sem.id;
   * }
   * Semaphore.fromId(id).remove();
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }
}
