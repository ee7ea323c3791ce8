/**
 * Named pipes (FIFOs): `mkfifo(3)`, `open(2)` with its blocking-open
 * semantics done through the waiting engine, `unlink(2)`.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C } from "../../ffi/platform.ts";
import { AGAIN, attempt, E, errorOf, lastErrno, ok } from "../_sys.ts";
import type { ErrorSubject } from "../errors.ts";
import { A_FILE_KIND, cPath, fileOf, fileOfFd, type PathLike, pathText } from "../_path.ts";
import { addressOf, checkBoolean, checkMode, checkOptions, shown } from "../_check.ts";
import type { Direction, SyncWaitOptions, WaitOptions } from "../options.ts";
import {
  blockingCall,
  callSource,
  checkSyncWaitOptions,
  checkWaitOptions,
  hasBytesNow,
  interruptible,
  lazySource,
  NO_THREAD,
  type Operation,
  pollNow,
  READABLE,
  rejectedNow,
  releaseIdle,
  type Source,
  tryNow,
  wait,
  waitSync,
} from "../_wait/mod.ts";
import { chmodCreated } from "../_chmod.ts";
import { FdReader } from "./reader.ts";
import { FdWriter } from "./writer.ts";
import { type Pipe, pipeOf } from "./pipe.ts";

/**
 * Options of {@link Fifo.create}.
 *
 * @example
 * ```ts
 * import { Fifo } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * const path = `${dir}/fifo`;
 * Fifo.create(path, { mode: 0o640, exclusive: true });
 * assert.equal(Deno.statSync(path).mode! & 0o777, 0o640); // exactly, whatever the umask
 * assert.throws(() => Fifo.create(path, { exclusive: true }), Deno.errors.AlreadyExists);
 * Fifo.create(path, { mode: 0o640 }); // not exclusive: this user's FIFO, within mode, is reused
 * Fifo.unlink(path);
 * Deno.removeSync(dir);
 * ```
 */
export interface FifoCreateOptions {
  /** Permission bits, exactly (the umask does not narrow them). Default `0o600`: owner only. */
  mode?: number;
  /** Fail with `AlreadyExists` if a FIFO is already there (by default an existing FIFO is reused). */
  exclusive?: boolean;
}

/**
 * The handle {@link Fifo.open} returns for a direction: a {@link FdReader}
 * for `"read"`, a {@link FdWriter} for `"write"`.
 *
 * @example
 * ```ts
 * import { FdReader, FdWriter, Fifo, type FifoEnd } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * Fifo.create(`${dir}/fifo`);
 * using reader: FifoEnd<"read"> = Fifo.tryOpen(`${dir}/fifo`, "read");
 * using writer: FifoEnd<"write"> = Fifo.tryOpen(`${dir}/fifo`, "write");
 * assert.ok(reader instanceof FdReader && writer instanceof FdWriter);
 * Fifo.unlink(`${dir}/fifo`);
 * Deno.removeSync(dir);
 * ```
 */
export type FifoEnd<D extends Direction> = D extends "read" ? FdReader : FdWriter;

function checkDirection(direction: unknown): Direction {
  if (direction !== "read" && direction !== "write") {
    throw new TypeError(`direction must be "read" or "write", got ${shown(direction)}`);
  }
  return direction;
}

/**
 * Checks that what is at `path` is a FIFO, before an open that could block or
 * open something else; returns which file it is (`st_dev:st_ino`).
 */
function checkIsFifo(path: string, syscall: string, follow = true): string {
  const file = fileOf(path, follow);
  if (file === null) throw errorOf(E.ENOENT, syscall, { path });
  if (file.kind !== "fifo") {
    throw new TypeError(`'${path}' is not a FIFO (it is ${A_FILE_KIND[file.kind]})`);
  }
  return file.id;
}

function flagsOf(direction: Direction): number {
  return (direction === "read" ? C.O_RDONLY : C.O_WRONLY) | C.O_CLOEXEC;
}

/**
 * The handle of a side just opened by `path`. Each try opens the path again,
 * so what is there may have been replaced since the open began (a C `open`
 * blocked on a FIFO stays on it): anything but the FIFO `file` checked first
 * is refused, never read from or written to.
 */
