/**
 * POSIX shared memory (`shm_overview(7)`): named objects in `/dev/shm`
 * (`shm_open(3)`), anonymous ones for children (`memfd_create(2)`), each
 * mapped whole into the process (`mmap(2)`) as one zero-copy `Uint8Array`.
 *
 * @module
 */
import { cString } from "../../ffi/cstring.ts";
import { libc } from "../../ffi/libc.ts";
import { C } from "../../ffi/platform.ts";
import { AGAIN, attempt, E, errorOf, failed, lastErrno, ok } from "../_sys.ts";
import { closedError, closedFdError, type ErrorSubject } from "../errors.ts";
import { checkAccess, checkBoolean, checkInteger, checkMode, checkOptions } from "../_check.ts";
import { posixName } from "../_posix_name.ts";
import { type FileCopy, Mapping } from "./_mapping.ts";
import { checkNotOwned, disown, own } from "../_owned_fds.ts";
import { closeOwnedFd } from "../_wait/mod.ts";
import { fileOfFd } from "../_path.ts";

/** What the errors call it. */
const WHAT = "shared memory object";
/** `MAP_FAILED`, `(void *) -1`, as FFI gives a pointer's value. */
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;
/** The longest memfd name: `NAME_MAX` less the "memfd:" the kernel puts before it. */
const MEMFD_NAME_MAX = C.NAME_MAX - "memfd:".length;

/**
 * Options of {@link PosixSharedMemory.open}.
 *
 * @example Create with a size; open again without one, mapping it whole
 * ```ts
 * import { PosixSharedMemory } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const name = `/libc-ipc-doc-${Deno.pid}-open-options`;
 * using shm = PosixSharedMemory.open(name, { create: true, exclusive: true, size: 128 });
 * try {
 *   using whole = PosixSharedMemory.open(name);
 *   assert.equal(whole.size, 128);
 *   assert.throws(() => PosixSharedMemory.open(name, { size: 256 }), RangeError); // too large
 * } finally {
 *   PosixSharedMemory.unlink(name);
 * }
 * ```
 */
export interface PosixSharedMemoryOpenOptions {
  /**
   * Bytes to map. With `create` it is required: a new object is made this
   * large (`ftruncate(2)`, zero-filled), and an existing smaller one is grown
   * to it. Without `create` it may not exceed the object's size (a
   * RangeError says how large it is; {@link PosixSharedMemory.resize} grows
   * it); omitted, the whole object is mapped.
   */
  size?: number;
  /**
   * Create the object if it does not exist (`O_CREAT`); needs `size` and
   * access `"readwrite"`. Default `false`.
   */
  create?: boolean;
  /** With `create`: fail with `AlreadyExists` if the object exists (`O_EXCL`). */
  exclusive?: boolean;
  /**
   * Permission bits of an object this call creates, applied exactly (the
   * umask does not narrow them). Default `0o600`: owner only.
   */
  mode?: number;
  /**
   * `"readwrite"` (default): mapped for reading and writing, with a live
   * {@link PosixSharedMemory.bytes} view. `"read"`: opened `O_RDONLY` and
   * mapped `PROT_READ`; read it with {@link PosixSharedMemory.read} and
   * {@link PosixSharedMemory.readInto}.
   */
  access?: "read" | "readwrite";
}

/**
 * Options of {@link PosixSharedMemory.anonymous}.
 *
 * @example The name shows in `/proc`, and names nothing anyone can open
 * ```ts
 * import { PosixSharedMemory } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using shm = PosixSharedMemory.anonymous(64, { name: "scratch" });
 * assert.equal(Deno.readLinkSync(`/proc/self/fd/${shm.fd}`), "/memfd:scratch (deleted)");
 * assert.equal(shm.name, null);
 * ```
 */
export interface PosixSharedMemoryAnonymousOptions {
  /**
   * The memfd's name, only for debugging: it shows in `/proc/<pid>/fd` and
   * `/proc/<pid>/maps` as `/memfd:<name>`; it names nothing anyone can open.
   * At most 249 bytes. Default `"libc-ipc"`.
   */
  name?: string;
}

