/**
 * {@link RecordLock}: one byte-range lock held through a {@link RecordLocks}.
 *
 * @module
 */
import type { Range } from "./_range.ts";

let create: (range: Range, unlock: (lock: RecordLock) => void) => RecordLock;
let drop: (lock: RecordLock) => void;

/** A lock of `range` that `unlock` releases (for `record_locks.ts`: the constructor is closed to user code). */
export function heldLock(range: Range, unlock: (lock: RecordLock) => void): RecordLock {
  return create(range, unlock);
}

/** Marks `lock` released without a call: closing its descriptor released it. */
export function dropLock(lock: RecordLock): void {
  drop(lock);
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
  /**
   * Whether the lock is shared (a read lock), or exclusive (a write lock).
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
  readonly shared: boolean;
  readonly #unlock: (lock: RecordLock) => void;
  #released = false;

  static {
    create = (range, unlock) => new RecordLock(range, unlock, INTERNAL);
    drop = (lock) => lock.#released = true;
  }

  private constructor(range: Range, unlock: (lock: RecordLock) => void, internal: unknown) {
    if (internal !== INTERNAL) {
      throw new TypeError("RecordLock cannot be constructed: RecordLocks' lock() returns one");
    }
    this.start = range.start;
    this.length = range.length;
    this.shared = range.shared;
    this.#unlock = unlock;
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
    this.#unlock(this);
    this.#released = true;
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