function handleOf<D extends Direction>(
  fd: number,
  direction: D,
  path: string,
  file: string,
): FifoEnd<D> {
  try {
    if (fileOfFd(fd)?.id !== file) throw replacedError(path, " while the open waited");
    return (direction === "read" ? new FdReader(fd) : new FdWriter(fd)) as FifoEnd<D>;
  } catch (e) {
    libc.close(fd);
    throw e;
  }
}

/**
 * The open of a FIFO as an operation of the waiting engine. A try of the
 * write side opens without waiting, which fails with ENXIO while no reader is
 * there (AGAIN). The read side would open at once without a writer, which is
 * not what a blocking open means: its try is a blocking open ended by the
 * alarm after {@link READ_TRY_MS}, which returns at once when a writer is
 * there, so `timeout: 0` opens a read side that has a writer.
 *
 * A read side that polls (no pool thread to park on) holds the FIFO open for
 * reading without waiting between its tries, as a reader blocked in
 * `open(2)` is counted as one: writers' opens (this thread's own included,
 * which a blocking open here would never let run) see a reader, as they
 * would. A writer that came and went meanwhile leaves data or a hang-up on
 * that descriptor, which a try then takes as the opened reader; so such a
 * wait keeps polling (a blocking open that began after the writer left would
 * wait for another). `release()` lets it go once the wait has ended.
 */
function openOperation<D extends Direction>(
  path: string,
  direction: D,
  file: string,
): Operation<FifoEnd<D>> & { release(): void; ended(e: unknown): FifoEnd<D> } {
  const c = cPath(path);
  const subject = { path };
  const flags = flagsOf(direction);
  /** The read side held open while it polls (see above), or -1. */
  let held = -1;
  const release = () => {
    if (held >= 0) libc.close(held);
    held = -1;
    // An open that failed has no handle whose close would give back what the wait took.
    releaseIdle();
  };
  /** The read side held open while polling, when a writer came to it meanwhile (else null). */
  const takeHeld = (): FifoEnd<D> | null => {
    if (held < 0 || !pollNow(held, READABLE)) return null;
    // Data or a hang-up: a writer opened while we held it, as it would have with us in open(2).
    const fd = held;
    held = -1;
    return handleOf(fd, "read", path, file) as FifoEnd<D>;
  };
  const tryReader = (): FifoEnd<D> | typeof AGAIN => {
    const r = openReaderBriefly(c, path, file);
    if (r !== AGAIN) {
      release();
      return r as FifoEnd<D>;
    }
    return takeHeld() ?? AGAIN;
  };
  const parked = lazySource(() =>
    callSource({
      syscall: "open",
      about: subject,
      start: () => libc.open_parked(c, flags, 0),
      run: () => libc.open(c, flags, 0),
      done: (fd) => handleOf(fd, direction, path, file),
      // openat(dirfd, path, ...): the path buffer is this operation's own.
      thread: () => ({ syscall: C.SYS_openat, arg: 1, value: addressOf(c) }),
      restartable: true,
      // Where no nudge can be sent: opening the other side without waiting completes the
      // blocked open (and every other process's blocked open of this side, which is why the
      // nudge comes first); held open until that open returns, so that it completes even if
      // it enters the kernel after this.
      interrupt: () => {
        const other = direction === "read" ? C.O_WRONLY : C.O_RDONLY;
        const fd = libc.open(c, other | C.O_NONBLOCK | C.O_CLOEXEC, 0);
        return fd >= 0 ? () => libc.close(fd) : undefined;
      },
      // Opened after the cancel: by the interrupt's own open of the other side, or by a
      // partner. A read side a writer wrote to is delivered, as C's open would have returned
      // it: closing it would lose bytes whose writer was told they were written.
      release: (fd) => {
        if (direction === "read" && hasBytesNow(fd)) return false;
        libc.close(fd);
        return true;
      },
      // By the file, not the path: a relative path after a chdir, or a FIFO made anew at
      // the same path, is another file, which an open parked on the first would never see.
      key: `open ${file} ${direction}`,
      // The parked open failed and its errno is lost: an open without waiting meets the error again.
      recover: () => {
        const fd = openNow(c, direction, subject);
        if (fd !== AGAIN) libc.close(fd);
        return AGAIN;
      },
    })
  );
  const readerSource: Source<FifoEnd<D>> = {
    park: (p) => {
      if (held >= 0) return NO_THREAD; // polling, holding it: see above
      const r = parked.park(p);
      // A failure to hold it is met by the next try's open.
      if (r === NO_THREAD) held = libc.open(c, flags | C.O_NONBLOCK, 0);
      return r;
    },
    block: (deadline) => parked.block(deadline),
  };
  return {
    syscall: "open",
    subject,
    release,
    // A wait that ends (timed out, aborted) after a writer came to the held side: the open
    // had completed, as C's would have; rejecting would lose what the writer wrote.
    ended: (e: unknown) => {
      const opened = takeHeld();
      if (opened === null) throw e;
      return opened;
    },
    attempt: direction === "read" ? tryReader : () => openEndNow(c, direction, path, file),
    slowTry: direction === "read",
    source: direction === "read" ? readerSource : parked,
  };
}