/**
 * Options of {@link PosixSharedMemory.fromFd}.
 *
 * @example A read-only mapping of a descriptor from elsewhere
 * ```ts
 * import { PosixSharedMemory } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const libc = Deno.dlopen("libc.so.6", { dup: { parameters: ["i32"], result: "i32" } });
 * using shm = PosixSharedMemory.anonymous(64);
 * shm.bytes[0] = 5;
 * using ro = PosixSharedMemory.fromFd(libc.symbols.dup(shm.fd), { access: "read" });
 * libc.close();
 * assert.deepEqual([ro.access, ro.read(0, 1)[0]], ["read", 5]);
 * ```
 */
export interface PosixSharedMemoryFromFdOptions {
  /** `"readwrite"` (default; the fd must be open `O_RDWR`) or `"read"` (mapped `PROT_READ`). */
  access?: "read" | "readwrite";
}

/**
 * POSIX shared memory: an object of the kernel's memory file system that
 * every process mapping it sees at once, with no call per access. Named
 * objects (`"/name"`, {@link PosixSharedMemory.open}) live in `/dev/shm`
 * until {@link PosixSharedMemory.unlink}; anonymous ones
 * ({@link PosixSharedMemory.anonymous}) have no name at all and reach a child
 * as a descriptor: `spawn(module, { fds: { 3: shm } })`, adopted there with
 * {@link PosixSharedMemory.fromFd}.
 *
 * The handle maps the object whole. {@link PosixSharedMemory.bytes} is a
 * zero-copy view over it; views taken from it (`subarray`, `new
 * Int32Array(shm.bytes.buffer)`, DataViews) stay valid until `close()` or
 * `resize()`, after which they read as length 0 and never touch unmapped
 * memory. `Atomics` on an Int32Array over it are atomic across processes.
 * A read-only handle has no view at all: a JavaScript write to a read-only
 * page would kill the process, and JavaScript has no read-only typed arrays;
 * it copies bytes out with {@link PosixSharedMemory.read} and
 * {@link PosixSharedMemory.readInto}.
 *
 * Two hazards come with the memory itself, not with this handle, and kill
 * the process with SIGBUS when met: touching bytes past the end of an object
 * that another process or another handle of this one shrank (each handle
 * maps the object itself), and writing a page of an object when the
 * memory file system (`/dev/shm`, usually half the RAM) is full, since pages
 * are allocated as they are first written.
 *
 * Wraps `shm_open(3)`, `ftruncate(2)`, `mmap(2)`, `munmap(2)`,
 * `shm_unlink(3)`, `memfd_create(2)`, `fstat(2)`. Needs `--allow-ffi`.
 *
 * @example Create, write, open again, read
 * ```ts
 * import { PosixSharedMemory } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const name = `/libc-ipc-doc-${Deno.pid}-class`;
 * using shm = PosixSharedMemory.open(name, { create: true, exclusive: true, size: 4096 });
 * try {
 *   shm.bytes.set([1, 2, 3]);
 *   using other = PosixSharedMemory.open(name); // any process may do this
 *   assert.deepEqual(other.bytes.subarray(0, 3), new Uint8Array([1, 2, 3]));
 * } finally {
 *   PosixSharedMemory.unlink(name);
 * }
 * ```
 *
 * @example A parent and the child it spawns share anonymous memory
 * ```ts ignore
 * import { PosixSharedMemory, spawn } from "@libc/ipc";
 * if (Deno.args[0] === "child") {
 *   using shm = PosixSharedMemory.fromFd(3);
 *   shm.bytes[0] = 42;
 * } else {
 *   using shm = PosixSharedMemory.anonymous(4096);
 *   await using child = spawn(import.meta.url, { args: ["child"], fds: { 3: shm } });
 *   await child.status;
 *   console.log(shm.bytes[0]); // 42
 * }
 * ```
 */
export class PosixSharedMemory implements Disposable {
  readonly #fd: number;
  readonly #name: string | null;
  readonly #access: "read" | "readwrite";
  readonly #subject: ErrorSubject;
  #mapping: Mapping;
  #closed = false;

  private constructor(
    fd: number,
    name: string | null,
    access: "read" | "readwrite",
    size: number,
  ) {
    this.#fd = fd;
    this.#name = name;
    this.#access = access;
    this.#subject = name === null ? { fd } : { path: name, fd };
    this.#mapping = map(fd, size, access, this.#subject);
    own(fd, () => "shared memory handle");
  }

