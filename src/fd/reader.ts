/**
 * {@link FdReader}: the reading end of a pipe or FIFO (any readable fd).
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { MAX_IO } from "../../ffi/symbols/unistd.ts";
import { AGAIN, failed } from "../_sys.ts";
import { checkBuffer, checkingBuffer } from "../_check.ts";
import type { SyncWaitOptions, WaitOptions } from "../options.ts";
import {
  blockingCall,
  fdSource,
  interruptible,
  type Operation,
  pollSync,
  READABLE,
  rejectedNow,
  Spinner,
  tryNow,
  untilClosed,
  wait,
  type WaitContext,
  waitSync,
} from "../_wait/mod.ts";
import { adoptFd } from "./_adopt.ts";
import { FdHandle, waitsOf } from "./handle.ts";
import { byteReadable } from "./_streams.ts";
import { chunkAttempt } from "../_landing.ts";

const NO_BYTES = new Uint8Array(0);

/**
 * A readable file descriptor: the reading end of a {@link pipe} or a FIFO, or
 * an fd a parent handed to this process. Reads never block the event loop in
 * their async form; `readSync` blocks the thread, as its name says.
 *
 * Reading returns the number of bytes read, or `null` at end of file (every
 * writer has closed), like `Deno.FsFile`.
 *
 * Wraps `read(2)`. Needs `--allow-ffi`.
 *
 * @example Adopt the fd a parent handed over as fd 3 (see `spawn`)
 * ```ts ignore
 * import { FdReader } from "@libc/ipc";
 * using reader = new FdReader(3);
 * const text = await new Response(reader.readable).text();
 * ```
 */
export class FdReader extends FdHandle implements AsyncIterable<Uint8Array<ArrayBuffer>> {
  readonly #context: WaitContext;
  readonly #source: ReturnType<typeof fdSource>;
  /**
   * The buffer of the sync or try read in progress: those end before any
   * other code runs, so one operation object serves them all, and the hot
   * path allocates nothing.
   */
  #buf: Uint8Array = NO_BYTES;
  readonly #syncOp: Operation<number | null>;
  #readable?: ReadableStream<Uint8Array<ArrayBuffer>>;