/** The TypeError of a path whose FIFO was replaced after it was checked. */
function replacedError(path: string, when = ""): TypeError {
  return new TypeError(`'${path}' is not the FIFO it was: it was replaced${when}`);
}

/**
 * Opens `direction` of the FIFO without waiting: its fd, or AGAIN for a
 * writer with no reader (ENXIO). The path was a FIFO when checked: a read
 * side's ENXIO (a socket file) or EISDIR now means it was replaced.
 */
function openNow(
  c: Uint8Array,
  direction: Direction,
  subject: ErrorSubject & { path: string },
): number | typeof AGAIN {
  return unlessReplaced(subject.path, () =>
    attempt(
      () => libc.open(c, flagsOf(direction) | C.O_NONBLOCK, 0),
      "open",
      subject,
      direction === "write" ? E.ENXIO : [],
    ));
}

/** What `open` returns; its ENXIO (a socket file) or EISDIR, the path's FIFO replaced since checked. */
function unlessReplaced<T>(path: string, open: () => T): T {
  try {
    return open();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENXIO" || code === "EISDIR") throw replacedError(path);
    throw e;
  }
}

/** How long the try of a read side blocks in `open(2)` at most (see {@link openOperation}). */
const READ_TRY_MS = 0.2;

/**
 * The try of a read side: an open that returns at once when a writer is
 * there, interrupted after {@link READ_TRY_MS} otherwise (AGAIN). Where no
 * alarm can end it, AGAIN: only the blocking open completes the read side.
 */
function openReaderBriefly(c: Uint8Array, path: string, file: string): FdReader | typeof AGAIN {
  const deadline = performance.now() + READ_TRY_MS;
  if (!interruptible(deadline)) return AGAIN;
  const fd = unlessReplaced(
    path,
    () => blockingCall(deadline, () => libc.open(c, flagsOf("read"), 0), "open", { path }),
  );
  return fd === AGAIN ? AGAIN : handleOf(fd, "read", path, file);
}

