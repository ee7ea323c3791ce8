/**
 * System V shared memory: `shmget(2)`, `shmat(2)`, `shmdt(2)`, `shmctl(2)`,
 * with a zero-copy `Uint8Array` over the segment.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { AGAIN, attempt, E, errorOf, lastErrno, ok } from "../_sys.ts";
import { checkAccess, checkInteger, checkOptions, onlyKnown } from "../_check.ts";
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
import { Mapping } from "./_mapping.ts";
import { releaseIdle } from "../_wait/mod.ts";

export type { SysvOpenOptions, SysvOwnership, SysvOwnershipChange } from "../_sysv.ts";

/** The keys of {@link SharedMemoryOpenOptions}: another one is a mistake, not ignored. */
const OPEN_OPTIONS: ReadonlySet<string> = new Set([
  "size",
  "access",
  "create",
  "exclusive",
  "mode",
]);
const FROM_ID_OPTIONS: ReadonlySet<string> = new Set(["access"]);
/**
 * Unknown options are a TypeError, not ignored: `readOnly`, the option's
 * name before `access`, ignored would attach read-write.
 */
function checkKnown(options: object, known: ReadonlySet<string>, what: string): void {
  onlyKnown(
    options,
    known,
    what,
    Object.hasOwn(options, "readOnly") ? 'read-only is access: "read"' : undefined,
  );
}

/**
 * Options of {@link SharedMemory.open}.
 *
 * @example Create a segment by key; attach it again, read-only
 * ```ts
 * import { SharedMemory } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * const key = SharedMemory.ftok(dir, 1);
 * using rw = SharedMemory.open(key, { create: true, exclusive: true, size: 64 });
 * using ro = SharedMemory.open(key, { access: "read" }); // it exists: no size needed
 * rw.remove();
 * rw.bytes[0] = 9;
 * assert.deepEqual([ro.size, ro.access, ro.read(0, 1)[0]], [64, "read", 9]);
 * Deno.removeSync(dir);
 * ```
 */
export interface SharedMemoryOpenOptions extends SysvOpenOptions {
  /**
   * The size in bytes of a segment this call creates: required then, an
   * integer 1..{@link SharedMemoryLimits.maxSize}. Opening an existing
   * segment, omit it (or give at most its size: `shmget` refuses a larger one).
   */
  size?: number;
  /**
   * `"read"` attaches read-only (`SHM_RDONLY`), which needs only read
   * permission: such a handle has no writable view, and is read with
   * `read()`/`readInto()`. Default `"readwrite"`.
   */
  access?: "read" | "readwrite";
}

/**
 * Options of {@link SharedMemory.fromId}.
 *
 * @example A read-only attachment has no writable view
 * ```ts
 * import { SharedMemory } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using rw = SharedMemory.open("private", { size: 8 });
 * rw.remove();
 * using ro = SharedMemory.fromId(rw.id, { access: "read" });
 * assert.equal(ro.access, "read");
 * assert.throws(() => ro.bytes, TypeError); // copy bytes out with read() instead
 * ```
 */
export interface SharedMemoryFromIdOptions {
  /**
   * `"read"` attaches read-only (`SHM_RDONLY`); see
   * {@link SharedMemoryOpenOptions.access}. Default `"readwrite"`.
   */
  access?: "read" | "readwrite";
}

/**
 * What `shmctl(IPC_STAT)` reports about a segment. Times are whole seconds from the
 * kernel's coarse clock, which may still read the previous second for a tick
 * (a few ms) after `Date.now()` has entered the next.
 *
 * @example
 * ```ts
 * import { SharedMemory, type SharedMemoryStat } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using shm = SharedMemory.open("private", { size: 64 });
 * const before: SharedMemoryStat = shm.stat();
 * assert.deepEqual([before.size, before.attached, before.removed], [64, 1, false]);
 * shm.remove(); // only marks it: it goes at the last detach
 * assert.equal(shm.stat().removed, true);
 * ```
 */
