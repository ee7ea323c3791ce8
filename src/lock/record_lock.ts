/**
 * {@link RecordLock}: one byte-range lock held through a {@link RecordLocks}.
 *
 * @module
 */
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import type { Range } from "./_range.ts";

/** What a lock asks of the `RecordLocks` it was taken through. */
export interface LockOwner {
  unlock(lock: RecordLock): void;
  convert(lock: RecordLock, options: ConvertOptions): Promise<void>;
  convertSync(lock: RecordLock, options: ConvertSyncOptions): void;
  tryConvert(lock: RecordLock, options: LockKind): void;
}

/**
 * The kind a lock is converted to.
 *
 * @example
 * ```ts
 * import type { LockKind } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const kind: LockKind = { shared: false };
 * assert.equal(kind.shared, false);
 * ```
 */
export interface LockKind {
  /** true: shared (a read lock); false: exclusive (a write lock). */
  shared: boolean;
}

/**
 * Options of {@link RecordLock.convert}: the kind, and how long to wait.
 *
 * @example
 * ```ts
 * import type { ConvertOptions } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const options: ConvertOptions = { shared: false, timeout: 1000 };
 * assert.equal(options.timeout, 1000);
 * ```
 */
export interface ConvertOptions extends LockKind, WaitOptions {}

/**
 * Options of {@link RecordLock.convertSync}: the kind, and how long to wait.
 *
 * @example
 * ```ts
 * import type { ConvertSyncOptions } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const options: ConvertSyncOptions = { shared: false, timeout: 50 };
 * assert.equal(options.shared, false);
 * ```
 */
export interface ConvertSyncOptions extends LockKind, SyncWaitOptions {}

let create: (range: Range, owner: LockOwner) => RecordLock;
let drop: (lock: RecordLock) => void;
let convert: (lock: RecordLock, shared: boolean) => void;

/** A lock of `range` held through `owner` (for `record_locks.ts`: the constructor is closed to user code). */
export function heldLock(range: Range, owner: LockOwner): RecordLock {
  return create(range, owner);
}

/** Marks `lock` released without a call: closing its descriptor released it. */
export function dropLock(lock: RecordLock): void {
  drop(lock);
}

/** Records that `lock` is now `shared` (or exclusive): its conversion succeeded. */
export function convertedLock(lock: RecordLock, shared: boolean): void {
  convert(lock, shared);
}

/** What only this module passes the constructor. */
const INTERNAL: unique symbol = Symbol("RecordLock");

/**
 * A byte-range lock held through a {@link RecordLocks}, from its `lock()`,
 * `lockSync()` or `tryLock()`. Released by {@link RecordLock.unlock} (or
 * `using`), by closing the `RecordLocks`, or when the process ends, however
 * it ends.
 *
 * @example
 * ```ts
 * import { RecordLocks } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * using locks = RecordLocks.open(path);
 * {
 *   using lock = locks.tryLock({ start: 0, length: 16 });
 *   assert.deepEqual([lock.start, lock.length, lock.shared], [0, 16, false]);
 * } // unlocked here
 * assert.equal(locks.held.length, 0);
 * await Deno.remove(path);
 * ```
 */
export class RecordLock implements Disposable {
  /**
   * The first byte locked.
   *
   * @example
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * using locks = RecordLocks.open(path);
   * using lock = locks.tryLock({ start: 100 });
   * assert.equal(lock.start, 100);
   * await Deno.remove(path);
   * ```
   */
  readonly start: number;
  /**
   * How many bytes are locked; Infinity: to the end of the file, however far
   * it grows (the default).
   *
   * @example
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * using locks = RecordLocks.open(path);
   * using lock = locks.tryLock();
   * assert.equal(lock.length, Infinity);
   * await Deno.remove(path);
   * ```
   */
  readonly length: number;
  readonly #owner: LockOwner;
  #shared: boolean;
  #released = false;

  static {
    create = (range, owner) => new RecordLock(range, owner, INTERNAL);
    drop = (lock) => lock.#released = true;
    convert = (lock, shared) => lock.#shared = shared;
  }

  private constructor(range: Range, owner: LockOwner, internal: unknown) {
    if (internal !== INTERNAL) {
      throw new TypeError("RecordLock cannot be constructed: RecordLocks' lock() returns one");
    }
    this.start = range.start;
    this.length = range.length;
    this.#shared = range.shared;
    this.#owner = owner;
  }

  /**
   * Whether the lock is shared (a read lock), or exclusive (a write lock);
   * {@link RecordLock.convert} changes it.
   *
   * @example
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * using locks = RecordLocks.open(path);
   * using lock = locks.tryLock({ shared: true });
   * assert.equal(lock.shared, true);
   * await Deno.remove(path);
   * ```
   */
  get shared(): boolean {
    return this.#shared;
  }

  /**
   * Whether the lock is released: by {@link RecordLock.unlock}, or by closing
   * its `RecordLocks`.
   *
   * @example
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * const locks = RecordLocks.open(path);
   * const lock = locks.tryLock();
   * locks.close(); // releases every lock taken through it
   * assert.equal(lock.released, true);
   * await Deno.remove(path);
   * ```
   */
  get released(): boolean {
    return this.#released;
  }