/** {@link openNow}, as the handle of that end. */
function openEndNow<D extends Direction>(
  c: Uint8Array,
  direction: D,
  path: string,
  file: string,
): FifoEnd<D> | typeof AGAIN {
  const fd = openNow(c, direction, { path });
  return fd === AGAIN ? AGAIN : handleOf(fd, direction, path, file);
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
 * import assert from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * const path = `${dir}/fifo`;
 * Fifo.create(path);
 * const [reader, writer] = await Promise.all([Fifo.open(path, "read"), Fifo.open(path, "write")]);
 * await writer.write("Hello from parent process");
 * writer.close();
 * assert.equal(await new Response(reader.readable).text(), "Hello from parent process");
 * Fifo.unlink(path);
 * Deno.removeSync(dir);
 * ```
 */
export class Fifo {
  private constructor() {}

  /**
   * Creates a FIFO (`mkfifo(3)`), owner-only (0600) unless `mode` says otherwise.
   * An existing FIFO at `path` is reused unless `exclusive` is set, when this
   * user owns it and its mode gives no one more than `mode` does (it is left
   * as it is); any other is `AlreadyExists`, as C's `mkfifo` says, since its
   * owner, or whoever else may open it, could read what this program writes.
   *
   * Wraps `mkfifo(3)`, then `chmod(2)` so that the umask does not narrow `mode`.
   * Needs `--allow-ffi`.
   *
   * @param path where to create it
   * @param options `mode`, `exclusive`
   * @throws {TypeError} for an empty path, a path with a NUL, a URL that is not `file:`,
   *   `options` that is not an object, a `mode` that is not a number, or an `exclusive` that is
   *   not a boolean
   * @throws {RangeError} for a `mode` outside 0..0o7777, or a path of `PATH_MAX` bytes or more
   * @throws {Deno.errors.AlreadyExists} when `path` exists and is not a FIFO of this user's within
   *   `mode`, or exists at all with `exclusive`
   * @throws {Deno.errors.NotFound} when the directory does not exist
   * @throws {Deno.errors.PermissionDenied} when the directory is not writable (EACCES), or the file system takes no FIFOs (EPERM)
   * @throws {Deno.errors.NotADirectory} when a component of `path` is not a directory
   * @throws {IpcError} ENAMETOOLONG, ENOSPC, EDQUOT or EROFS from `mkfifo(3)`
   * @throws {Deno.errors.FilesystemLoop} when `path` has too many symbolic links (ELOOP)
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
    checkOptions(options);
    const mode = checkMode(options.mode, 0o7777);
    const exclusive = checkBoolean(options.exclusive, "exclusive");
    const c = cPath(p);
    if (libc.mkfifo(c, mode) < 0) {
      const code = lastErrno();
      if (code !== E.EEXIST) throw errorOf(code, "mkfifo", { path: p });
      const file = fileOf(p);
      const kind = file?.kind ?? null;
      // Reused only where no one else could have it: a FIFO another user made, or one open to
      // more than asked for, would pass this program's bytes to whoever reads it.
      const ours = file !== null && file.uid === libc.geteuid() && (file.mode & ~mode) === 0;
      if (kind === "fifo" && !exclusive && ours) return;
      const e = errorOf(code, "mkfifo", { path: p });
      if (kind !== "fifo") {
        e.message += ` (it exists and is ${
          kind === null ? "a dangling link" : A_FILE_KIND[kind]
        }, not a FIFO)`;
      } else if (!exclusive) {
        e.message += ` (a FIFO of uid ${file!.uid}, mode 0${file!.mode.toString(8)}, is there: ` +
          `reused only when this user's and within mode 0${mode.toString(8)}; ` +
          "Fifo.open() uses it as it is)";
      }
      throw e;
    }
    // mkfifo(3) applies the umask; the mode asked for is the mode wanted.
    try {
      chmodCreated(p, mode, "fifo", "mkfifo");
    } catch (e) {
      // Not left behind with a mode nobody asked for; what replaced it is not ours to remove.
      if (!(e instanceof Deno.errors.NotFound)) libc.unlink(c);
      throw e;
    }
  }

  /**
   * Opens a FIFO for reading or writing. As `open(2)` on a FIFO does, it waits
   * until the other side opens too, here without blocking the event loop;
   * `signal` and `timeout` cancel that wait (an aborted `signal` rejects with
   * its reason). The blocking `open` runs on one of Deno's pool threads, at
   * most 4 at once with the library's other parked calls (beyond that, the
   * open polls); a cancelled one is ended by a signal to that thread, or where
   * none can be sent (no readable `/proc/self/task`), by briefly opening the
   * other side, which also completes other processes' opens of this side. A
   * read side whose writer came (and wrote) before the cancel took effect is
   * opened all the same, as C's `open` would have returned: rejecting would
   * lose bytes whose writer was told they were written.
   *
   * Wraps `open(2)`, after `stat(2)` to check that `path` is a FIFO. Needs `--allow-ffi`.
   *
   * @param path the FIFO
   * @param direction `"read"` for a {@link FdReader}, `"write"` for a {@link FdWriter}
   * @param options `signal`, `timeout`
   * @returns the open end
   * @throws {TypeError} when `path` is not a FIFO (or is replaced by something else while the open waits), `direction` is not `"read"` or `"write"`, or `signal` not an AbortSignal
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.NotFound} when nothing is at `path`
   * @throws {Deno.errors.PermissionDenied} when the FIFO's mode denies this direction to this user
   * @throws {Deno.errors.TimedOut} when `timeout` passes before the other side opens
   * @throws {Deno.errors.NotADirectory} when a component of `path` is not a directory
   * @throws {Deno.errors.FilesystemLoop} when `path` has too many symbolic links (ELOOP)
   * @throws {IpcError} ENAMETOOLONG, or EMFILE/ENFILE when out of descriptors
   *
   * @example
   * ```ts
   * import { Fifo } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const dir = Deno.makeTempDirSync();
   * const path = `${dir}/fifo`;
   * Fifo.create(path);
   * // No reader comes: the open times out.
   * await assert.rejects(Fifo.open(path, "write", { timeout: 10 }), Deno.errors.TimedOut);
   * Fifo.unlink(path);
   * Deno.removeSync(dir);
   * ```
   */
  static open<D extends Direction>(
    path: PathLike,
    direction: D,
    options?: WaitOptions,
  ): Promise<FifoEnd<D>> {
    try {
      const p = pathText(path);
      checkDirection(direction);
      checkWaitOptions(options); // before the stat: bad arguments are refused before any call
      const op = openOperation(p, direction, checkIsFifo(p, "open"));
      return wait(op, options, undefined, op.ended).finally(op.release);
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Opens a FIFO, blocking the thread until the other side opens too, or
   * `timeout` passes.
   *
   * Wraps `open(2)`, after `stat(2)` to check that `path` is a FIFO; a timeout
   * interrupts the open with a signal to this thread. Needs `--allow-ffi`.
   *
   * @param path the FIFO
   * @param direction `"read"` or `"write"`
   * @param options `timeout`
   * @returns the open end
   * @throws {TypeError} when `path` is not a FIFO (or is replaced by something else while the open waits), or `direction` is not `"read"` or `"write"`
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.NotFound} when nothing is at `path`
   * @throws {Deno.errors.PermissionDenied} when the FIFO's mode denies this direction to this user
   * @throws {Deno.errors.TimedOut} when `timeout` passes before the other side opens
   * @throws {Deno.errors.NotADirectory} when a component of `path` is not a directory
   * @throws {Deno.errors.FilesystemLoop} when `path` has too many symbolic links (ELOOP)
   * @throws {IpcError} ENAMETOOLONG, or EMFILE/ENFILE when out of descriptors
   *
   * @example
   * ```ts
   * import { Fifo } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const dir = Deno.makeTempDirSync();
   * const path = `${dir}/fifo`;
   * Fifo.create(path);
   * assert.throws(() => Fifo.openSync(path, "read", { timeout: 10 }), Deno.errors.TimedOut);
   * using reader = Fifo.tryOpen(path, "read");
   * using writer = Fifo.openSync(path, "write"); // a reader is there: no wait
   * writer.writeSync("x");
   * Fifo.unlink(path);
   * Deno.removeSync(dir);
   * ```
   */
  static openSync<D extends Direction>(
    path: PathLike,
    direction: D,
    options?: SyncWaitOptions,
  ): FifoEnd<D> {
    const p = pathText(path);
    checkDirection(direction);
    checkSyncWaitOptions(options);
    const op = openOperation(p, direction, checkIsFifo(p, "open"));
    try {
      return waitSync(op, options);
    } finally {
      op.release();
    }
  }

  /**
   * Opens both ends of a FIFO at once, never waiting: the read side first
   * without waiting (`O_NONBLOCK`), then the write side, which finds it. This
   * process is then a reader and a writer of its own, so the reader sees no
   * end of file while `writer` is open, however many writers come and go: a
   * server reads every client on one reader, where a reader opened alone sees
   * end of file when the last writer leaves (and `for await` ends). Close
   * `writer` to see end of file once the others have left; what it writes
   * comes back to `reader`.
   *
   * Wraps `open(2)` twice, after `stat(2)` to check that `path` is a FIFO
   * (and `fstat(2)` that both opened that FIFO). Needs `--allow-ffi`.
   *
   * @param path the FIFO
   * @returns the reader and the writer; disposing it closes both
   * @throws {TypeError} when `path` is not a FIFO, or is replaced by something else meanwhile
   * @throws {Deno.errors.NotFound} when nothing is at `path`
   * @throws {Deno.errors.PermissionDenied} unless the FIFO's mode lets this user read and write it
   * @throws {Deno.errors.NotADirectory} when a component of `path` is not a directory
   * @throws {Deno.errors.FilesystemLoop} when `path` has too many symbolic links (ELOOP)
   * @throws {IpcError} ENAMETOOLONG, or EMFILE/ENFILE when out of descriptors
   *
   * @example A reader that outlives its writers
   * ```ts
   * import { Fifo } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const dir = Deno.makeTempDirSync();
   * const path = `${dir}/fifo`;
   * Fifo.create(path);
   * using server = Fifo.openBoth(path);
   * for (const client of ["one", "two"]) {
   *   using w = Fifo.openSync(path, "write"); // a reader is there: no wait
   *   w.writeSync(client);
   * } // each writer gone, and no end of file:
   * const buf = new Uint8Array(16);
   * assert.equal(server.reader.readSync(buf), 6);
   * assert.throws(() => server.reader.tryRead(buf), Deno.errors.WouldBlock);
   * server.writer.close();
   * assert.equal(server.reader.readSync(buf), null); // now every writer has gone
   * Fifo.unlink(path);
   * Deno.removeSync(dir);
   * ```
   */
  static openBoth(path: PathLike): Pipe {
    const p = pathText(path);
    const file = checkIsFifo(p, "open");
    const c = cPath(p);
    // Neither waits: the read side opens at once, and the write side then has a reader.
    const readFd = openNow(c, "read", { path: p }) as number;
    let writeFd: number | typeof AGAIN = AGAIN;
    try {
      writeFd = openNow(c, "write", { path: p });
      if (writeFd === AGAIN || fileOfFd(readFd)?.id !== file || fileOfFd(writeFd)?.id !== file) {
        throw replacedError(p);
      }
    } catch (e) {
      libc.close(readFd);
      if (writeFd !== AGAIN) libc.close(writeFd);
      throw e;
    }
    return pipeOf(readFd, writeFd);
  }

  /**
   * Opens a FIFO without waiting (`O_NONBLOCK`): the read side opens at once
   * (its reads see end of file while no writer is there); the write side
   * throws `Deno.errors.WouldBlock` while no reader is there.
   *
   * Wraps `open(2)`, after `stat(2)` to check that `path` is a FIFO. Needs `--allow-ffi`.
   *
   * @param path the FIFO
   * @param direction `"read"` or `"write"`
   * @returns the open end
   * @throws {TypeError} when `path` is not a FIFO, or `direction` is not `"read"` or `"write"`
   * @throws {Deno.errors.WouldBlock} for `"write"` when no reader has the FIFO open (ENXIO)
   * @throws {Deno.errors.NotFound} when nothing is at `path`
   * @throws {Deno.errors.PermissionDenied} when the FIFO's mode denies this direction to this user
   * @throws {Deno.errors.NotADirectory} when a component of `path` is not a directory
   * @throws {Deno.errors.FilesystemLoop} when `path` has too many symbolic links (ELOOP)
   * @throws {IpcError} ENAMETOOLONG, or EMFILE/ENFILE when out of descriptors
   *
   * @example
   * ```ts
   * import { Fifo } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const dir = Deno.makeTempDirSync();
   * const path = `${dir}/fifo`;
   * Fifo.create(path);
   * assert.throws(() => Fifo.tryOpen(path, "write"), Deno.errors.WouldBlock);
   * using reader = Fifo.tryOpen(path, "read");
   * using writer = Fifo.tryOpen(path, "write");
   * assert.equal(writer.tryWrite("now"), 3);
   * Fifo.unlink(path);
   * Deno.removeSync(dir);
   * ```
   */
  static tryOpen<D extends Direction>(path: PathLike, direction: D): FifoEnd<D> {
    const p = pathText(path);
    checkDirection(direction);
    const file = checkIsFifo(p, "open");
    const c = cPath(p);
    const subject = { path: p };
    return tryNow(
      {
        syscall: "open",
        subject,
        attempt: () => openEndNow(c, direction, p, file),
        again: E.ENXIO,
      },
      "no reader has the FIFO open",
    );
  }

  /**
   * Removes the FIFO's name (`unlink(2)`); ends already open keep working.
   *
   * Wraps `unlink(2)`, after `lstat(2)` to check that `path` is a FIFO. Needs `--allow-ffi`.
   *
   * @param path the FIFO
   * @throws {Deno.errors.NotFound} when nothing is at `path`
   * @throws {TypeError} when `path` is not a FIFO, a symbolic link to one included (nothing is
   *   removed: `unlink(2)` would remove the link and leave the FIFO)
   * @throws {Deno.errors.PermissionDenied} when the directory is not writable to this user
   * @throws {IpcError} EROFS on a read-only file system
   * @throws {Deno.errors.NotADirectory} when a component of `path` is not a directory
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
    // Not followed: unlink(2) would remove a symbolic link, not the FIFO it names.
    checkIsFifo(p, "unlink", false);
    ok(libc.unlink(cPath(p)), "unlink", { path: p });
  }
}
