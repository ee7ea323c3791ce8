/**
 * {@link FdReader}: the reading end of a pipe or FIFO (any readable fd).
 *
 * @module
 */
import { errno, libc } from "../ffi/libc.ts";
import { ERRNO } from "../ffi/platform.ts";
import { MAX_IO } from "../ffi/symbols/unistd.ts";
import { errorFromCode } from "./errors.ts";
import { adoptFd } from "./_fd.ts";
import { checkBuffer } from "./_check.ts";
import { FdHandle } from "./fd_handle.ts";
import {
  AGAIN,
  checkWaitOptions,
  deadlineOf,
  READABLE,
  Spinner,
  untilReady,
  untilReadySync,
  type WaitOptions,
} from "./_wait.ts";

const EAGAIN = ERRNO.EAGAIN;
const EINTR = ERRNO.EINTR;
const STREAM_CHUNK = 64 * 1024;

/** Options of {@link FdReader.readSync} and {@link FdWriter.writeSync}. */
export interface SyncWaitOptions {
  /** Milliseconds to block at most; then `Deno.errors.TimedOut` is thrown. */
  timeout?: number;
}

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
export class FdReader extends FdHandle {
  #spinner = new Spinner();
  #readable?: ReadableStream<Uint8Array<ArrayBuffer>>;

  /**
   * Takes ownership of an open, readable descriptor (it becomes non-blocking and close-on-exec).
   * A pipe or FIFO that is blocking gets a non-blocking open file description of its own
   * (reopened through `/proc/self/fd`), so a process sharing the old one is not affected.
   *
   * Wraps `fcntl(2)`. Needs `--allow-ffi`.
   *
   * @param fd the descriptor, e.g. 3 for the first one a parent handed over
   * @throws {TypeError} if `fd` is not an integer or not open for reading
   * @throws {Deno.errors.BadResource} if `fd` is not open (EBADF)
   *
   * @example A descriptor open only for writing is refused
   * ```ts
   * import { FdReader, pipe } from "@libc/ipc";
   * using p = pipe();
   * try {
   *   new FdReader(p.writer.fd);
   * } catch (e) {
   *   console.log(e instanceof TypeError); // true
   * }
   * ```
   */
  constructor(fd: number) {
    adoptFd(fd, "read", "FdReader");
    super(fd);
  }

  /** Name used in error messages. */
  protected get what(): string {
    return "reader";
  }

  #attempt(buf: Uint8Array): number | null | typeof AGAIN {
    const fd = this.fd;
    const len = Math.min(buf.byteLength, MAX_IO);
    for (;;) {
      const n = libc.read(fd, buf, len);
      if (n > 0) return n;
      if (n === 0) return null;
      const code = errno();
      if (code === EAGAIN) return AGAIN;
      if (code !== EINTR) throw errorFromCode(code, "read", { fd });
    }
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
   * @throws {RangeError} when `timeout` is not a number ≥ 0
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} when the reader is (or gets) closed
   * @throws {IpcError} EIO, EINVAL or EISDIR from `read(2)` on an fd that is not a pipe
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * using p = pipe();
   * p.writer.writeSync(new TextEncoder().encode("hi"));
   * const buf = new Uint8Array(16);
   * const n = await p.reader.read(buf, { timeout: 1000 });
   * console.log(new TextDecoder().decode(buf.subarray(0, n!))); // "hi"
   * ```
   */
  read(buf: Uint8Array, options?: WaitOptions): Promise<number | null> {
    try {
      checkBuffer(buf);
      checkWaitOptions(options);
      if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
      if (buf.byteLength === 0) {
        this.checkOpen();
        return Promise.resolve(0);
      }
      const r = this.#spinner.first(() => this.#attempt(buf));
      if (r !== AGAIN) return Promise.resolve(r);
      return untilReady(
        this.fd,
        READABLE,
        () => this.#attempt(buf),
        options?.signal,
        deadlineOf(options),
        this.#spinner,
        true,
      );
    } catch (e) {
      return Promise.reject(e);
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
   * @throws {RangeError} when `timeout` is not a number ≥ 0
   * @throws {Deno.errors.TimedOut} when `timeout` passes first
   * @throws {Deno.errors.BadResource} after `close()`
   * @throws {IpcError} EIO, EINVAL or EISDIR from `read(2)` on an fd that is not a pipe
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * using p = pipe();
   * p.writer.writeSync(new Uint8Array([1, 2, 3]));
   * p.writer.close();
   * const buf = new Uint8Array(8);
   * console.log(p.reader.readSync(buf)); // 3
   * console.log(p.reader.readSync(buf)); // null: end of file
   * ```
   */
  readSync(buf: Uint8Array, options?: SyncWaitOptions): number | null {
    checkBuffer(buf);
    checkWaitOptions(options);
    if (buf.byteLength === 0) {
      this.checkOpen();
      return 0;
    }
    const deadline = deadlineOf(options);
    const r = this.#spinner.first(() => this.#attempt(buf));
    if (r !== AGAIN) return r;
    return untilReadySync(this.fd, READABLE, () => this.#attempt(buf), deadline, this.#spinner);
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
   * @throws {IpcError} EIO, EINVAL or EISDIR from `read(2)` on an fd that is not a pipe
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * using p = pipe();
   * try {
   *   p.reader.tryRead(new Uint8Array(8));
   * } catch (e) {
   *   console.log(e instanceof Deno.errors.WouldBlock); // true
   * }
   * ```
   */
  tryRead(buf: Uint8Array): number | null {
    checkBuffer(buf);
    if (buf.byteLength === 0) {
      this.checkOpen();
      return 0;
    }
    const r = this.#attempt(buf);
    if (r === AGAIN) throw errorFromCode(EAGAIN, "read", { fd: this.fd });
    return r;
  }

  /**
   * The reader as a byte stream, like `Deno.FsFile.readable`: it ends at end of
   * file and closes the reader then, or when the stream is cancelled. A read
   * error closes the reader and errors the stream with it.
   *
   * Wraps `read(2)`. Needs `--allow-ffi`.
   *
   * @example
   * ```ts
   * import { pipe } from "@libc/ipc";
   * const { reader, writer } = pipe();
   * await writer.write(new TextEncoder().encode("streamed"));
   * writer.close();
   * console.log(await new Response(reader.readable).text()); // "streamed"
   * ```
   */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return this.#readable ??= new ReadableStream({
      type: "bytes",
      autoAllocateChunkSize: STREAM_CHUNK,
      pull: async (controller) => {
        const view = controller.byobRequest!.view as Uint8Array;
        try {
          const n = await this.read(view);
          if (n === null) {
            this.close();
            controller.close();
            controller.byobRequest!.respond(0);
          } else {
            controller.byobRequest!.respond(n);
          }
        } catch (e) {
          this.close();
          controller.error(e);
        }
      },
      cancel: () => this.close(),
    });
  }
}