export interface SharedMemoryStat extends SysvOwnership {
  /** Its size in bytes (`shm_segsz`). */
  size: number;
  /** How many attachments it has, in every process (`shm_nattch`). */
  attached: number;
  /** Pid of the creator. */
  creatorPid: number;
  /** Pid of the last `shmat`/`shmdt`. */
  lastPid: number;
  /** Time of the last `shmat`, or `null`. */
  lastAttach: Date | null;
  /** Time of the last `shmdt`, or `null`. */
  lastDetach: Date | null;
  /** Time of the last change (creation, `IPC_SET`, `IPC_RMID`). */
  lastChange: Date;
  /** Marked for destruction (`SHM_DEST`): it goes at the last detach. */
  removed: boolean;
  /** Locked in memory (`SHM_LOCKED`, `shmctl(SHM_LOCK)`). */
  locked: boolean;
}

/**
 * The kernel's shared-memory limits (`shmctl(IPC_INFO)`); values above 2^53-1 read as 2^53-1.
 *
 * @example A segment past `maxSize` is refused before any system call
 * ```ts
 * import { SharedMemory, type SharedMemoryLimits } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const limits: SharedMemoryLimits = SharedMemory.limits();
 * assert.ok(limits.minSize >= 1 && limits.maxSegments >= 1);
 * assert.throws(() => SharedMemory.open("private", { size: limits.maxSize + 1 }), RangeError);
 * ```
 */
export interface SharedMemoryLimits {
  /** The largest segment, in bytes (`kernel.shmmax`). */
  maxSize: number;
  /** The smallest segment, in bytes (`shmmin`, 1 on Linux). */
  minSize: number;
  /** How many segments the system holds (`kernel.shmmni`). */
  maxSegments: number;
  /** How many pages all segments together may use (`kernel.shmall`). */
  maxTotalPages: number;
}

const SHMID_DS = LAYOUTS.shmid_ds;
const SHMINFO = LAYOUTS.shminfo;
const WHAT = "shared memory segment";
/** `shmat` fails with `(void *) -1`: FFI gives its value as 2^64-1 (or -1, read signed). */
const FAILED = 2n ** 64n - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

const safe = (v: bigint): number => Number(v > SAFE_MAX ? SAFE_MAX : v);

/** `IPC_STAT` of segment `id` into a fresh buffer, decoded. */
function statOf(id: number): ReturnType<typeof SHMID_DS.decode> {
  const buf = new Uint8Array(SHMID_DS.size);
  ok(libc.shmctl(id, C.IPC_STAT, buf), "shmctl", { id });
  return SHMID_DS.decode(buf);
}

/** The size `shmget` gets: checked; 0 ("any") to open an existing segment without one. */
function sizeOf(size: unknown, creating: boolean): number {
  if (size === undefined) {
    if (creating) {
      // Missing, so not a number: as PosixSharedMemory's "create needs size".
      throw new TypeError("size is required to create a segment: give its size in bytes");
    }
    return 0;
  }
  const bytes = checkInteger(size, "size", 1, Number.MAX_SAFE_INTEGER, "1..2^53-1 (bytes)");
  const max = SharedMemory.limits().maxSize;
  if (bytes > max) {
    throw new RangeError(
      `size ${bytes} exceeds the kernel's shmmax (${max} bytes, /proc/sys/kernel/shmmax)`,
    );
  }
  return bytes;
}

/**
 * A System V shared memory segment, attached to this process: {@link SharedMemory.bytes}
 * is the memory itself, so what one process writes another sees at once,
 * with no call and no copy. `Atomics` on views of it (e.g. an `Int32Array`
 * over `bytes.buffer`) are atomic across processes.
 *
 * The segment outlives every process until {@link SharedMemory.remove}, which
 * only marks it: the kernel destroys it at its last detach, and the handle
 * stays usable until {@link SharedMemory.close}. Closing detaches every view
 * first (each reads as length 0 afterwards), so no access to detached memory
 * can crash the process.
 *
 * Wraps `shmget(2)`, `shmat(2)`, `shmdt(2)`, `shmctl(2)` and `ftok(3)`.
 * Needs `--allow-ffi`.
 *
 * @example Parent and child share a segment by its id
 * ```ts ignore
 * import { SharedMemory, spawn } from "@libc/ipc";
 * if (Deno.args[0] === "child") {
 *   using shm = SharedMemory.fromId(Number(Deno.args[1]));
 *   console.log(new TextDecoder().decode(shm.bytes.subarray(0, 5))); // "hello"
 * } else {
 *   using shm = SharedMemory.open("private", { size: 4096 });
 *   shm.remove(); // gone once both have detached
 *   shm.bytes.set(new TextEncoder().encode("hello"));
 *   await spawn(import.meta.url, { args: ["child", String(shm.id)] }).status;
 * }
 * ```
 */
