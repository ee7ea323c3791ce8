/**
 * Record locks: byte-range locks on a file that processes take in turn,
 * through `fcntl(2)`'s open file description locks (`F_OFD_SETLK`,
 * `F_OFD_SETLKW`, `F_OFD_GETLK`).
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C } from "../../ffi/platform.ts";
import {
  addressOf,
  checkAccess,
  checkBoolean,
  checkMode,
  checkOptions,
  onlyKnown,
  shown,
} from "../_check.ts";
import {
  A_FILE_KIND,
  cPath,
  type FileKind,
  fileOf,
  fileOfFd,
  type PathLike,
  pathText,
} from "../_path.ts";
import { AGAIN, E, errorOf, lastErrno, ok } from "../_sys.ts";
import { errorFromCode, wouldBlockError } from "../errors.ts";
import { FdHandle, waitsOf } from "../fd/handle.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import {
  callSource,
  checkSyncWaitOptions,
  checkWaitOptions,
  lazySource,
  type Operation,
  rejectedNow,
  wait,
  waitSync,
} from "../_wait/mod.ts";
import { checkRange, Flock, overlaps, type Range, rangeText } from "./_range.ts";
import {
  convertedLock,
  dropLock,
  heldLock,
  type LockKind,
  type LockOwner,
  type RecordLock,
} from "./record_lock.ts";

/**
 * Which bytes a lock covers, and its kind.
 *
 * @example
 * ```ts
 * import type { LockRange } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const header: LockRange = { start: 0, length: 512, shared: true };
 * assert.equal(header.length, 512);
 * ```
 */
export interface LockRange {
  /** The first byte (default 0). */
  start?: number;
  /**
   * How many bytes (at least 1); omitted or Infinity (the default): to the end
   * of the file, however far it grows, as C's `l_len = 0`.
   */
  length?: number;
  /** A shared (read) lock, which other shared locks may hold too; default false: exclusive (write). */
  shared?: boolean;
}

/**
 * Options of {@link RecordLocks.lock}: the range, and how long to wait.
 *
 * @example
 * ```ts
 * import type { LockOptions } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const options: LockOptions = { start: 0, length: 1, timeout: 1000 };
 * assert.equal(options.timeout, 1000);
 * ```
 */
export interface LockOptions extends LockRange, WaitOptions {}

/**
 * Options of {@link RecordLocks.lockSync}: the range, and how long to wait.
 *
 * @example
 * ```ts
 * import type { LockSyncOptions } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const options: LockSyncOptions = { shared: true, timeout: 50 };
 * assert.equal(options.shared, true);
 * ```
 */
export interface LockSyncOptions extends LockRange, SyncWaitOptions {}

/**
 * Options of {@link RecordLocks.open}.
 *
 * @example
 * ```ts
 * import type { RecordLocksOpenOptions } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const options: RecordLocksOpenOptions = { create: true, mode: 0o640 };
 * assert.equal(options.create, true);
 * ```
 */
export interface RecordLocksOpenOptions {
  /** Create the file when it does not exist (default false). */
  create?: boolean;
  /** The permission bits of a file this creates (default 0o600: owner only), set exactly, whatever the umask. */
  mode?: number;
  /**
   * `"readwrite"` (the default), or `"read"` for a file this user may only
   * read: then only shared locks can be taken (the kernel wants a file open
   * for writing for an exclusive lock).
   */
  access?: "read" | "readwrite";
}

/**
 * A lock that stands in the way of a range, as {@link RecordLocks.holder}
 * reports it.
 *
 * @example
 * ```ts
 * import type { LockHolder } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const holder: LockHolder = { start: 0, length: Infinity, shared: false };
 * assert.equal(holder.pid, undefined);
 * ```
 */
export interface LockHolder {
  /** Its first byte. */
  start: number;
  /** Its length; Infinity: to the end of the file, however far it grows. */
  length: number;
  /** Whether it is a shared (read) lock. */
  shared: boolean;
  /**
   * The process that holds it, for a classic process-associated lock (C's
   * `fcntl(F_SETLK)`, `lockf(3)`); absent for an open file description lock
   * (this library's, C's `F_OFD_SETLK`), which belongs to an open file, not a
   * process, and may be shared by several.
   */
  pid?: number;
}