  /**
   * Releases the lock (`fcntl(F_OFD_SETLK)` with `F_UNLCK` over its range).
   * Releasing twice, or after the `RecordLocks` was closed (which released
   * it), does nothing.
   *
   * Wraps `fcntl(2)`. Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * using mine = RecordLocks.open(path);
   * using theirs = RecordLocks.open(path); // another open of the file: another owner
   * const lock = mine.tryLock();
   * assert.throws(() => theirs.tryLock(), Deno.errors.WouldBlock);
   * lock.unlock();
   * theirs.tryLock().unlock();
   * await Deno.remove(path);
   * ```
   */
  unlock(): void {
    if (this.#released) return;
    this.#owner.unlock(this);
    this.#released = true;
  }

  /**
   * Converts the lock in place to shared or exclusive, waiting without
   * blocking the event loop until no other owner's lock stands in the way.
   * While it waits to become exclusive it stays shared, so no writer comes in
   * between (as `fcntl(2)` converts a lock it holds); becoming shared never
   * waits. Two owners that both wait to make one shared range exclusive wait
   * for each other for ever (the kernel detects no deadlock here): give such
   * a wait a `timeout`. An aborted `signal`, the `timeout`, `unlock()` or
   * closing the `RecordLocks` rejects, and the lock stays as it was (unless
   * released).
   *
   * Wraps `fcntl(2)` (`F_OFD_SETLK`, then `F_OFD_SETLKW` parked on a pool
   * thread). Needs `--allow-ffi`.
   *
   * @param options `shared` (the kind to convert to), `signal`, `timeout`
   * @returns a promise that resolves once the lock is of that kind
   * @throws {TypeError} for a bad option, or an exclusive lock through a handle opened with `access: "read"`
   * @throws {Deno.errors.Busy} while another conversion of it is pending
   * @throws {Deno.errors.BadResource} when the lock was released, or its handle closed
   * @throws {Deno.errors.TimedOut} when `timeout` ms pass first (`ETIMEDOUT`)
   * @throws {Deno.errors.Interrupted} when `unlock()` releases it while it waits
   *
   * @example A reader that decides to write
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * using mine = RecordLocks.open(path);
   * using theirs = RecordLocks.open(path);
   * using lock = mine.tryLock({ shared: true });
   * const reader = theirs.tryLock({ shared: true });
   * const exclusive = lock.convert({ shared: false, timeout: 5000 });
   * reader.unlock(); // the last other reader goes: the conversion completes
   * await exclusive;
   * assert.equal(lock.shared, false);
   * assert.throws(() => theirs.tryLock({ shared: true }), Deno.errors.WouldBlock);
   * await Deno.remove(path);
   * ```
   */
  convert(options: ConvertOptions): Promise<void> {
    return this.#owner.convert(this, options);
  }

  /**
   * Converts the lock to shared or exclusive, blocking this thread until no
   * other owner's lock stands in the way or `timeout` ms pass; see
   * {@link RecordLock.convert}.
   *
   * Wraps `fcntl(2)` (`F_OFD_SETLKW`). Needs `--allow-ffi`.
   *
   * @param options `shared` (the kind to convert to), `timeout`
   * @throws {TypeError} for a bad option, or an exclusive lock through a handle opened with `access: "read"`
   * @throws {Deno.errors.Busy} while another conversion of it is pending
   * @throws {Deno.errors.BadResource} when the lock was released, or its handle closed
   * @throws {Deno.errors.TimedOut} when `timeout` ms pass first (`ETIMEDOUT`)
   *
   * @example
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * using locks = RecordLocks.open(path);
   * using other = RecordLocks.open(path);
   * using lock = locks.lockSync(); // exclusive
   * lock.convertSync({ shared: true }); // never waits
   * assert.equal(lock.shared, true);
   * other.tryLock({ shared: true }).unlock(); // readers may come now
   * await Deno.remove(path);
   * ```
   */
  convertSync(options: ConvertSyncOptions): void {
    this.#owner.convertSync(this, options);
  }

  /**
   * Converts the lock to shared or exclusive if no other owner's lock stands
   * in the way; never waits.
   *
   * Wraps `fcntl(2)` (`F_OFD_SETLK`). Needs `--allow-ffi`.
   *
   * @param options `shared`: the kind to convert to
   * @throws {Deno.errors.WouldBlock} when another owner's lock stands in the way (`EAGAIN`)
   * @throws {TypeError} for a bad option, or an exclusive lock through a handle opened with `access: "read"`
   * @throws {Deno.errors.Busy} while another conversion of it is pending
   * @throws {Deno.errors.BadResource} when the lock was released, or its handle closed
   *
   * @example
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * using mine = RecordLocks.open(path);
   * using theirs = RecordLocks.open(path);
   * using lock = mine.tryLock({ shared: true });
   * using _reader = theirs.tryLock({ start: 0, length: 1, shared: true });
   * assert.throws(() => lock.tryConvert({ shared: false }), Deno.errors.WouldBlock);
   * assert.equal(lock.shared, true); // as it was
   * await Deno.remove(path);
   * ```
   */
  tryConvert(options: LockKind): void {
    this.#owner.tryConvert(this, options);
  }

  /**
   * Releases the lock (`using` support); see {@link RecordLock.unlock}.
   *
   * Wraps `fcntl(2)`. Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * using locks = RecordLocks.open(path);
   * {
   *   using _lock = await locks.lock();
   *   assert.equal(locks.held.length, 1);
   * }
   * assert.equal(locks.held.length, 0);
   * await Deno.remove(path);
   * ```
   */
  [Symbol.dispose](): void {
    this.unlock();
  }
}
