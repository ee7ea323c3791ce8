/**
 * {@link FdWriter}: the writing end of a pipe or FIFO (any writable fd).
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { MAX_IO } from "../../ffi/symbols/unistd.ts";
import { AGAIN, failed } from "../_sys.ts";
import { bytesOf, checkUnchanged } from "../_check.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import {
  fdSource,
  type Operation,
  rejectedNow,
  Spinner,
  tryNow,
  wait,
  type WaitContext,
  waitSync,
  WRITABLE,
} from "../_wait/mod.ts";
import { adoptFd } from "./_adopt.ts";
import { FdHandle, waitsOf } from "./handle.ts";
import { withProgress, writeErrors } from "./_progress.ts";
import { chunkWritable } from "./_streams.ts";
import { WriteTurns } from "./_write_turns.ts";

const NO_BYTES = new Uint8Array(0);

/**
 * Bytes to write: a Uint8Array, or a string written as UTF-8.
 *
 * @example
 * ```ts
 * import { pipe, type WriteData } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using p = pipe();
 * const chunks: WriteData[] = ["caf\u00e9 ", new Uint8Array([0x21])];
 * for (const chunk of chunks) p.writer.writeSync(chunk);
 * p.writer.close();
 * assert.equal(await new Response(p.reader.readable).text(), "caf\u00e9 !");
 * ```
 */
export type WriteData = Uint8Array | string;

/**
 * A writable file descriptor: the writing end of a {@link pipe} or a FIFO, or
 * an fd a parent handed to this process.
 *
 * `write` and `writeSync` write **all** the bytes (looping over partial writes
 * of the non-blocking fd); a write of at most `PIPE_BUF` (4096) bytes to a pipe
 * is atomic. Writing when every reader has closed throws
 * `Deno.errors.BrokenPipe` (the process is never killed by SIGPIPE).
 *
 * Wraps `write(2)`. Needs `--allow-ffi`.
 *
 * @example Adopt the fd a parent handed over as fd 4 (see `spawn`)
 * ```ts ignore
 * import { FdWriter } from "@libc/ipc";
 * using writer = new FdWriter(4);
 * writer.writeSync("done\n");
 * ```
 */
export class FdWriter extends FdHandle {
  readonly #context: WaitContext;
  readonly #source: ReturnType<typeof fdSource>;
  /**
   * The bytes and progress of the sync or try write in progress: those end
   * before any other code runs, so one operation object serves them all, and
   * the hot path allocates nothing.
   */
  #bytes: Uint8Array = NO_BYTES;
  readonly #progress = { written: 0 };
  readonly #syncOp: Operation<number>;
  readonly #turns: WriteTurns;
  #writable?: WritableStream<Uint8Array>;

