/**
 * Named pipes (FIFOs): `mkfifo(3)`, `open(2)` with its blocking-open
 * semantics done through the waiting engine, `unlink(2)`.
 *
 * @module
 */
import { errno, libc } from "../ffi/libc.ts";
import { C, ERRNO } from "../ffi/platform.ts";
import { errorFromCode, lastError } from "./errors.ts";
import { FdReader } from "./fd_reader.ts";
import { FdWriter } from "./fd_writer.ts";
import { cPath, fileKind, type PathLike, pathText } from "./_path.ts";
import { checkWaitOptions, parked, type WaitOptions } from "./_wait.ts";
import { checkMode } from "./_check.ts";

/** Options of {@link Fifo.create}. */
export interface FifoCreateOptions {
  /** Permission bits, exactly (the umask does not narrow them). Default `0o600`: owner only. */
  mode?: number;
  /** Fail with `AlreadyExists` if a FIFO is already there (by default an existing FIFO is reused). */
  exclusive?: boolean;
}

/** Options of {@link Fifo.open}. */
export interface FifoOpenOptions extends WaitOptions {
  /**
   * Wait for the other side, as `open(2)` on a FIFO does (default `true`).
   * With `false`, opening for reading returns at once (reads see end of file
   * while no writer is there) and opening for writing throws `ENXIO` when no
   * reader is there.
   */
  wait?: boolean;
}

/** Options of {@link Fifo.openSync}. */
export interface FifoOpenSyncOptions {
  /** See {@link FifoOpenOptions.wait}. */
  wait?: boolean;
}

/** Which side of a FIFO to open: `"r"` to read, `"w"` to write. */
export type FifoSide = "r" | "w";

/** The handle {@link Fifo.open} returns for a side: a {@link FdReader} for `"r"`, a {@link FdWriter} for `"w"`. */
export type FifoEnd<S extends FifoSide> = S extends "r" ? FdReader : FdWriter;

function checkSide(side: unknown): FifoSide {
  if (side !== "r" && side !== "w") {
    throw new TypeError(`side must be "r" or "w", got ${String(side)}`);
  }
  return side;
}

/** Checks that what is at `path` is a FIFO, before an open that could block or open something else. */
function checkIsFifo(path: string, syscall: string): void {
  const kind = fileKind(path);
  if (kind === null) throw errorFromCode(ERRNO.ENOENT, syscall, { path });
  if (kind !== "fifo") throw new TypeError(`'${path}' is not a FIFO (it is a ${kind})`);
}

function flagsOf(side: FifoSide): number {
  return (side === "r" ? C.O_RDONLY : C.O_WRONLY) | C.O_CLOEXEC;
}

function handleOf<S extends FifoSide>(fd: number, side: S): FifoEnd<S> {
  try {
    return (side === "r" ? new FdReader(fd) : new FdWriter(fd)) as FifoEnd<S>;
  } catch (e) {
    libc.close(fd);
    throw e;
  }
}

/** Opens without waiting; returns the fd or throws (ENXIO for a writer with no reader). */
function openNow(path: string, c: Uint8Array, side: FifoSide): number {
  for (;;) {
    const fd = libc.open(c, flagsOf(side) | C.O_NONBLOCK, 0);
    if (fd >= 0) return fd;
    const code = errno();
    if (code !== ERRNO.EINTR) throw errorFromCode(code, "open", { path });
  }
}

/**
 * Briefly opens the other side without waiting, which completes an `open` of
 * this side blocked on a pool thread (the kernel counts a partner's open).
 */
function nudge(c: Uint8Array, side: FifoSide): void {
  const fd = libc.open(c, (side === "r" ? C.O_WRONLY : C.O_RDONLY) | C.O_NONBLOCK | C.O_CLOEXEC, 0);
  if (fd >= 0) libc.close(fd);
}

/**
 * Named pipes. A FIFO is a file system name for a pipe: one process opens it
 * for reading, another for writing, and bytes flow as through {@link pipe}.
 *
 * Wraps `mkfifo(3)`, `open(2)`, `unlink(2)`. Needs `--allow-ffi`.
 *
 * @example The classic tutorial, both sides in one process
 * ```ts
 * import { Fifo } from "@libc/ipc";
 * const dir = Deno.makeTempDirSync();
 * const path = `${dir}/fifo`;
 * Fifo.create(path);
 * const [reader, writer] = await Promise.all([Fifo.open(path, "r"), Fifo.open(path, "w")]);
 * await writer.write("Hello from parent process");
 * writer.close();
 * console.log(await new Response(reader.readable).text());
 * Fifo.unlink(path);
 * Deno.removeSync(dir);
 * ```
 */