export class SharedMemory implements Disposable {
  /** The segment id (`shmid`). */
  readonly id: number;
  /** The segment's key when the handle was opened (0 for a private segment). */
  readonly key: number;
  /** The segment's size in bytes, as the kernel has it. */
  readonly size: number;
  readonly #readOnly: boolean;
  readonly #mapping: Mapping;
  readonly #subject: { id: number };

  private constructor(
    id: number,
    key: number,
    size: number,
    readOnly: boolean,
    mapping: Mapping,
    subject: { id: number },
  ) {
    this.id = id;
    this.key = key;
    this.size = size;
    this.#readOnly = readOnly;
    this.#mapping = mapping;
    this.#subject = subject;
  }

  /**
   * Attaches segment `id`; `key` undefined takes the segment's own. A segment
   * this call `created` (nobody else knows its id) is removed if that fails.
   */
  static #attach(
    id: number,
    key: number | undefined,
    readOnly: boolean,
    created: boolean,
  ): SharedMemory {
    const subject = { id };
    try {
      const ds = statOf(id);
      if (ds.shm_segsz > SAFE_MAX) {
        throw new RangeError(`segment ${id} has ${ds.shm_segsz} bytes: more than a view can span`);
      }
      const size = Number(ds.shm_segsz);
      // Never a chosen address: the kernel picks one that clobbers nothing.
      const p = libc.shmat(id, null, readOnly ? C.SHM_RDONLY : 0);
      const code = lastErrno(); // before anything else can touch it
      const v = p === null ? 0n : BigInt(Deno.UnsafePointer.value(p));
      if (v === FAILED || v === -1n) throw errorOf(code, "shmat", subject);
      // shmat never maps page 0; this only narrows the type.
      if (p === null) throw new Error(`shmat returned NULL for ${WHAT} ${id}`);
      let mapping: Mapping;
      try {
        mapping = new Mapping(
          p,
          size,
          () => void ok(libc.shmdt(p), "shmdt", subject),
          WHAT,
          subject,
          `shm ${id}`,
        );
      } catch (e) {
        libc.shmdt(p);
        throw e;
      }
      return new SharedMemory(id, key ?? ds.shm_perm.__key, size, readOnly, mapping, subject);
    } catch (e) {
      if (created) libc.shmctl(id, C.IPC_RMID, null);
      throw e;
    }
  }

  /**
   * Opens (or with `create`, creates) the segment of `key` and attaches it
   * (`shmget(2)`, `shmat(2)` at an address the kernel picks). Opening an
   * existing segment asks for no permission bits, as `shmget(key, 0, 0)`
   * does (with `create`, for those of `mode`, as `IPC_CREAT` does): attaching
   * then needs read permission, and write permission unless `access` is `"read"`. A
   * segment this call created (`"private"`, or with `create` when the key had
   * none) but could not attach is removed again; one that existed is left as
   * it was.
   *
   * Needs `--allow-ffi`.
   *
   * @param key a key (a 32-bit integer, e.g. from {@link SharedMemory.ftok}) or
   *   `"private"` for a new segment only this process knows the id of (`IPC_PRIVATE`)
   * @param options `size` (required to create), `create`, `exclusive`, `mode` (default 0600),
   *   `access`
   * @returns the attached segment
   * @throws {TypeError} when `key` is neither a number nor `"private"`, `options` is not an
   *   object, `size` is missing when creating, `exclusive` is set without `create`, or an option
   *   has the wrong type (`size` or `mode` not a number, `create` or `exclusive` not a
   *   boolean)
   * @throws {RangeError} for a `key` that is not a 32-bit integer (-2^31..2^32-1) or is 0 (that is
   *   `IPC_PRIVATE`: pass `"private"`), a `mode` outside 0..0o777, or a `size` that is not an
   *   integer 1..shmmax
   * @throws {Deno.errors.NotFound} no segment has that key and `create` is not set
   * @throws {Deno.errors.AlreadyExists} with `create` and `exclusive`, when it exists
   * @throws {Deno.errors.PermissionDenied} when the mode denies this user the access asked for
   * @throws {IpcError} EINVAL when an existing segment is smaller than `size`; ENOSPC when
   *   the system has `kernel.shmmni` segments or `kernel.shmall` pages already; ENOMEM
   *   when memory or address space runs out
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = SharedMemory.open("private", { size: 4096 });
   * shm.bytes[0] = 42;
   * assert.equal(shm.read(0, 1)[0], 42);
   * assert.equal(shm.stat().mode, 0o600);
   * shm.remove(); // destroyed when the handle detaches
   * ```
   */
  static open(key: number | "private", options: SharedMemoryOpenOptions = {}): SharedMemory {
    checkOptions(options);
    checkKnown(options, OPEN_OPTIONS, "SharedMemory.open options");
    const key32 = keyOf(key, "segment");
    const flags = getFlags(key, options);
    const readOnly = checkAccess(options.access) === "read";
    const size = sizeOf(options.size, (flags & C.IPC_CREAT) !== 0);
    const subject = { key: key32 };
    // Beyond the checks above, EINVAL is an existing segment smaller than `size`.
    const about = (code: number) =>
      getError(
        code,
        "shmget",
        subject,
        code === E.EINVAL && size > 0 ? `the segment is smaller than ${size} bytes` : undefined,
      );
    const get = (f: number, again: number[]) =>
      attempt(() => libc.shmget(key32, BigInt(size), f), "shmget", about, again);
    let id: number | typeof AGAIN = (flags & C.IPC_CREAT) === 0 ? get(flags, []) : AGAIN;
    let created = false;
    // Create exclusively first: only a segment this call made is removed if attaching fails.
    while (id === AGAIN) {
      id = get(flags | C.IPC_EXCL, (flags & C.IPC_EXCL) !== 0 ? [] : [E.EEXIST]);
      created = id !== AGAIN;
      // It exists: open it as IPC_CREAT would have (the same size and permission checks),
      // unless it was removed in between (then create it again).
      if (id === AGAIN) id = get(flags & ~(C.IPC_CREAT | C.IPC_EXCL), [E.ENOENT]);
    }
    return SharedMemory.#attach(id, key === "private" ? 0 : key32, readOnly, created);
  }

  /**
   * Attaches an existing segment by its id (e.g. one a parent passed to its
   * child), reading its size with `shmctl(IPC_STAT)`, which needs read
   * permission on it. A segment marked removed but still attached somewhere
   * can be attached too (Linux).
   *
   * Wraps `shmctl(2)` and `shmat(2)`. Needs `--allow-ffi`.
   *
   * @param id the segment id
   * @param options `access`
   * @returns the attached segment
   * @throws {TypeError} when `id` is not a number, `options` is not an object, or `access` is
   *   neither `"read"` nor `"readwrite"`
   * @throws {RangeError} when `id` is not an integer 0..2^31-1
   * @throws {IpcError} EINVAL when no segment has that id (or it has been destroyed)
   * @throws {Deno.errors.PermissionDenied} when the mode denies this user the access asked for
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using a = SharedMemory.open("private", { size: 64 });
   * using b = SharedMemory.fromId(a.id);
   * a.bytes[3] = 7;
   * assert.equal(b.bytes[3], 7); // the same memory
   * assert.equal(b.stat().attached, 2);
   * a.remove();
   * ```
   */
  static fromId(id: number, options: SharedMemoryFromIdOptions = {}): SharedMemory {
    checkOptions(options);
    checkKnown(options, FROM_ID_OPTIONS, "SharedMemory.fromId options");
    const checked = checkId(id);
    return SharedMemory.#attach(
      checked,
      undefined,
      checkAccess(options.access) === "read",
      false,
    );
  }

  /**
   * Derives a key from an existing file and a project id (`ftok(3)`): processes
   * that agree on both get the same segment. The key is built from the file's
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
   * import { SharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * assert.equal(SharedMemory.ftok("/", 7), SharedMemory.ftok("/", 7));
   * ```
   */
  static ftok(path: PathLike, projId: number): number {
    return ftok(path, projId);
  }

  /**
   * The kernel's shared-memory limits (`shmctl(0, IPC_INFO)`); no permission needed.
   *
   * Wraps `shmctl(2)`. Needs `--allow-ffi`.
   *
   * @returns the largest and smallest segment, the most segments, the most pages in all
   * @throws {Deno.errors.NotSupported} if the kernel has no System V IPC
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const { maxSize, minSize } = SharedMemory.limits();
   * assert.ok(minSize >= 1 && maxSize >= minSize);
   * ```
   */
  static limits(): SharedMemoryLimits {
    const buf = new Uint8Array(SHMINFO.size);
    ok(libc.shmctl(0, C.IPC_INFO, buf), "shmctl");
    const info = SHMINFO.decode(buf);
    return {
      maxSize: safe(info.shmmax),
      minSize: safe(info.shmmin),
      maxSegments: safe(info.shmmni),
      maxTotalPages: safe(info.shmall),
    };
  }

  /**
   * How it is attached: `"readwrite"`, or `"read"` (`SHM_RDONLY`), when
   * {@link SharedMemory.bytes} throws and {@link SharedMemory.read} reads it.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = SharedMemory.open("private", { size: 8 });
   * assert.equal(shm.access, "readwrite");
   * shm.remove();
   * ```
   */
  get access(): "read" | "readwrite" {
    return this.#readOnly ? "read" : "readwrite";
  }

  /**
   * The memory itself, zero-copy: writes are seen by every process attached
   * at once. Views made from it (`subarray`, or a `DataView`/`Int32Array` over
   * `bytes.buffer`) read as length 0 after {@link SharedMemory.close}; `bytes`
   * itself is then a `BadResource` error, as every use of a closed handle.
   * An operation of Deno's own still pending on them (`conn.read(shm.bytes)`)
   * holds the address, which the library cannot see: let it settle first, or
   * it writes into whatever is attached there next.
   *
   * The memory `shmat(2)` attached. Needs `--allow-ffi` (to open the handle).
   *
   * @returns the view over the whole segment
   * @throws {TypeError} on a read-only handle: V8 has no read-only views, and a write to
   *   read-only memory would kill the process; use {@link SharedMemory.read} or
   *   {@link SharedMemory.readInto}, or attach read-write
   * @throws {TypeError} once `bytes.buffer` was transferred away. Moved whole (posted to a
   *   Worker with a transfer list, or `transfer()` of the same length), the memory stays mapped
   *   for that buffer until this process exits; `transfer(n)` of another length copies it into
   *   private memory, which no other process sees, and the mapping stays until exit all the same
   * @throws {Deno.errors.BadResource} after `close()` (the views taken before read as length 0)
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const shm = SharedMemory.open("private", { size: 16 });
   * const words = new Int32Array(shm.bytes.buffer);
   * Atomics.store(words, 0, 5);
   * assert.equal(shm.bytes[0], 5);
   * shm.remove();
   * shm.close();
   * assert.equal(words.length, 0); // detached, never a crash
   * ```
   */
  get bytes(): Uint8Array<ArrayBuffer> {
    this.#mapping.check("bytes");
    if (this.#readOnly) {
      throw new TypeError(
        `${WHAT} ${this.id} is attached read-only and has no view: a write through one would ` +
          "kill the process (V8 has no read-only typed arrays); copy bytes out with read() " +
          'or readInto(), or attach it with access "readwrite"',
      );
    }
    return this.#mapping.bytes;
  }

  /**
   * Whether the handle is closed (detached with `shmdt(2)`).
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const shm = SharedMemory.open("private", { size: 8 });
   * shm.remove();
   * assert.equal(shm.closed, false); // removal only marks it
   * shm.close();
   * assert.equal(shm.closed, true);
   * ```
   */
  get closed(): boolean {
    return !this.#mapping.mapped;
  }

  /**
   * A copy of `length` bytes from `offset` (by default the rest of the
   * segment): the way to read a read-only handle; works on any handle.
   *
   * Copies from the memory `shmat(2)` attached. Needs `--allow-ffi`.
   *
   * @param offset where to start, 0..size (default 0); first, as in `subarray` (Python's
   *   sysv_ipc takes the count first: `read(byte_count, offset)`)
   * @param length how many bytes, 0..size-offset (default: to the end)
   * @returns the bytes, in a buffer of their own
   * @throws {TypeError} when `offset` or `length` is not a number
   * @throws {RangeError} when `offset` or `length` is not an integer in range
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using rw = SharedMemory.open("private", { size: 8 });
   * rw.bytes.set([1, 2, 3, 4]);
   * using ro = SharedMemory.fromId(rw.id, { access: "read" });
   * assert.deepEqual(ro.read(1, 3), new Uint8Array([2, 3, 4]));
   * rw.remove();
   * ```
   */
  read(offset?: number, length?: number): Uint8Array<ArrayBuffer> {
    return this.#mapping.read(offset, length, "shmat");
  }

  /**
   * Copies bytes from `offset` into `target`: as many as fit, at most to the
   * end of the segment. Allocates nothing.
   *
   * Copies from the memory `shmat(2)` attached. Needs `--allow-ffi`.
   *
   * @param target where the bytes go
   * @param offset where to start, 0..size (default 0)
   * @returns how many bytes were copied: `min(target.length, size - offset)`
   * @throws {TypeError} when `target` is not a Uint8Array or is detached, or `offset` is not a number
   * @throws {RangeError} when `offset` is not an integer 0..size
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = SharedMemory.open("private", { size: 4 });
   * shm.bytes.set([9, 8, 7, 6]);
   * const out = new Uint8Array(8);
   * assert.equal(shm.readInto(out, 1), 3);
   * assert.deepEqual(out.subarray(0, 3), new Uint8Array([8, 7, 6]));
   * shm.remove();
   * ```
   */
  readInto(target: Uint8Array, offset?: number): number {
    return this.#mapping.readInto(target, offset, "shmat");
  }

  /**
   * The segment's state (`shmctl(IPC_STAT)`); works after {@link SharedMemory.remove}
   * while the handle is open (the segment lives while attached).
   *
   * Needs `--allow-ffi`.
   *
   * @returns size, attachments, pids, times, owner, mode, and the removed and locked flags
   * @throws {Deno.errors.PermissionDenied} when this user may not read the segment
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = SharedMemory.open("private", { size: 100 });
   * const st = shm.stat();
   * assert.deepEqual([st.size, st.attached, st.creatorPid], [100, 1, Deno.pid]);
   * shm.remove();
   * assert.equal(shm.stat().removed, true);
   * ```
   */
  stat(): SharedMemoryStat {
    this.#mapping.check("shmctl");
    const ds = statOf(this.id);
    const perm = ds.shm_perm;
    return {
      ...ownershipOf(perm),
      size: safe(ds.shm_segsz),
      attached: safe(ds.shm_nattch),
      creatorPid: ds.shm_cpid,
      lastPid: ds.shm_lpid,
      lastAttach: timeOf(ds.shm_atime),
      lastDetach: timeOf(ds.shm_dtime),
      lastChange: timeOf(ds.shm_ctime) ?? new Date(0),
      removed: (perm.mode & C.SHM_DEST) !== 0,
      locked: (perm.mode & C.SHM_LOCKED) !== 0,
    };
  }

  /**
   * Changes the segment's owner (`uid`, `gid`) or permission bits (`mode`),
   * as sysv_ipc's `uid`/`gid`/`mode` setters and C's `shmctl(IPC_SET)` after
   * `IPC_STAT` do: the fields given are set, the others stay as they are;
   * the creator stays the creator. Only the owner, the creator or a process
   * with `CAP_SYS_ADMIN` may do it, and they may give the segment to any
   * user. Attachments made already keep their access: the mode is checked
   * at `shmat`. It names the segment by id, as {@link SharedMemory.remove}
   * does: it works after `detach()` too, and on a segment marked removed
   * while something still has it attached.
   *
   * Wraps `shmctl(2)` (`IPC_STAT`, then `IPC_SET`). Needs `--allow-ffi`.
   *
   * @param change `uid`, `gid` (0..2^32-2) and `mode` (0..0o777), each optional
   * @throws {TypeError} when `change` is not an object, has another key (`owner`, `perms`),
   *   or a field is not a number
   * @throws {RangeError} when `uid` or `gid` is not an integer 0..2^32-2 (2^32-1 is
   *   `(uid_t)-1`), or `mode` not one 0..0o777
   * @throws {Deno.errors.PermissionDenied} EACCES when this user may not read the segment; EPERM
   *   when it is neither the owner nor the creator, and lacks `CAP_SYS_ADMIN`
   * @throws {IpcError} EINVAL when the segment is gone (removed, and detached by all), or
   *   `uid` or `gid` has no mapping in this user namespace
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const shm = SharedMemory.open("private", { size: 64 });
   * shm.detach();
   * shm.setOwnership({ mode: 0o640 }); // by id, as C's shmctl: after shmdt too
   * using again = SharedMemory.fromId(shm.id);
   * assert.deepEqual([again.stat().mode, again.stat().creatorUid], [0o640, Deno.uid()]);
   * again.remove();
   * ```
   */
  setOwnership(change: SysvOwnershipChange): void {
    setOwnershipOf(change, {
      stat: () => statOf(this.id),
      perm: (ds) => ds.shm_perm,
      set: (ds) => libc.shmctl(this.id, C.IPC_SET, SHMID_DS.encode(ds)),
      error: (code) => errorOf(code, "shmctl", this.#subject),
      unreadable: () => withPerm(SHMID_DS.decode(new Uint8Array(SHMID_DS.size)), "shm", this.id),
    });
  }

  /**
   * Marks the segment for destruction (`shmctl(IPC_RMID)`): its key is freed
   * at once, and the kernel destroys it when the last process detaches. This
   * handle stays attached and usable until {@link SharedMemory.close}. It names
   * the segment by id, as C's `shmctl` does: it works after `detach()` too
   * (C's order: `shmdt`, then `IPC_RMID`).
   *
   * Needs `--allow-ffi`.
   *
   * @throws {Deno.errors.PermissionDenied} when this user may not remove it (neither its owner
   *   nor its creator)
   * @throws {IpcError} EINVAL when the segment is gone (removed, and detached by all)
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const shm = SharedMemory.open("private", { size: 8 });
   * shm.remove();
   * shm.bytes[0] = 1; // still attached
   * shm.close(); // the last detach: destroyed
   * assert.throws(() => SharedMemory.fromId(shm.id), { code: "EINVAL" });
   * ```
   */
  remove(): void {
    ok(libc.shmctl(this.id, C.IPC_RMID, null), "shmctl", this.#subject);
  }

  /**
   * Lets this process exit while a futex `wait()` on a word in this segment is pending, like
   * `Deno.Conn.unref()`. While the process runs for other reasons, an unref'd wait still
   * completes: it polls without a thread (and so sees a change of the word, not a `notify` that
   * leaves it as it was), within 10 ms for its first quarter second, then within 50 ms. Applies
   * to pending waits too.
   *
   * @example
   * ```ts
   * import { notify, SharedMemory, wait } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = SharedMemory.open("private", { size: 4 });
   * shm.remove();
   * const word = new Int32Array(shm.bytes.buffer);
   * const woken = wait(word, 0, 0);
   * shm.unref(); // the wait goes on, but no longer keeps the process alive
   * Atomics.store(word, 0, 1);
   * notify(word, 0);
   * shm.ref(); // it keeps the process alive again while it is awaited below
   * assert.equal(await woken, "ok");
   * ```
   */
  unref(): void {
    this.#mapping.waits.ref = false;
  }

  /**
   * Undoes {@link SharedMemory.unref}: pending and later waits keep the process
   * alive again (the default).
   *
   * @example
   * ```ts
   * import { notify, SharedMemory, wait } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = SharedMemory.open("private", { size: 4 });
   * shm.remove();
   * shm.unref();
   * shm.ref();
   * const word = new Int32Array(shm.bytes.buffer);
   * const woken = wait(word, 0, 0);
   * Atomics.store(word, 0, 1);
   * notify(word, 0);
   * assert.equal(await woken, "ok");
   * ```
   */
  ref(): void {
    this.#mapping.waits.ref = true;
  }

  /**
   * Detaches the segment (`shmdt(2)`): every view of it reads as length 0
   * from then on, futex waits on words in it end with `BadResource`, and the
   * segment lives on unless it was removed and this was its last attachment.
   * Closing twice does nothing.
   *
   * Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const shm = SharedMemory.open("private", { size: 8 });
   * const view = shm.bytes;
   * shm.remove();
   * shm.close();
   * shm.close();
   * assert.equal(view.length, 0);
   * ```
   */
  close(): void {
    this.#mapping.unmap();
    releaseIdle();
  }

  /**
   * Detaches the segment: the same as {@link SharedMemory.close}.
   *
   * Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const shm = SharedMemory.open("private", { size: 8 });
   * shm.remove();
   * shm.detach();
   * assert.equal(shm.closed, true);
   * ```
   */
  detach(): void {
    this.close();
  }

  /**
   * Detaches the segment (`using`); it lives on unless removed. See {@link SharedMemory.close}.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * let id: number;
   * {
   *   using shm = SharedMemory.open("private", { size: 8 });
   *   id = shm.id;
   * } // detached here
   * using again = SharedMemory.fromId(id);
   * assert.equal(again.stat().attached, 1);
   * again.remove();
   * ```
   */
  [Symbol.dispose](): void {
    this.#mapping.unmap();
  }
}