  /**
   * Opens a named object, creating it with `create: true`, and maps it. The
   * descriptor is close-on-exec. An object this call creates gets exactly
   * `mode` (default `0o600`) and `size` zero bytes; an existing one keeps its
   * mode, and opening it asks for no permission bits.
   *
   * Every argument is checked before any system call. An object that another
   * process has just created may still be empty (its creator has not sized
   * it yet): opening it without `size` then throws a RangeError; opening it
   * with `create` and `size` sizes it. A call that throws leaves an existing
   * object as it was, its size too (it maps before it grows the object), and
   * unlinks one it created.
   *
   * Wraps `shm_open(3)` (and `fchmod(2)`, `ftruncate(2)`, `fstat(2)`,
   * `mmap(2)`). Needs `--allow-ffi`.
   *
   * @param name `"/"` followed by 1 to 255 bytes, none of them `"/"`
   * @param options `size`, `create`, `exclusive`, `mode`, `access`
   * @returns the open, mapped object; close it (or `using`) when done
   * @throws {TypeError} for a malformed name (no leading `"/"`, another `"/"`, a NUL, `"/."`), `options` that is not an object, an option of the wrong type, `exclusive` without `create`, `create` without `size` or with access `"read"`, or an object that is not a regular file
   * @throws {RangeError} for a name of the wrong length, a `size` that is not an integer 1..2^53-1, a `mode` out of range, a `size` larger than an existing object without `create`, or an empty object opened without `size`
   * @throws {Deno.errors.NotFound} when the object does not exist and `create` is not set
   * @throws {Deno.errors.AlreadyExists} when it exists and `exclusive` is set
   * @throws {Deno.errors.PermissionDenied} when its mode does not allow `access`
   * @throws {IpcError} EMFILE when out of descriptors, ENOMEM when the mapping does not fit, EFBIG when the file system refuses the size (tmpfs, as /dev/shm is, takes any: a page it has no room for fails when first touched, with SIGBUS, as in C)
   *
   * @example Create exclusively, then open read-only
   * ```ts
   * import { PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-open`;
   * const shm = PosixSharedMemory.open(name, {
   *   create: true,
   *   exclusive: true,
   *   size: 64,
   *   mode: 0o640,
   * });
   * try {
   *   shm.bytes[0] = 42;
   *   using view = PosixSharedMemory.open(name, { access: "read" });
   *   assert.equal(view.size, 64);
   *   assert.deepEqual(view.read(0, 1), new Uint8Array([42]));
   *   assert.throws(
   *     () => PosixSharedMemory.open(name, { create: true, exclusive: true, size: 64 }),
   *     Deno.errors.AlreadyExists,
   *   );
   * } finally {
   *   shm.close();
   *   PosixSharedMemory.unlink(name);
   * }
   * ```
   */
  static open(name: string, options: PosixSharedMemoryOpenOptions = {}): PosixSharedMemory {
    const c = posixName(name, "shared memory name", C.NAME_MAX + 1);
    checkOptions(options);
    const access = checkAccess(options.access);
    const create = checkBoolean(options.create, "create");
    const exclusive = checkBoolean(options.exclusive, "exclusive");
    const mode = checkMode(options.mode);
    const size = options.size === undefined ? undefined : checkSize(options.size);
    if (exclusive && !create) throw new TypeError("exclusive needs create: true");
    if (create && size === undefined) {
      throw new TypeError("create needs size: the bytes a new object has");
    }
    if (create && access === "read") {
      throw new TypeError(
        'create needs access "readwrite": a read-only descriptor cannot size the object',
      );
    }

    const subject = { path: name };
    const flags = (access === "read" ? C.O_RDONLY : C.O_RDWR) | C.O_CLOEXEC;
    const excl = C.O_CREAT | C.O_EXCL;
    const openExisting = (again: number[]) =>
      attempt(() => libc.shm_open(c, flags, 0), "shm_open", subject, again);
    let fd: number | typeof AGAIN = AGAIN;
    let created = false;
    if (!create) fd = openExisting([]);
    // Create exclusively first: only an object this call made gets its mode and size set.
    while (fd === AGAIN) {
      const exists = exclusive ? [] : [E.EEXIST];
      fd = attempt(() => libc.shm_open(c, flags | excl, mode), "shm_open", subject, exists);
      created = fd !== AGAIN;
      // It exists: open it, unless it was unlinked in between (then create it again).
      if (fd === AGAIN) fd = openExisting([E.ENOENT]);
    }
    try {
      let mapSize: number;
      // The size to give the object once it is mapped; undefined: it keeps its own.
      let grow: number | undefined;
      if (created) {
        // shm_open applies the umask; the mode asked for is the mode wanted.
        ok(libc.fchmod(fd, mode), "fchmod", subject);
        mapSize = grow = size!;
      } else {
        const current = sizeOf(fd, subject, `shared memory '${name}'`);
        if (size === undefined) {
          if (current === 0) {
            throw new RangeError(
              `shared memory '${name}' is empty (size 0): there is nothing to map; ` +
                "open it with create: true and a size, or once its creator has sized it",
            );
          }
          mapSize = current;
        } else if (size > current) {
          if (!create) {
            throw new RangeError(
              `size ${size} is larger than shared memory '${name}' (${current} bytes): ` +
                "open it without size, with create: true to grow it, or grow it with resize()",
            );
          }
          mapSize = grow = size;
        } else {
          mapSize = size;
        }
      }
      // Map first (past the end is allowed), then size: as resize(), a failure changes nothing.
      const shm = new PosixSharedMemory(fd, name, access, mapSize);
      if (grow !== undefined) {
        try {
          growTo(fd, grow, subject, `shared memory '${name}'`);
        } catch (e) {
          shm.#mapping.unmap();
          disown(fd); // closed below: its number is free for the next descriptor
          throw e;
        }
      }
      return shm;
    } catch (e) {
      libc.close(fd);
      if (created) libc.shm_unlink(c);
      throw e;
    }
  }