const RANGE_KEYS: ReadonlySet<string> = new Set(["start", "length", "shared"]);
const LOCK_KEYS: ReadonlySet<string> = new Set([...RANGE_KEYS, "signal", "timeout"]);
const LOCK_SYNC_KEYS: ReadonlySet<string> = new Set([...RANGE_KEYS, "timeout"]);
const KIND_KEYS: ReadonlySet<string> = new Set(["shared"]);
const CONVERT_KEYS: ReadonlySet<string> = new Set([...KIND_KEYS, "signal", "timeout"]);
const CONVERT_SYNC_KEYS: ReadonlySet<string> = new Set([...KIND_KEYS, "timeout"]);
const OPEN_KEYS: ReadonlySet<string> = new Set(["create", "mode", "access"]);
/** A pending async conversion: what aborts it, and the range claimed once its lock was unlocked. */
interface Conversion {
  readonly stop: AbortController;
  claim?: Range;
}

/** Every byte of the file. */
const WHOLE: Range = { start: 0, length: Infinity, shared: false };
/** How many times an open goes back and forth between a file made and removed before it gives up. */
const OPEN_TRIES = 16;

/**
 * Byte-range locks on one file, that processes (and handles within one
 * process) take in turn: advisory locks, which C programs using `fcntl(2)`
 * locks or `lockf(3)` respect too.
 *
 * Each `RecordLocks` is one open of the file, and its locks belong to that
 * open (Linux's open file description locks): two `RecordLocks` of one file
 * exclude each other, in one process as in two; closing any other descriptor
 * of the file (`Deno.readTextFile` of it) does not release them, as it would
 * C's classic `F_SETLK` locks; and the kernel releases them when the process
 * ends, however it ends, so a crashed holder never leaves a file locked.
 * Locks taken through one `RecordLocks` would merge rather than exclude each
 * other, so a range that overlaps one it holds or is waiting for is refused
 * (`Deno.errors.Busy`): open the file again for another owner.
 *
 * These are not `flock(2)` locks (the `flock(1)` command, Deno's
 * `FsFile.lock()`), which Linux keeps apart: the two do not exclude each
 * other. A held lock converts in place between shared and exclusive
 * ({@link RecordLock.convert}).
 *
 * `lock()` waits without blocking the event loop, parked on a pool thread;
 * `lockSync()` blocks; `tryLock()` never waits. The kernel does not detect
 * deadlocks between these locks: give waits a `timeout` where two owners
 * could each wait for the other.
 *
 * @example Two owners of one file: the second waits for the first
 * ```ts
 * import { RecordLocks } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * using first = RecordLocks.open(path);
 * using second = RecordLocks.open(path);
 * const lock = first.tryLock({ start: 0, length: 100 });
 * const waiting = second.lock({ start: 50, length: 10 });
 * lock.unlock();
 * using got = await waiting;
 * assert.deepEqual([got.start, got.length], [50, 10]);
 * await Deno.remove(path);
 * ```
 */