  /**
   * Takes ownership of an open, readable descriptor (it becomes non-blocking and close-on-exec).
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
   * @param fd the descriptor, e.g. 3 for the first one a parent handed over
   * @throws {TypeError} when an open handle of this library owns `fd` (it would close it
   *   under this one): pass a copy (`dup`)
   * @throws {TypeError} when `fd` is 0, 1 or 2 and a socket: making it non-blocking would make
   *   Deno's own stdio fail (use `Connection.fromFd` on a copy)
   * @throws {TypeError} if `fd` is not a number, or not open for reading
   * @throws {RangeError} if `fd` is not an integer 0..2^31-1
   * @throws {Deno.errors.PermissionDenied} when `fd` is 0, 1 or 2, a pipe or terminal that this
   *   process may not open again for a description of its own
   * @throws {Deno.errors.BadResource} if `fd` is not open (EBADF)
   *
   * @example A descriptor open only for writing is refused
   * ```ts
   * import { FdReader, pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using p = pipe();
   * assert.throws(() => new FdReader(p.writer.fd), TypeError);
   * ```
   */
  constructor(fd: number) {
    fd = adoptFd(fd, "read", "FdReader");
    super(fd);
    this.#context = { spinner: new Spinner(), registry: waitsOf(this) };
    this.#source = fdSource(fd, READABLE);
    this.#syncOp = {
      syscall: "read",
      subject: this.subject,
      attempt: () => this.#attempt(this.#buf),
      source: this.#source,
      block: (deadline) => this.#blockingRead(this.#buf, deadline),
    };
  }

  /** What the handle is, in error messages. */
  protected get what(): string {
    return "reader";
  }

  #attempt(buf: Uint8Array): number | null | typeof AGAIN {
    const fd = this.fdFor("read");
    // An empty read returns 0 at once (on an open reader), as read(2) does.
    if (buf.byteLength === 0) return 0;
    const len = Math.min(buf.byteLength, MAX_IO);
    for (;;) {
      const n = libc.read(fd, buf, len);
      if (n > 0) return n;
      if (n === 0) return null;
      if (failed("read", this.subject) === AGAIN) return AGAIN;
    }
  }

  /** An async read of `buf` as an operation of the engine: its own, as others may start meanwhile. */
  #op(buf: Uint8Array): Operation<number | null> {
    return {
      syscall: "read",
      subject: this.subject,
      attempt: checkingBuffer(buf, () => this.#attempt(buf)),
      source: this.#source,
    };
  }

  /**
   * The sync form's wait: a read on a blocking description of the same pipe,
   * which waits and reads in one call (interrupted at the deadline); `poll(2)`
   * where there is none, or no alarm to end it at the deadline.
   */
  #blockingRead(buf: Uint8Array, deadline: number): number | null | typeof AGAIN {
    const fd = this.blockingFd("read");
    // An empty read returns 0 at once, not the null of end of file.
    if (buf.byteLength === 0) return 0;
    if (fd < 0 || !interruptible(deadline)) return pollSync(this.fdFor("read"), READABLE, deadline);
    const len = Math.min(buf.byteLength, MAX_IO);
    const n = blockingCall(deadline, () => libc.read(fd, buf, len), "read", this.subject);
    return n === 0 ? null : n;
  }

  /**
   * Reads into `buf` what is available, waiting for data if there is none,
   * without blocking the event loop. An aborted `signal` rejects with its reason.
   *
   * Wraps `read(2)`. Needs `--allow-ffi`.
   *
   * @param buf where the bytes go
   * @param options `signal` to cancel, `timeout` in milliseconds
   * @returns the number of bytes read, or `null` at end of file
   * @throws {TypeError} when `buf` is not a Uint8Array or `signal` not an AbortSignal
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the reader is (or gets) closed
   * @throws {IpcError} EIO or EINVAL from `read(2)` on an fd that is not a pipe
   * @throws {Deno.errors.IsADirectory} EISDIR from `read(2)` on a directory
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using p = pipe();
   * p.writer.writeSync(new TextEncoder().encode("hi"));
   * const buf = new Uint8Array(16);
   * const n = await p.reader.read(buf, { timeout: 1000 });
   * assert.equal(new TextDecoder().decode(buf.subarray(0, n!)), "hi");
   * ```
   */
  read(buf: Uint8Array, options?: WaitOptions): Promise<number | null> {
    try {
      return wait(this.#op(buf), options, this.#context);
    } catch (e) {
      return rejectedNow(e);
    }
  }

  /**
   * Reads into `buf`, blocking the thread until data or end of file.
   *
   * Wraps `read(2)` and `poll(2)`. Needs `--allow-ffi`.
   *
   * @param buf where the bytes go
   * @param options `timeout` in milliseconds
   * @returns the number of bytes read, or `null` at end of file
   * @throws {TypeError} when `buf` is not a Uint8Array
   * @throws {RangeError} when `timeout` is negative or NaN (TypeError when not a number)
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {IpcError} EIO or EINVAL from `read(2)` on an fd that is not a pipe
   * @throws {Deno.errors.IsADirectory} EISDIR from `read(2)` on a directory
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using p = pipe();
   * p.writer.writeSync(new Uint8Array([1, 2, 3]));
   * p.writer.close();
   * const buf = new Uint8Array(8);
   * assert.equal(p.reader.readSync(buf), 3);
   * assert.equal(p.reader.readSync(buf), null); // end of file
   * ```
   */
  readSync(buf: Uint8Array, options?: SyncWaitOptions): number | null {
    checkBuffer(buf);
    this.#buf = buf;
    try {
      return waitSync(this.#syncOp, options, this.#context);
    } finally {
      this.#buf = NO_BYTES;
    }
  }

  /**
   * Reads what is available now, without waiting.
   *
   * Wraps `read(2)`. Needs `--allow-ffi`.
   *
   * @param buf where the bytes go
   * @returns the number of bytes read, or `null` at end of file
   * @throws {Deno.errors.WouldBlock} when nothing is available yet
   * @throws {TypeError} when `buf` is not a Uint8Array
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {IpcError} EIO or EINVAL from `read(2)` on an fd that is not a pipe
   * @throws {Deno.errors.IsADirectory} EISDIR from `read(2)` on a directory
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * using p = pipe();
   * assert.throws(() => p.reader.tryRead(new Uint8Array(8)), Deno.errors.WouldBlock);
   * ```
   */
  tryRead(buf: Uint8Array): number | null {
    checkBuffer(buf);
    this.#buf = buf;
    try {
      return tryNow(this.#syncOp);
    } finally {
      this.#buf = NO_BYTES;
    }
  }

  /**
   * The reader as a byte stream, like `Deno.FsFile.readable`: it ends at end of
   * file and closes the reader then, or when the stream is cancelled. A read
   * error closes the reader and errors the stream with it. A default reader
   * gets each chunk in a buffer of its own, of the size read (in a transfer of
   * bulk, the 64 KiB buffer it was read into, at least a quarter full);
   * a BYOB reader gets the bytes in its own buffer.
   *
   * Wraps `read(2)`. Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const { reader, writer } = pipe();
   * await writer.write(new TextEncoder().encode("streamed"));
   * writer.close();
   * assert.equal(await new Response(reader.readable).text(), "streamed");
   * ```
   */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    if (this.#readable === undefined) {
      const chunk = this.#chunkOp(true);
      this.#readable = byteReadable(
        (view) => this.read(view),
        () => wait(chunk, undefined, this.#context),
        () => this.close(),
      );
    }
    return this.#readable;
  }

  /**
   * The reader's bytes as they come, chunk by chunk, up to 64 KiB each:
   * `for await (const chunk of reader)`. It ends at end of file, and cleanly
   * when the reader is closed, even while it waits; ending it early (`break`,
   * an error) or at end of file closes the reader.
   *
   * No later read writes a chunk's bytes. Chunks share one 64 KiB
   * `ArrayBuffer` (a new one per chunk would cost Deno more than the read):
   * `chunk.slice()` gives bytes with a buffer of their own, to transfer it or
   * to post them to a Worker (a structured clone copies the whole buffer).
   * {@link FdReader.readable} gives chunks with buffers of their own, and
   * {@link FdReader.read} fills a buffer the caller keeps.
   *
   * Wraps `read(2)`. Needs `--allow-ffi`.
   *
   * @returns the chunks
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * import assert from "node:assert/strict";
   * const { reader, writer } = pipe();
   * writer.writeSync("one chunk");
   * writer.close();
   * const chunks: Uint8Array[] = [];
   * for await (const chunk of reader) chunks.push(chunk);
   * assert.equal(new TextDecoder().decode(chunks[0]), "one chunk");
   * assert.equal(reader.closed, true);
   * ```
   */
  [Symbol.asyncIterator](): AsyncGenerator<Uint8Array<ArrayBuffer>, void, undefined> {
    const chunk = this.#chunkOp(false);
    return untilClosed(
      this,
      (signal) => wait(chunk, { signal }, this.#context),
      { onEnd: () => this.close() },
    );
  }

  /** The reads of one consumer's chunks: `fresh` ones each in a buffer of its own. */
  #chunkOp(fresh: boolean): Operation<Uint8Array<ArrayBuffer> | null> {
    return {
      syscall: "read",
      subject: this.subject,
      // Lands and is kept in one go: no other read can land there in between.
      attempt: chunkAttempt((area) => this.#attempt(area), fresh),
      source: this.#source,
    };
  }
}