export class Fifo {
  private constructor() {}

  /**
   * Creates a FIFO (`mkfifo(3)`), owner-only (0600) unless `mode` says otherwise.
   * An existing FIFO at `path` is reused unless `exclusive` is set (its mode is
   * left as it is).
   *
   * Wraps `mkfifo(3)`, then `chmod(2)` so that the umask does not narrow `mode`.
   * Needs `--allow-ffi`.
   *
   * @param path where to create it
   * @param options `mode`, `exclusive`
   * @throws {TypeError} for an empty path, a path with a NUL, or a URL that is not `file:`
   * @throws {RangeError} for a `mode` outside 0..0o7777, or a path of `PATH_MAX` bytes or more
   * @throws {Deno.errors.AlreadyExists} when `path` exists and is not a FIFO, or exists at all with `exclusive`
   * @throws {Deno.errors.NotFound} when the directory does not exist
   * @throws {Deno.errors.PermissionDenied} when the directory is not writable (EACCES), or the file system takes no FIFOs (EPERM)
   * @throws {Deno.errors.NotADirectory} when a component of `path` is not a directory
   * @throws {IpcError} ENAMETOOLONG, ENOSPC, EDQUOT or EROFS from `mkfifo(3)`
   *
   * @example
   * ```ts
   * import { Fifo } from "@libc/ipc";
   * const dir = Deno.makeTempDirSync();
   * const path = `${dir}/fifo`;
   * Fifo.create(path, { mode: 0o600 });
   * Fifo.unlink(path);
   * Deno.removeSync(dir);
   * ```
   */
  static create(path: PathLike, options: FifoCreateOptions = {}): void {
    const p = pathText(path);
    const mode = checkMode(options.mode, 0o7777);
    const c = cPath(p);
    if (libc.mkfifo(c, mode) < 0) {
      const code = errno();
      if (code !== ERRNO.EEXIST) throw errorFromCode(code, "mkfifo", { path: p });
      const kind = fileKind(p);
      if (kind === "fifo" && !options.exclusive) return;
      const e = errorFromCode(code, "mkfifo", { path: p });
      if (kind !== "fifo") {
        e.message += ` (it exists and is a ${kind ?? "dangling link"}, not a FIFO)`;
      }
      throw e;
    }
    // mkfifo(3) applies the umask; the mode asked for is the mode wanted.
    if (libc.chmod(c, mode) < 0) {
      const e = lastError("chmod", { path: p });
      libc.unlink(c); // not left behind with a mode nobody asked for
      throw e;
    }
  }

  /**
   * Opens a FIFO for reading (`"r"`) or writing (`"w"`). By default it waits,
   * without blocking the event loop, until the other side opens too; `signal`
   * and `timeout` cancel that wait (an aborted `signal` rejects with its reason).
   * The blocking `open` runs on one of Deno's pool threads, at most 4 at once.
   *
   * Wraps `open(2)`, after `stat(2)` to check that `path` is a FIFO. Needs `--allow-ffi`.
   *
   * @param path the FIFO
   * @param side `"r"` for a {@link FdReader}, `"w"` for a {@link FdWriter}
   * @param options `wait`, `signal`, `timeout`
   * @returns the open end
   * @throws {TypeError} when `path` is not a FIFO, `side` is not `"r"` or `"w"`, or `signal` not an AbortSignal
   * @throws {RangeError} when `timeout` is not a number ≥ 0
   * @throws {Deno.errors.NotFound} when nothing is at `path`
   * @throws {Deno.errors.PermissionDenied} when the FIFO's mode denies this side to this user
   * @throws {Deno.errors.TimedOut} when `timeout` passes before the other side opens
   * @throws {IpcError} ENXIO with `wait: false` for `"w"` when no reader has it open
   *
   * @example
   * ```ts
   * import { Fifo } from "@libc/ipc";
   * const dir = Deno.makeTempDirSync();
   * const path = `${dir}/fifo`;
   * Fifo.create(path);
   * try {
   *   await Fifo.open(path, "w", { timeout: 10 }); // no reader: times out
   * } catch (e) {
   *   console.log(e instanceof Deno.errors.TimedOut); // true
   * }
   * Fifo.unlink(path);
   * Deno.removeSync(dir);
   * ```
   */
  static async open<S extends FifoSide>(
    path: PathLike,
    side: S,
    options: FifoOpenOptions = {},
  ): Promise<FifoEnd<S>> {
    const p = pathText(path);
    checkSide(side);
    checkWaitOptions(options);
    if (options.signal?.aborted) throw options.signal.reason;
    checkIsFifo(p, "open");
    const c = cPath(p);
    if (options.wait === false) return handleOf(openNow(p, c, side), side);
    if (side === "w") {
      // A reader is there already: no need to wait.
      try {
        return handleOf(openNow(p, c, side), side);
      } catch (e) {
        if ((e as { code?: string }).code !== "ENXIO") throw e;
      }
    }
    for (;;) {
      const fd = await parked(
        () => libc.open_parked(c, flagsOf(side), 0),
        () => nudge(c, side),
        (fd) => {
          if (fd >= 0) libc.close(fd);
        },
        options,
      );
      if (fd >= 0) return handleOf(fd, side);
      // errno of a parked call is lost: find it by trying again without waiting.
      const again = libc.open(c, flagsOf(side) | C.O_NONBLOCK, 0);
      if (again < 0) {
        const code = errno();
        if (code !== ERRNO.ENXIO && code !== ERRNO.EINTR) {
          throw errorFromCode(code, "open", { path: p });
        }
      } else {
        libc.close(again);
      }
    }
  }