  /**
   * Takes ownership of an open, writable descriptor (it becomes non-blocking and close-on-exec).
   * A pipe, FIFO or terminal that is blocking gets a non-blocking open file description of
   * its own (reopened through `/proc/self/fd`), so a process sharing the old one (a shell's
   * terminal) is not affected (where that reopen is refused, the shared one goes non-blocking,
   * except for 0, 1 and 2, which throw); for 0, 1 or 2, Deno's own stdio, that one is left as it is
   * and the handle takes the new descriptor (its `fd`), which `close()` closes (a regular
   * file there is copied as it is; a socket, which has no description of its own to give,
   * is refused).
   *
   * Wraps `fcntl(2)`. Needs `--allow-ffi`.
   *
   * @param fd the descriptor
   * @throws {TypeError} when an open handle of this library owns `fd` (it would close it
   *   under this one): pass a copy (`dup`)
   * @throws {TypeError} when `fd` is 0, 1 or 2 and a socket: making it non-blocking would make
   *   Deno's own stdio fail (use `Connection.fromFd` on a copy)
   * @throws {TypeError} if `fd` is not a number, or not open for writing
   * @throws {RangeError} if `fd` is not an integer 0..2^31-1
   * @throws {Deno.errors.PermissionDenied} when `fd` is 0, 1 or 2, a pipe or terminal that this
   *   process may not open again for a description of its own
   * @throws {Deno.errors.BadResource} if `fd` is not open (EBADF)
   *
   * @example A descriptor open only for reading is refused
   * ```ts
   * import { FdWriter, pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using p = pipe();
   * assert.throws(() => new FdWriter(p.reader.fd), TypeError);
   * ```
   */
  constructor(fd: number) {
    fd = adoptFd(fd, "write", "FdWriter");
    super(fd);
    this.#context = { spinner: new Spinner(), registry: waitsOf(this), keepsAlive: true };
    this.#turns = new WriteTurns(this.#context.registry, () => this.subject);
    this.#source = fdSource(fd, WRITABLE);
    this.#syncOp = {
      syscall: "write",
      subject: this.subject,
      attempt: () => this.#writeSome(this.#bytes, this.#progress),
      source: this.#source,
    };
  }

  /** What the handle is, in error messages. */
  protected get what(): string {
    return "writer";
  }

  /**
   * The write of all of `bytes` as an operation of the waiting engine: each
   * try writes what the fd takes and is done when nothing is left;
   * `progress.written` says how far it got.
   */
  #op(bytes: Uint8Array, progress: { written: number }): Operation<number> {
    const length = bytes.byteLength;
    return {
      syscall: "write",
      subject: this.subject,
      attempt: () => {
        checkUnchanged(bytes, length);
        return this.#writeSome(bytes, progress);
      },
      source: this.#source,
    };
  }

  /** Writes from `bytes[progress.written]` while the fd takes bytes: all written, or AGAIN. */
  #writeSome(bytes: Uint8Array, progress: { written: number }): number | typeof AGAIN {
    const fd = this.fdFor("write");
    while (progress.written < bytes.byteLength) {
      const from = progress.written;
      const len = Math.min(bytes.byteLength - from, MAX_IO);
      const n = libc.write(fd, from === 0 ? bytes : bytes.subarray(from), len);
      if (n >= 0) progress.written += n;
      else if (failed("write", this.subject) === AGAIN) return AGAIN;
    }
    return progress.written;
  }

  /** Runs a sync or try form on the shared operation, writing `bytes`. */
  #shared<T>(bytes: Uint8Array, run: (op: Operation<number>) => T): T {
    this.#bytes = bytes;
    this.#progress.written = 0;
    try {
      return run(this.#syncOp);
    } catch (e) {
      throw withProgress(e, this.#progress.written);
    } finally {
      this.#bytes = NO_BYTES;
    }
  }

  /**
   * Writes all of `data`, waiting while the pipe is full, without blocking the
   * event loop. An aborted `signal` rejects with its reason. Writes made while
   * others are pending go out after them, whole and in call order (those of
   * {@link FdWriter.writable} too); a queued write that is aborted, times out
   * or sees `close()` rejects having written nothing.
   *
   * Wraps `write(2)`. Needs `--allow-ffi`.
   *
   * @param data bytes, or a string written as UTF-8
   * @param options `signal` to cancel, `timeout` in milliseconds. Bytes already
   *   written stay written and the error's `bytesWritten` says how many: an abort
   *   rejects with `signal.reason` itself when nothing was written, else with
   *   `Deno.errors.Interrupted` whose `cause` is the reason.
   * @returns the number of bytes written: all of them
   * @throws {TypeError} when `data` is neither a Uint8Array nor a string, or `signal` not an
   *   AbortSignal; when `data`'s buffer is detached or resized while the write waits (with
   *   `bytesWritten`)
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.BrokenPipe} when every reader has closed
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.Interrupted} when `signal` aborts after part of `data` was written
   * @throws {Deno.errors.BadResource} when the writer is (or gets) closed
   * @throws {IpcError} EIO, ENOSPC, EDQUOT or EFBIG from `write(2)` on an fd that is not a pipe
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * using p = pipe();
   * await p.writer.write("Hello from parent process");
   * ```
   */
  write(data: WriteData, options?: WaitOptions): Promise<number> {
    let bytes: Uint8Array;
    try {
      bytes = bytesOf(data);
    } catch (e) {
      return rejectedNow(e);
    }
    const progress = { written: 0 };
    return this.#turns.run(
      "write",
      (options) =>
        wait(
          this.#op(bytes, progress),
          options,
          this.#context,
          writeErrors(options?.signal, progress, bytes.byteLength, "write", this.subject),
        ),
      options,
      () => progress.written === bytes.byteLength,
    );
  }

  /**
   * Writes all of `data`, blocking the thread while the pipe is full. It does
   * not wait for async writes pending on this writer: its bytes may land
   * between theirs, or inside one that the pipe took in part (one longer
   * than `PIPE_BUF`, 4096 bytes, as C's `write(2)` can be cut).
   *
   * Wraps `write(2)` and `poll(2)`. Needs `--allow-ffi`.
   *
   * @param data bytes, or a string written as UTF-8
   * @param options `timeout` in milliseconds (bytes already written stay written;
   *   the error's `bytesWritten` says how many)
   * @returns the number of bytes written: all of them
   * @throws {TypeError} when `data` is neither a Uint8Array nor a string
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.BrokenPipe} when every reader has closed
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {IpcError} EIO, ENOSPC, EDQUOT or EFBIG from `write(2)` on an fd that is not a pipe
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using p = pipe();
   * assert.equal(p.writer.writeSync(new Uint8Array(100)), 100);
   * ```
   */
  writeSync(data: WriteData, options?: SyncWaitOptions): number {
    this.#bytes = bytesOf(data);
    this.#progress.written = 0;
    try {
      return waitSync(this.#syncOp, options, this.#context);
    } catch (e) {
      throw withProgress(e, this.#progress.written);
    } finally {
      this.#bytes = NO_BYTES;
    }
  }

  /**
   * Writes as much of `data` as the fd takes now, without waiting, even
   * while async writes are pending on this writer (its bytes may land between
   * theirs, or inside one that the pipe took in part).
   *
   * Wraps `write(2)`. Needs `--allow-ffi`.
   *
   * @param data bytes, or a string written as UTF-8
   * @returns the number of bytes written (maybe fewer than `data` holds)
   * @throws {Deno.errors.WouldBlock} when not one byte could be written
   * @throws {TypeError} when `data` is neither a Uint8Array nor a string
   * @throws {Deno.errors.BrokenPipe} when every reader has closed
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {IpcError} EIO, ENOSPC, EDQUOT or EFBIG from `write(2)` on an fd that is not a pipe
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using p = pipe();
   * assert.equal(p.writer.tryWrite("now"), 3);
   * ```
   */
  tryWrite(data: WriteData): number {
    return this.#shared(bytesOf(data), (op) => {
      // As write(2) does: whatever went, or WouldBlock when not one byte could.
      const written = this.#progress;
      return tryNow({
        ...op,
        attempt: () => op.attempt() === AGAIN && written.written === 0 ? AGAIN : written.written,
      });
    });
  }

  /**
   * The writer as a byte sink, like `Deno.FsFile.writable`: closing or aborting
   * the stream closes the writer, and so does a write that fails (the stream is
   * errored with its error, e.g. `BrokenPipe`). Each chunk is written with
   * {@link FdWriter.write}; `abort()` ends the write in progress, even one that
   * waits for room in a full pipe.
   *
   * An aborted `pipeTo(writable, { signal })` is different: by the Streams spec
   * it lets the chunk in progress finish before it aborts the stream, so a chunk
   * that waits for room holds it. Close the writer on the signal to end it.
   *
   * Wraps `write(2)`. Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const { reader, writer } = pipe();
   * await ReadableStream.from([new TextEncoder().encode("piped")]).pipeTo(writer.writable);
   * assert.equal(await new Response(reader.readable).text(), "piped");
   * ```
   *
   * @example A pipe that can be stopped while the pipe is full
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const { reader, writer } = pipe();
   * const stop = new AbortController();
   * stop.signal.addEventListener("abort", () => writer.close());
   * const endless = new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(65536)) });
   * const piping = endless.pipeTo(writer.writable, { signal: stop.signal });
   * await reader.read(new Uint8Array(1)); // the pipe has bytes: piping is under way
   * stop.abort(new Error("enough"));
   * await assert.rejects(piping, { message: "enough" });
   * assert.equal(writer.closed, true);
   * reader.close();
   * ```
   */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= chunkWritable(
      (chunk, signal) => this.write(chunk, { signal }),
      // After the writes still going out (a write() before the stream's): they are whole.
      () => this.#turns.idle().then(() => this.close()),
      () => this.close(),
    );
  }
}