  /**
   * Removes an object's name. Processes that have it open or mapped keep
   * using it; its memory is freed when the last one closes it.
   *
   * Wraps `shm_unlink(3)`. Needs `--allow-ffi`.
   *
   * @param name the object's name, as given to {@link PosixSharedMemory.open}
   * @throws {TypeError} for a malformed name
   * @throws {RangeError} for a name of the wrong length
   * @throws {Deno.errors.NotFound} when no object has that name
   * @throws {Deno.errors.PermissionDenied} when the caller may not remove it
   *
   * @example
   * ```ts
   * import { PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const name = `/libc-ipc-doc-${Deno.pid}-unlink`;
   * PosixSharedMemory.open(name, { create: true, size: 16 }).close();
   * PosixSharedMemory.unlink(name);
   * assert.throws(() => PosixSharedMemory.unlink(name), Deno.errors.NotFound);
   * ```
   */
  static unlink(name: string): void {
    const c = posixName(name, "shared memory name", C.NAME_MAX + 1);
    ok(libc.shm_unlink(c), "shm_unlink", { path: name });
  }

  /**
   * Creates anonymous shared memory of `size` zero bytes and maps it: a
   * memfd, close-on-exec, with no name anyone can open. A child gets it
   * through `spawn(module, { fds: { 3: shm } })` and adopts it with
   * {@link PosixSharedMemory.fromFd}; the memory is freed when the last
   * process closes it.
   *
   * Wraps `memfd_create(2)` (with `MFD_CLOEXEC`), `ftruncate(2)`, `mmap(2)`.
   * Needs `--allow-ffi`.
   *
   * @param size bytes, an integer 1..2^53-1
   * @param options `name`, shown only in `/proc` for debugging
   * @returns the mapped memory; its {@link PosixSharedMemory.name} is null
   * @throws {TypeError} when `size` is not a number, `options` is not an object, or `name` is not a string or holds a NUL
   * @throws {RangeError} when `size` is not an integer 1..2^53-1, or `name` is longer than 249 bytes
   * @throws {IpcError} EMFILE when out of descriptors, ENOMEM when the mapping does not fit
   *
   * @example
   * ```ts
   * import { PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(4096, { name: "scratch" });
   * new Int32Array(shm.bytes.buffer)[0] = 7;
   * assert.equal(shm.name, null);
   * assert.equal(shm.read(0, 4)[0], 7);
   * // a child would get it as fd 3 with spawn(module, { fds: { 3: shm } })
   * ```
   */
  static anonymous(
    size: number,
    options: PosixSharedMemoryAnonymousOptions = {},
  ): PosixSharedMemory {
    const bytes = checkSize(size);
    checkOptions(options);
    // Only an absent name is the default: null is refused as any other non-string.
    const c = cString(options.name === undefined ? "libc-ipc" : options.name, "name");
    if (c.byteLength - 1 > MEMFD_NAME_MAX) {
      throw new RangeError(
        `name must be at most ${MEMFD_NAME_MAX} bytes (memfd_create's limit), got ${
          c.byteLength - 1
        }`,
      );
    }
    const fd = ok(libc.memfd_create(c, C.MFD_CLOEXEC), "memfd_create");
    try {
      ok(libc.ftruncate(fd, BigInt(bytes)), "ftruncate", { fd });
      return new PosixSharedMemory(fd, null, "readwrite", bytes);
    } catch (e) {
      libc.close(fd);
      throw e;
    }
  }