export class RecordLocks extends FdHandle {
  /**
   * The path the file was opened by.
   *
   * @example
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * using locks = RecordLocks.open(path);
   * assert.equal(locks.path, path);
   * await Deno.remove(path);
   * ```
   */
  readonly path: string;
  readonly #readOnly: boolean;
  readonly #held = new Set<RecordLock>();
  /** The ranges of pending `lock()` calls. */
  readonly #pending = new Set<Range>();
  /** For the calls made on this thread without waiting (holder, unlock). */
  readonly #flock = new Flock();
  /** The pending async conversions of held locks: `unlock()` aborts them. */
  readonly #converting = new Map<RecordLock, Conversion>();
  /** What the locks of this handle ask of it. */
  readonly #owner: LockOwner = {
    unlock: (lock) => {
      const converting = this.#converting.get(lock);
      if (converting !== undefined) {
        // Its call may yet come back granted, and its undo then unlocks the range: claimed
        // until the conversion settles, so that no new lock of it here is taken meanwhile.
        this.#pending.add(
          converting.claim = { start: lock.start, length: lock.length, shared: lock.shared },
        );
        converting.stop.abort(
          new Deno.errors.Interrupted(
            `${rangeText(lock)} of '${this.path}' were unlocked before their conversion completed`,
          ),
        );
      }
      this.#unlockRange(lock);
      this.#held.delete(lock);
    },
    convert: (lock, options) => {
      let op: Operation<void>;
      let signal: AbortSignal;
      try {
        checkWaitOptions(options);
        op = this.#conversion(lock, options, CONVERT_KEYS, "convert");
        const stop = new AbortController();
        signal = options.signal === undefined
          ? stop.signal
          : AbortSignal.any([options.signal, stop.signal]);
        this.#converting.set(lock, { stop });
      } catch (e) {
        return rejectedNow(e);
      }
      // Pending until converted (the operation's result) or failed.
      return wait(op, { signal, timeout: options.timeout }, { registry: waitsOf(this) }, (e) => {
        this.#settled(lock);
        throw e;
      });
    },
    convertSync: (lock, options) => {
      checkSyncWaitOptions(options);
      waitSync(this.#conversion(lock, options, CONVERT_SYNC_KEYS, "convertSync"), options);
    },
    tryConvert: (lock, options) => {
      const op = this.#conversion(lock, options, KIND_KEYS, "tryConvert");
      if (op.attempt() === AGAIN) throw this.#wouldBlock({ ...lock, shared: options.shared });
    },
  };

  private constructor(fd: number, path: string, readOnly: boolean) {
    super(fd);
    this.path = path;
    this.#readOnly = readOnly;
  }

  /**
   * Opens `path` for record locks (`open(2)`, close-on-exec). The file must
   * be a regular file; it is opened, never truncated or written.
   *
   * Needs `--allow-ffi`.
   *
   * @param path the file, a path or `file:` URL
   * @param options `create`, `mode` (default 0o600), `access` (default `"readwrite"`)
   * @returns the handle; close it (or `using`) to release its locks
   * @throws {TypeError} for a bad option, or when `path` is not a regular file
   * @throws {Deno.errors.NotFound} when it does not exist and `create` is not set
   * @throws {Deno.errors.PermissionDenied} when this user may not open it so
   *
   * @example
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const dir = await Deno.makeTempDir();
   * using locks = RecordLocks.open(`${dir}/app.lock`, { create: true });
   * assert.equal((await Deno.stat(`${dir}/app.lock`)).mode! & 0o777, 0o600);
   * assert.throws(() => RecordLocks.open(`${dir}/absent`), Deno.errors.NotFound);
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  static open(path: PathLike, options?: RecordLocksOpenOptions): RecordLocks {
    const text = pathText(path);
    const o = checkOptions(options);
    onlyKnown(o, OPEN_KEYS, "RecordLocks.open");
    const create = checkBoolean(o.create, "create");
    const mode = checkMode(o.mode);
    const access = checkAccess(o.access);
    // Looked at before the open, which would act on what it opens: complete a FIFO writer's
    // waiting open (its data then lost), start a device.
    checkRegular(fileOf(text)?.kind, text);
    // O_NONBLOCK: a FIFO put there meanwhile must not block the open (it is refused below).
    const flags = (access === "read" ? C.O_RDONLY : C.O_RDWR) | C.O_CLOEXEC | C.O_NOCTTY |
      C.O_NONBLOCK;
    const fd = openFile(cPath(text), flags, create ? mode : undefined, text);
    try {
      checkRegular(fileOfFd(fd)?.kind, text);
    } catch (e) {
      libc.close(fd);
      throw e;
    }
    return new RecordLocks(fd, text, access === "read");
  }

  /** What the handle is, in error messages. */
  protected get what(): string {
    return "RecordLocks";
  }

  /** What errors name besides the fd: the path. */
  protected override describe(): { path: string } {
    return { path: this.path };
  }

  /**
   * The locks held through this handle now, in the order they were taken.
   *
   * @example
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * using locks = RecordLocks.open(path);
   * const a = locks.tryLock({ start: 0, length: 10 });
   * locks.tryLock({ start: 10, length: 10 });
   * a.unlock();
   * assert.deepEqual(locks.held.map((l) => l.start), [10]);
   * await Deno.remove(path);
   * ```
   */
  get held(): readonly RecordLock[] {
    return [...this.#held];
  }

  /**
   * Takes a lock of a range (by default the whole file, exclusive), waiting
   * without blocking the event loop until no other owner's lock stands in
   * the way. An aborted `signal`, the `timeout` or `close()` rejects, and
   * leaves nothing locked (a lock the kernel granted meanwhile is released).
   * The range is this handle's from the call until the promise settles, even
   * once aborted: another lock of it through this handle is `Busy` until then.
   *
   * Wraps `fcntl(2)` (`F_OFD_SETLK`, then `F_OFD_SETLKW` parked on a pool
   * thread). Needs `--allow-ffi`.
   *
   * @param options the range (`start`, `length`, `shared`), `signal`, `timeout`
   * @returns a promise of the lock
   * @throws {TypeError} for a bad option, or an exclusive lock through a handle opened with `access: "read"`
   * @throws {RangeError} for a `start` or `length` out of range
   * @throws {Deno.errors.Busy} when the range overlaps a lock held or pending through this handle
   * @throws {Deno.errors.TimedOut} when `timeout` ms pass first (`ETIMEDOUT`)
   * @throws {Deno.errors.BadResource} when the handle is closed (`EBADF`)
   *
   * @example A lock released by its holder after a while
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * using holder = RecordLocks.open(path);
   * using waiter = RecordLocks.open(path);
   * const lock = holder.tryLock();
   * setTimeout(() => lock.unlock(), 20);
   * using got = await waiter.lock({ timeout: 5000 });
   * assert.equal(got.shared, false);
   * await Deno.remove(path);
   * ```
   *
   * @example A timeout
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * using holder = RecordLocks.open(path);
   * using waiter = RecordLocks.open(path);
   * using _lock = holder.tryLock({ start: 0, length: 1 });
   * await assert.rejects(waiter.lock({ start: 0, length: 1, timeout: 10 }), { code: "ETIMEDOUT" });
   * assert.equal(waiter.held.length, 0);
   * await Deno.remove(path);
   * ```
   */
  lock(options?: LockOptions): Promise<RecordLock> {
    let range: Range;
    let op: Operation<RecordLock>;
    try {
      range = this.#claim(options, LOCK_KEYS, "lock");
      op = this.#lockOperation(range);
    } catch (e) {
      return rejectedNow(e);
    }
    // Claimed until the lock is held (#took) or the wait fails.
    this.#pending.add(range);
    return wait(op, options, { registry: waitsOf(this) }, (e) => {
      this.#pending.delete(range);
      throw e;
    });
  }

  /**
   * Takes a lock of a range (by default the whole file, exclusive), blocking
   * this thread until no other owner's lock stands in the way or `timeout`
   * ms pass.
   *
   * Wraps `fcntl(2)` (`F_OFD_SETLKW`). Needs `--allow-ffi`.
   *
   * @param options the range (`start`, `length`, `shared`), `timeout`
   * @returns the lock
   * @throws {TypeError} for a bad option, or an exclusive lock through a handle opened with `access: "read"`
   * @throws {RangeError} for a `start` or `length` out of range
   * @throws {Deno.errors.Busy} when the range overlaps a lock held or pending through this handle
   * @throws {Deno.errors.TimedOut} when `timeout` ms pass first (`ETIMEDOUT`)
   * @throws {Deno.errors.BadResource} when the handle is closed (`EBADF`)
   *
   * @example
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * using a = RecordLocks.open(path);
   * using b = RecordLocks.open(path);
   * using c = RecordLocks.open(path);
   * using _read = a.lockSync({ shared: true });
   * using _alsoRead = b.lockSync({ shared: true }); // shared locks coexist
   * assert.throws(() => c.lockSync({ start: 8, timeout: 0 }), Deno.errors.TimedOut);
   * await Deno.remove(path);
   * ```
   */
  lockSync(options?: LockSyncOptions): RecordLock {
    checkSyncWaitOptions(options);
    const range = this.#claim(options, LOCK_SYNC_KEYS, "lockSync");
    // The engine's operation only for a lock that has to wait.
    return this.#set(range) ? this.#took(range) : waitSync(this.#lockOperation(range), options);
  }

  /**
   * Takes a lock of a range (by default the whole file, exclusive) if no
   * other owner's lock stands in the way; never waits.
   *
   * Wraps `fcntl(2)` (`F_OFD_SETLK`). Needs `--allow-ffi`.
   *
   * @param options the range: `start`, `length`, `shared`
   * @returns the lock
   * @throws {Deno.errors.WouldBlock} when another owner's lock stands in the
   *   way (`EAGAIN`); the message names it, as {@link RecordLocks.holder} sees it
   * @throws {TypeError} for a bad option, or an exclusive lock through a handle opened with `access: "read"`
   * @throws {RangeError} for a `start` or `length` out of range
   * @throws {Deno.errors.Busy} when the range overlaps a lock held or pending through this handle
   * @throws {Deno.errors.BadResource} when the handle is closed (`EBADF`)
   *
   * @example
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * using a = RecordLocks.open(path);
   * using b = RecordLocks.open(path);
   * using _lock = a.tryLock({ start: 0, length: 10 });
   * assert.throws(() => b.tryLock({ start: 5, length: 1 }), Deno.errors.WouldBlock);
   * using _other = b.tryLock({ start: 10, length: 1 }); // no overlap
   * await Deno.remove(path);
   * ```
   */
  tryLock(options?: LockRange): RecordLock {
    const range = this.#claim(options, RANGE_KEYS, "tryLock");
    if (this.#set(range)) return this.#took(range);
    throw this.#wouldBlock(range);
  }

  /** `Deno.errors.WouldBlock` for a lock of `range` that another owner's lock stands in the way of. */
  #wouldBlock(range: Range): Error {
    const holder = this.#holderOf(range);
    return wouldBlockError(
      "fcntl",
      this.subject,
      E.EAGAIN,
      `${rangeText(range)} ${holder === null ? "were locked a moment ago" : holderText(holder)}`,
    );
  }

  /**
   * The first lock of another owner that stands in the way of a lock of the
   * range, or null when the lock could be taken now (`F_OFD_GETLK`). Locks
   * held through this handle stand in no way of its own, and are not
   * reported. What it says may change at once: take the lock with
   * {@link RecordLocks.tryLock} rather than ask first.
   *
   * Wraps `fcntl(2)`. Needs `--allow-ffi`.
   *
   * @param options the range: `start`, `length`, `shared`
   * @returns the lock in the way, or null
   * @throws {TypeError} for a bad option
   * @throws {RangeError} for a `start` or `length` out of range
   * @throws {Deno.errors.BadResource} when the handle is closed (`EBADF`)
   *
   * @example
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * using a = RecordLocks.open(path);
   * using b = RecordLocks.open(path);
   * using _lock = a.tryLock({ start: 4, length: 4, shared: true });
   * assert.deepEqual(b.holder(), { start: 4, length: 4, shared: true });
   * assert.equal(b.holder({ shared: true }), null); // shared locks coexist
   * assert.equal(a.holder(), null); // its own lock is in no way of its own
   * await Deno.remove(path);
   * ```
   */
  holder(options?: LockRange): LockHolder | null {
    const o = checkOptions(options);
    onlyKnown(o, RANGE_KEYS, "holder");
    return this.#holderOf(checkRange(o));
  }

  /**
   * Closes the file, which releases every lock taken through it, also where
   * another process shares this open of it (a child given its `fd`); pending
   * `lock()` calls reject with `BadResource` (`EBADF`). Closing twice does
   * nothing.
   *
   * Wraps `close(2)`. Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { RecordLocks } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const path = await Deno.makeTempFile();
   * const a = RecordLocks.open(path);
   * using b = RecordLocks.open(path);
   * a.tryLock();
   * a.close();
   * b.tryLock(); // a's lock went with it
   * assert.throws(() => a.tryLock(), Deno.errors.BadResource);
   * await Deno.remove(path);
   * ```
   */
  override close(): void {
    if (this.closed) return;
    // The open file, and its locks with it, outlives this descriptor where another holds it
    // too: a child given it (spawn's fds), a parked call not yet returned.
    libc.fcntl_lock(this.fdFor("fcntl"), C.F_OFD_SETLK, this.#flock.set(WHOLE, C.F_UNLCK));
    for (const lock of this.#held) dropLock(lock);
    this.#held.clear();
    super.close();
  }

  /** The checked range of a lock call, refused when it overlaps one held or pending here. */
  #claim(options: LockRange | undefined, known: ReadonlySet<string>, what: string): Range {
    const o = checkOptions(options);
    onlyKnown(o, known, what);
    const range = checkRange(o);
    this.fdFor("fcntl");
    this.#checkWritable(range);
    for (const held of this.#held) if (overlaps(range, held)) throw this.#busy(range, held, "");
    for (const pending of this.#pending) {
      if (overlaps(range, pending)) throw this.#busy(range, pending, "being ");
    }
    return range;
  }

  /** TypeError for an exclusive lock through a handle opened for reading only. */
  #checkWritable(range: Range): void {
    if (range.shared || !this.#readOnly) return;
    throw new TypeError(
      `an exclusive lock needs the file open for writing; '${this.path}' was opened with ` +
        `access "read": ask for { shared: true }, or open it with access "readwrite"`,
    );
  }

  #busy(range: Range, other: Range, being: string): Error {
    return new Deno.errors.Busy(
      `${rangeText(range)} of '${this.path}' overlap ${rangeText(other)}, already ${being}` +
        "locked through this RecordLocks: the kernel would merge the two, not make one wait " +
        "for the other. Unlock it first, or open the file again for an owner of its own",
    );
  }

  /** The async conversion of `lock` has settled: what it held is let go. */
  #settled(lock: RecordLock): void {
    const claim = this.#converting.get(lock)?.claim;
    if (claim !== undefined) this.#pending.delete(claim);
    this.#converting.delete(lock);
  }

  /** A lock of `range` as an operation of the waiting engine. */
  #lockOperation(range: Range): Operation<RecordLock> {
    return this.#operation(range, () => this.#took(range), () => this.#unlockRange(range));
  }

  /** The checked conversion of `lock` to the kind `options` names, as an operation of the waiting engine. */
  #conversion(
    lock: RecordLock,
    options: LockKind,
    known: ReadonlySet<string>,
    what: string,
  ): Operation<void> {
    const o = checkOptions(options);
    onlyKnown(o, known, what);
    if (typeof o.shared !== "boolean") {
      throw new TypeError(`${what}: shared must be a boolean, got ${shown(o.shared)}`);
    }
    this.fdFor("fcntl");
    if (lock.released) {
      throw new Deno.errors.BadResource(
        `${rangeText(lock)} of '${this.path}' are no longer locked: there is nothing to convert`,
      );
    }
    if (this.#converting.has(lock)) {
      throw new Deno.errors.Busy(
        `${rangeText(lock)} of '${this.path}' are already being converted`,
      );
    }
    const range: Range = { start: lock.start, length: lock.length, shared: o.shared };
    this.#checkWritable(range);
    const was: Range = { ...range, shared: lock.shared };
    return this.#operation(
      range,
      () => {
        convertedLock(lock, range.shared);
        this.#settled(lock);
      },
      // Converted after the wait was cancelled: back as it was, or gone if unlocked meanwhile.
      () => lock.released ? this.#unlockRange(range) : this.#set(was),
    );
  }

  /**
   * A lock call (`F_OFD_SETLK`, `F_OFD_SETLKW`) of `range` as an operation of
   * the waiting engine: `took` makes its result, `undo` takes back a lock
   * the kernel granted after the wait was cancelled.
   */
  #operation<T>(range: Range, took: () => T, undo: () => void): Operation<T> {
    const subject = this.subject;
    return {
      syscall: "fcntl",
      subject,
      attempt: () => this.#set(range) ? took() : AGAIN,
      source: lazySource(() => {
        // The parked call's own struct: its address tells its thread apart, and a cancel spoils it.
        const waiting = new Flock();
        return callSource({
          syscall: "fcntl",
          about: subject,
          start: () =>
            libc.fcntl_lock_parked(this.fdFor("fcntl"), C.F_OFD_SETLKW, waiting.set(range)),
          run: () => libc.fcntl_lock(this.fdFor("fcntl"), C.F_OFD_SETLKW, this.#flock.set(range)),
          done: took,
          thread: () => ({ syscall: C.SYS_fcntl, arg: 2, value: addressOf(waiting.bytes) }),
          // SA_RESTART restarts a lock wait, and the kernel reads the struct anew each time.
          defuse: () => waiting.spoil(),
          // So that a cancelled wait leaves things as they were.
          release: () => {
            undo();
            return true;
          },
        });
      }),
    };
  }

  /** One `F_OFD_SETLK` of `range`: false when another owner's lock is in the way. */
  #set(range: Range): boolean {
    const fd = this.fdFor("fcntl");
    if (libc.fcntl_lock(fd, C.F_OFD_SETLK, this.#flock.set(range)) >= 0) return true;
    const code = lastErrno();
    // POSIX allows EACCES for a lock in the way; EINTR: a signal came, try again.
    if (code === E.EAGAIN || code === E.EACCES || code === E.EINTR) return false;
    throw errorFromCode(code, "fcntl", this.subject, rangeText(range));
  }

  #took(range: Range): RecordLock {
    const lock = heldLock(range, this.#owner);
    this.#held.add(lock);
    this.#pending.delete(range);
    return lock;
  }

  /** Releases `range` (`F_UNLCK`); nothing after `close()`, which released it. */
  #unlockRange(range: Range): void {
    if (this.closed) return;
    const unlock = this.#flock.set(range, C.F_UNLCK);
    ok(libc.fcntl_lock(this.fdFor("fcntl"), C.F_OFD_SETLK, unlock), "fcntl", this.subject);
  }

  #holderOf(range: Range): LockHolder | null {
    const flock = this.#flock;
    ok(
      libc.fcntl_lock(this.fdFor("fcntl"), C.F_OFD_GETLK, flock.set(range)),
      "fcntl",
      this.subject,
    );
    const found = flock.holder();
    if (found === null) return null;
    const { start, length, shared } = found.range;
    // F_OFD_GETLK reports -1 for an open file description lock: it has no one process.
    return found.pid > 0 ? { start, length, shared, pid: found.pid } : { start, length, shared };
  }
}