  /**
   * Opens a FIFO, blocking the thread until the other side opens (unless `wait: false`).
   * There is no timeout: without `wait: false` it blocks until a partner comes.
   *
   * Wraps `open(2)`, after `stat(2)` to check that `path` is a FIFO. Needs `--allow-ffi`.
   *
   * @param path the FIFO
   * @param side `"r"` or `"w"`
   * @param options `wait`
   * @returns the open end
   * @throws {TypeError} when `path` is not a FIFO, or `side` is not `"r"` or `"w"`
   * @throws {Deno.errors.NotFound} when nothing is at `path`
   * @throws {Deno.errors.PermissionDenied} when the FIFO's mode denies this side to this user
   * @throws {IpcError} ENXIO with `wait: false` for `"w"` when no reader has it open
   *
   * @example
   * ```ts
   * import { Fifo } from "@libc/ipc";
   * const dir = Deno.makeTempDirSync();
   * const path = `${dir}/fifo`;
   * Fifo.create(path);
   * using reader = Fifo.openSync(path, "r", { wait: false });
   * using writer = Fifo.openSync(path, "w");
   * writer.writeSync("x");
   * Fifo.unlink(path);
   * Deno.removeSync(dir);
   * ```
   */
  static openSync<S extends FifoSide>(
    path: PathLike,
    side: S,
    options: FifoOpenSyncOptions = {},
  ): FifoEnd<S> {
    const p = pathText(path);
    checkSide(side);
    checkIsFifo(p, "open");
    const c = cPath(p);
    if (options.wait === false) return handleOf(openNow(p, c, side), side);
    for (;;) {
      const fd = libc.open(c, flagsOf(side), 0);
      if (fd >= 0) return handleOf(fd, side);
      const code = errno();
      if (code !== ERRNO.EINTR) throw errorFromCode(code, "open", { path: p });
    }
  }

  /**
   * Removes the FIFO's name (`unlink(2)`); ends already open keep working.
   *
   * Wraps `unlink(2)`, after `stat(2)` to check that `path` is a FIFO. Needs `--allow-ffi`.
   *
   * @param path the FIFO
   * @throws {Deno.errors.NotFound} when nothing is at `path`
   * @throws {TypeError} when `path` is not a FIFO (nothing is removed)
   * @throws {Deno.errors.PermissionDenied} when the directory is not writable to this user
   * @throws {IpcError} EROFS on a read-only file system
   *
   * @example
   * ```ts
   * import { Fifo } from "@libc/ipc";
   * const dir = Deno.makeTempDirSync();
   * const path = `${dir}/fifo`;
   * Fifo.create(path);
   * Fifo.unlink(path);
   * Deno.removeSync(dir);
   * ```
   */
  static unlink(path: PathLike): void {
    const p = pathText(path);
    checkIsFifo(p, "unlink");
    if (libc.unlink(cPath(p)) < 0) throw lastError("unlink", { path: p });
  }
}