  /**
   * Adopts a descriptor of shared memory, typically the one a parent handed
   * over (`spawn(module, { fds: { 3: shm } })`), and maps the whole object
   * (its size from `fstat(2)`). The handle takes ownership: it makes the
   * descriptor close-on-exec and closes it on `close()`. When this throws,
   * the descriptor is left as it was, still the caller's.
   *
   * Wraps `fcntl(2)`, `fstat(2)`, `mmap(2)`. Needs `--allow-ffi`.
   *
   * @param fd an open descriptor of a shared memory object, memfd or regular file
   * @param options `access`: `"readwrite"` (default) or `"read"`
   * @returns the mapped memory; its {@link PosixSharedMemory.name} is null
   * @throws {TypeError} when an open handle of this library owns `fd` (it would close it
   *   under this one): pass a copy (`dup`)
   * @throws {TypeError} when `fd` is not a number, `options` is not an object, `access` is wrong or not allowed by the descriptor's open mode, or the descriptor is not a regular file (a pipe, a socket)
   * @throws {RangeError} when `fd` is not an integer 0..2^31-1, or the object is empty (size 0): there is nothing to map
   * @throws {Deno.errors.BadResource} when `fd` is not open (EBADF)
   *
   * @example
   * ```ts
   * import { PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const libc = Deno.dlopen("libc.so.6", { dup: { parameters: ["i32"], result: "i32" } });
   * using shm = PosixSharedMemory.anonymous(64);
   * shm.bytes[0] = 1;
   * // A descriptor from elsewhere; in a child, the fd 3 that spawn handed over.
   * using same = PosixSharedMemory.fromFd(libc.symbols.dup(shm.fd));
   * libc.close();
   * assert.equal(same.size, 64);
   * assert.equal(same.bytes[0], 1);
   * assert.throws(() => PosixSharedMemory.fromFd(-1), RangeError);
   * ```
   */
  static fromFd(fd: number, options: PosixSharedMemoryFromFdOptions = {}): PosixSharedMemory {
    fd = checkInteger(fd, "fd", 0, 0x7fffffff);
    checkOptions(options);
    const access = checkAccess(options.access);
    checkNotOwned(fd, "PosixSharedMemory.fromFd");
    const subject = { fd };
    const open = ok(libc.fcntl(fd, C.F_GETFL, 0), "fcntl", subject) & 3;
    if (access === "readwrite" && open !== C.O_RDWR) {
      throw new TypeError(
        `fd ${fd} is open ${open === C.O_RDONLY ? "read-only" : "write-only"}, ` +
          `not for reading and writing${
            open === C.O_RDONLY ? ': adopt it with access "read"' : ""
          }`,
      );
    }
    if (open === C.O_WRONLY) {
      throw new TypeError(`fd ${fd} is open write-only: memory cannot be mapped from it`);
    }
    const size = sizeOf(fd, subject, `fd ${fd}`);
    if (size === 0) {
      throw new RangeError(`fd ${fd} is an empty object (size 0): there is nothing to map`);
    }
    // The previous flags, to leave the fd as it was if mapping fails.
    const fdFlags = ok(libc.fcntl(fd, C.F_GETFD, 0), "fcntl", subject);
    ok(libc.fcntl(fd, C.F_SETFD, fdFlags | C.FD_CLOEXEC), "fcntl", subject);
    try {
      return new PosixSharedMemory(fd, null, access, size);
    } catch (e) {
      libc.fcntl(fd, C.F_SETFD, fdFlags);
      throw e;
    }
  }