/** "are locked by process 7 (an exclusive lock of bytes 0 onwards)", for messages. */
function holderText(h: LockHolder): string {
  const by = h.pid === undefined ? "another open of the file" : `process ${h.pid}`;
  return `are locked by ${by} (${h.shared ? "a shared" : "an exclusive"} lock of ${rangeText(h)})`;
}

/** TypeError unless `kind` (undefined: nothing there) is a regular file. */
function checkRegular(kind: FileKind | undefined, path: string): void {
  if (kind !== undefined && kind !== "file") {
    throw new TypeError(`'${path}' is not a regular file (it is ${A_FILE_KIND[kind]})`);
  }
}

/**
 * Opens `path`; with `mode` (create), makes it when absent, with exactly that
 * mode. Returns the descriptor.
 */
function openFile(c: Uint8Array, flags: number, mode: number | undefined, path: string): number {
  for (let tries = 0;; tries++) {
    if (mode !== undefined) {
      const fd = libc.open(c, flags | C.O_CREAT | C.O_EXCL, mode);
      if (fd >= 0) {
        // open(2) applied the umask.
        if (libc.fchmod(fd, mode) < 0) {
          const code = lastErrno();
          libc.close(fd);
          throw errorOf(code, "fchmod", { path });
        }
        return fd;
      }
      if (lastErrno() !== E.EEXIST) throw errorOf(lastErrno(), "open", { path });
    }
    const fd = libc.open(c, flags, 0);
    if (fd >= 0) return fd;
    const code = lastErrno();
    if (mode === undefined || code !== E.ENOENT) throw errorOf(code, "open", { path });
    // O_EXCL found something there that the open without it did not: a symbolic link to
    // nothing (O_EXCL never follows one), or a file removed between the two opens.
    if (fileOf(path, false)?.kind === "symbolic link") {
      throw errorFromCode(
        code,
        "open",
        { path },
        "it is a symbolic link to nothing: make its target, or open the target's path",
      );
    }
    if (tries >= OPEN_TRIES) {
      throw errorFromCode(code, "open", { path }, "it was removed each time it was made");
    }
  }
}