  /**
   * The object's name, as given to {@link PosixSharedMemory.open}; null for
   * anonymous memory and for an adopted descriptor.
   *
   * @example
   * ```ts
   * import { PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(16);
   * assert.equal(shm.name, null);
   * ```
   */
  get name(): string | null {
    return this.#name;
  }

  /**
   * The descriptor, e.g. to hand it to a child with `spawn(..., { fds })`.
   * @throws {Deno.errors.BadResource} after `close()`.
   *
   * @example
   * ```ts
   * import { PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(16);
   * assert.ok(shm.fd > 2);
   * ```
   */
  get fd(): number {
    if (this.#closed) {
      const what = this.#name === null ? WHAT : `${WHAT} '${this.#name}'`;
      throw closedFdError(what, { ...this.#subject, fd: this.#fd });
    }
    return this.#fd;
  }

  /**
   * How it is mapped: `"readwrite"`, or `"read"` (no {@link PosixSharedMemory.bytes} view).
   *
   * @example
   * ```ts
   * import { PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(16);
   * assert.equal(shm.access, "readwrite");
   * ```
   */
  get access(): "read" | "readwrite" {
    return this.#access;
  }

  /**
   * The size of the mapping in bytes (the object may be larger when opened
   * with a smaller `size`). Still readable after `close()`.
   *
   * @example
   * ```ts
   * import { PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(4096);
   * assert.equal(shm.size, 4096);
   * ```
   */
  get size(): number {
    return this.#mapping.size;
  }

  /**
   * The zero-copy view over the whole mapping: writes are seen by every
   * process that maps the object, at once. Views taken from it read as
   * length 0 after `close()` or `resize()`. An operation of Deno's own still
   * pending on them (`conn.read(shm.bytes)`) holds the address, which the
   * library cannot see: let it settle first, or it writes into whatever is
   * mapped there next.
   *
   * @throws {TypeError} when the handle is read-only (access `"read"`): use {@link PosixSharedMemory.read} or {@link PosixSharedMemory.readInto}
   * @throws {TypeError} once `bytes.buffer` was transferred away. Moved whole (posted to a
   *   Worker with a transfer list, or `transfer()` of the same length), the memory stays mapped
   *   for that buffer until this process exits; `transfer(n)` of another length copies it into
   *   private memory, which no other process sees, and the mapping stays until exit all the same
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(8);
   * const words = new Int32Array(shm.bytes.buffer);
   * Atomics.add(words, 1, 5);
   * assert.equal(shm.bytes[4], 5);
   * ```
   */
  get bytes(): Uint8Array<ArrayBuffer> {
    this.#check("bytes");
    if (this.#access === "read") {
      throw new TypeError(
        `${this.#describe()} is mapped read-only (access "read"), so it has no view: a write ` +
          "through one would kill the process (SIGSEGV), and JavaScript has no read-only typed " +
          'arrays. Copy bytes out with read() or readInto(), or open it with access "readwrite"',
      );
    }
    return this.#mapping.bytes;
  }

  /**
   * Whether `close()` has been called.
   *
   * @example
   * ```ts
   * import { PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const shm = PosixSharedMemory.anonymous(16);
   * shm.close();
   * assert.equal(shm.closed, true);
   * ```
   */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * A copy of `length` bytes from `offset`: the way to read a read-only
   * handle, and a snapshot on a read-write one.
   *
   * Needs `--allow-ffi`.
   *
   * @param offset where to start, 0..size (default 0)
   * @param length how many bytes, 0..size - offset (default: up to the end)
   * @returns a new Uint8Array the caller owns
   * @throws {TypeError} when `offset` or `length` is not a number
   * @throws {RangeError} when `offset` or `length` is not an integer in range, or the bytes
   *   reach past the object's end (another handle or process shrank it: they are read through
   *   the descriptor, `pread(2)`, where the mapping would be SIGBUS)
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(8);
   * shm.bytes.set([1, 2, 3, 4], 2);
   * assert.deepEqual(shm.read(2, 4), new Uint8Array([1, 2, 3, 4]));
   * assert.equal(shm.read(6).length, 2);
   * ```
   */
  read(offset?: number, length?: number): Uint8Array<ArrayBuffer> {
    return this.#mapping.read(offset, length, "mmap", this.#fromFile);
  }

  /**
   * Copies bytes from `offset` into `target`, as many as fit (up to the end
   * of the mapping), without allocating.
   *
   * Needs `--allow-ffi`.
   *
   * @param target where the bytes go
   * @param offset where to start, 0..size (default 0)
   * @returns how many bytes were copied: min(target.length, size - offset), fewer past the
   *   object's end where another handle or process shrank it (read through the descriptor,
   *   `pread(2)`, where the mapping would be SIGBUS)
   * @throws {TypeError} when `target` is not a Uint8Array or is detached, or `offset` is not a number
   * @throws {RangeError} when `offset` is not an integer 0..size
   * @throws {Deno.errors.BadResource} after `close()`
   *
   * @example
   * ```ts
   * import { PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(4);
   * shm.bytes.set([9, 8, 7, 6]);
   * const buf = new Uint8Array(8);
   * assert.equal(shm.readInto(buf, 1), 3);
   * assert.deepEqual(buf.subarray(0, 3), new Uint8Array([8, 7, 6]));
   * ```
   */
  readInto(target: Uint8Array, offset?: number): number {
    return this.#mapping.readInto(target, offset, "mmap", this.#fromFile);
  }

  /** {@link FileCopy} of this object: `pread(2)` of its descriptor, 1 GiB at most per call. */
  readonly #fromFile: FileCopy = (into, at) => {
    let got = 0;
    while (got < into.byteLength) {
      const want = Math.min(into.byteLength - got, 2 ** 30);
      const n = libc.pread(this.#fd, into.subarray(got, got + want), want, BigInt(at + got));
      if (n === 0) break;
      if (n > 0) got += n;
      else failed("pread", this.#subject, []); // throws, unless interrupted (EINTR): then again
    }
    return got;
  };

  /**
   * Sets the object's size and maps it again whole: new bytes read as zero,
   * the bytes it keeps are unchanged. Every view taken before (from `bytes`,
   * its buffer, subarrays) reads as length 0 afterwards; take new ones from
   * {@link PosixSharedMemory.bytes}. Futex waits on words in the old mapping
   * are rejected.
   *
   * Other processes, and other handles of this process on the same object
   * (`fromFd`, a second `open`), keep their own mappings at their old size:
   * after a shrink, touching bytes past the new end through them is SIGBUS
   * (their `read()` and `readInto()` excepted).
   * Agree on a resize before shrinking.
   *
   * Wraps `ftruncate(2)`, `mmap(2)`, `munmap(2)`. Needs `--allow-ffi`.
   *
   * @param size the new size in bytes, an integer 1..2^53-1
   * @throws {TypeError} when `size` is not a number, or the handle is read-only
   * @throws {RangeError} when `size` is not an integer 1..2^53-1
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {IpcError} ENOMEM when the new mapping does not fit, EFBIG when the file system refuses the size (the handle is then unchanged; tmpfs takes any size, see {@link PosixSharedMemory.open})
   *
   * @example
   * ```ts
   * import { PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(4);
   * const old = shm.bytes;
   * old[0] = 1;
   * shm.resize(8);
   * assert.equal(old.length, 0); // detached: it never touches unmapped memory
   * assert.deepEqual(shm.bytes, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]));
   * ```
   */
  resize(size: number): void {
    const bytes = checkSize(size);
    this.#check("ftruncate");
    if (this.#access === "read") {
      throw new TypeError(`${this.#describe()} is read-only (access "read"): it cannot be resized`);
    }
    // Map first (past the end is allowed), then size: a failure leaves everything as it was.
    const next = map(this.#fd, bytes, "readwrite", this.#subject);
    try {
      ok(libc.ftruncate(this.#fd, BigInt(bytes)), "ftruncate", this.#subject);
    } catch (e) {
      next.unmap();
      throw e;
    }
    const old = this.#mapping;
    next.waits.ref = old.waits.ref;
    this.#mapping = next;
    old.unmap(`${this.#describe()} was resized: the mapping the word was in is gone`);
  }

  /**
   * Lets this process exit while a futex `wait()` on a word in this memory is pending, like
   * `Deno.Conn.unref()`. The setting outlives {@link PosixSharedMemory.resize}. While the
   * process runs for other reasons, an unref'd wait still completes: it polls without a thread
   * (and so sees a change of the word, not a `notify` that leaves it as it was), within 10 ms
   * for its first quarter second, then within 50 ms. Applies to pending waits too.
   *
   * @example
   * ```ts
   * import { notify, PosixSharedMemory, wait } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(4);
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
   * Undoes {@link PosixSharedMemory.unref}: pending and later waits keep the process
   * alive again (the default).
   *
   * @example
   * ```ts
   * import { notify, PosixSharedMemory, wait } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using shm = PosixSharedMemory.anonymous(4);
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
   * Unmaps the memory (every view taken from it reads as length 0 first, and
   * futex waits on words in it are rejected), then closes the descriptor.
   * The object itself stays until it is unlinked and no process has it.
   * Closing twice does nothing.
   *
   * Wraps `munmap(2)`, `close(2)`. Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const shm = PosixSharedMemory.anonymous(16);
   * const view = shm.bytes;
   * shm.close();
   * shm.close(); // does nothing
   * assert.equal(view.length, 0);
   * assert.throws(() => shm.bytes, Deno.errors.BadResource);
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#mapping.unmap();
    } finally {
      closeOwnedFd(this.#fd);
    }
  }

  /**
   * Closes the handle (`using` support); see {@link PosixSharedMemory.close}.
   *
   * Wraps `munmap(2)`, `close(2)`. Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { PosixSharedMemory } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * let kept: PosixSharedMemory;
   * {
   *   using shm = PosixSharedMemory.anonymous(16);
   *   kept = shm;
   * } // closed here
   * assert.equal(kept.closed, true);
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  #check(syscall: string): void {
    if (this.#closed) throw closedError(WHAT, syscall, this.#subject);
  }

  #describe(): string {
    return this.#name === null ? `shared memory fd ${this.#fd}` : `shared memory '${this.#name}'`;
  }
}

/** Maps `size` bytes of `fd` shared, as a {@link Mapping} (views detached before unmapping). */
function map(
  fd: number,
  size: number,
  access: "read" | "readwrite",
  subject: ErrorSubject,
): Mapping {
  const prot = access === "read" ? C.PROT_READ : C.PROT_READ | C.PROT_WRITE;
  const length = BigInt(size);
  const p = libc.mmap(null, length, prot, C.MAP_SHARED, fd, 0n);
  const code = lastErrno();
  if (p === null || BigInt(Deno.UnsafePointer.value(p)) === MAP_FAILED) {
    throw errorOf(code, "mmap", subject);
  }
  try {
    const unmap = () => void ok(libc.munmap(p, length), "munmap", subject);
    const file = fileOfFd(fd);
    return new Mapping(
      p,
      size,
      unmap,
      WHAT,
      subject,
      file === null ? undefined : `file ${file.id}`,
    );
  } catch (e) {
    libc.munmap(p, length);
    throw e;
  }
}

/** The size of the regular file `fd` is open on (`fstat(2)`); a TypeError for anything else. */
/**
 * Grows the object to `size` bytes, unless it is that large already. Openers
 * that size one object at once (a creator, and one that found it still empty)
 * take turns (`flock(2)`), so the later never shrinks it under the other's
 * mapping: a page past the end would be a SIGBUS there.
 */
function growTo(fd: number, size: number, subject: ErrorSubject, what: string): void {
  while (libc.flock(fd, C.LOCK_EX) < 0) failed("flock", subject, []);
  try {
    if (sizeOf(fd, subject, what) < size) {
      ok(libc.ftruncate(fd, BigInt(size)), "ftruncate", subject);
    }
  } finally {
    libc.flock(fd, C.LOCK_UN);
  }
}

function sizeOf(fd: number, subject: ErrorSubject, what: string): number {
  const file = fileOfFd(fd);
  if (file === null) throw errorOf(lastErrno(), "fstat", subject);
  if (file.kind !== "file") {
    throw new TypeError(
      `${what} is not a shared memory object, memfd or regular file: it cannot be mapped`,
    );
  }
  const size = Number(file.size);
  if (!Number.isSafeInteger(size)) {
    throw new RangeError(`${what} is ${file.size} bytes: larger than this library maps`);
  }
  return size;
}

/** A size in bytes: an integer 1..2^53-1. */
function checkSize(size: unknown): number {
  return checkInteger(size, "size", 1, Number.MAX_SAFE_INTEGER);
}
