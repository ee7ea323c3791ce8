/**
 * The Web Streams of byte handles (`FdReader`/`FdWriter`, stream sockets),
 * built on their own `read()`/`write()` so that they wait as those do.
 *
 * @module
 */

/** How each open stream a handle handed out ends when the handle closes: see {@link failStreams}. */
const whenClosed = new WeakMap<object, Set<(error: (syscall: string) => Error) => void>>();

/**
 * Registers `fail` to run when `owner` closes; returns what forgets it. A
 * stream forgets it before it closes its handle itself (at its end, on a
 * failed write): it ends then with its own outcome, not the close's.
 */
function onClose(
  owner: object,
  syscall: string,
  fail: (e: Error) => void,
): () => void {
  let set = whenClosed.get(owner);
  if (set === undefined) whenClosed.set(owner, set = new Set());
  const entry = (error: (syscall: string) => Error) => fail(error(syscall));
  set.add(entry);
  return () => set.delete(entry);
}

/**
 * Errors the streams `owner` handed out that are still open, each with
 * `error` of its call: its handle was closed. A stream idle at that moment
 * (a `pipeTo` waiting on its other end) would otherwise never learn it, and
 * the pipe whose source it is would never end, holding its destination.
 */
export function failStreams(owner: object, error: (syscall: string) => Error): void {
  const set = whenClosed.get(owner);
  if (set === undefined) return;
  whenClosed.delete(owner);
  for (const fail of set) fail(error);
}

/**
 * A byte stream over `read`, which fills the view of a BYOB read (the count,
 * or null at end of stream), and `next`, which resolves the next chunk for a
 * default reader, in a buffer of its own (the stream takes it over), or null
 * at end of stream. `end` runs at end of stream, on a failed read and on
 * cancel (an FdReader closes its fd then; a socket stays open for writing).
 * Cancel aborts `signal`: a read left waiting on a handle that stays open
 * would take the next bytes to arrive, and nobody would get them. When
 * `owner` is closed otherwise, the stream errors with `syscall`'s
 * closed-handle error ({@link failStreams}).
 *
 * No `autoAllocateChunkSize`: that would make every default read allocate a
 * buffer of that size first (64 KiB: 10 µs, where a read of 64 B takes 1).
 */
export function byteReadable(
  owner: object,
  syscall: string,
  read: (view: Uint8Array, signal: AbortSignal) => Promise<number | null>,
  next: (signal: AbortSignal) => Promise<Uint8Array<ArrayBuffer> | null>,
  end: () => void = () => {},
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const cancelled = new AbortController();
  let forget = () => {};
  const ended = () => {
    forget();
    end();
  };
  return new ReadableStream({
    type: "bytes",
    start: (controller) => {
      forget = onClose(owner, syscall, (e) => controller.error(e));
    },
    pull: async (controller) => {
      try {
        if (controller.byobRequest === null) {
          const chunk = await next(cancelled.signal);
          if (chunk === null) {
            ended();
            controller.close();
          } else {
            controller.enqueue(chunk);
          }
          return;
        }
        const n = await read(controller.byobRequest.view as Uint8Array, cancelled.signal);
        if (n === null) {
          ended();
          controller.close();
          controller.byobRequest!.respond(0);
        } else {
          controller.byobRequest!.respond(n);
        }
      } catch (e) {
        ended();
        controller.error(e);
      }
    },
    cancel: (reason) => {
      cancelled.abort(reason);
      ended();
    },
  });
}

/**
 * A chunk's bytes: any view or ArrayBuffer is taken, as `Deno.FsFile.writable`
 * takes them (a string too, as `write` does).
 */
function bytesOfChunk(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array || typeof chunk === "string") return chunk as Uint8Array;
  if (ArrayBuffer.isView(chunk)) {
    return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  if (chunk instanceof ArrayBuffer || chunk instanceof SharedArrayBuffer) {
    return new Uint8Array(chunk);
  }
  return chunk as Uint8Array; // refused by `write`, with its TypeError
}

/**
 * A sink that writes each chunk whole with `write`; `close` ends it, `abort`
 * closes the handle. A write error closes the handle too (as a read error
 * does in {@link byteReadable}, and as `Deno.FsFile.writable` does): the
 * stream is errored for good, and nothing else would release the fd. The
 * stream's abort signal reaches the write in progress, which would otherwise
 * hold `abort()` back until the peer takes the chunk, maybe never. (An
 * aborted `pipeTo` waits for that write before it aborts the stream, so its
 * signal never gets here: closing the handle is what ends that write.) When
 * `owner` is closed otherwise, the stream errors with `syscall`'s
 * closed-handle error ({@link failStreams}).
 */
export function chunkWritable(
  owner: object,
  syscall: string,
  write: (chunk: Uint8Array, signal: AbortSignal) => Promise<unknown>,
  close: () => void | Promise<void>,
  abort: () => void,
): WritableStream<Uint8Array> {
  let forget = () => {};
  const aborted = () => {
    forget();
    abort();
  };
  return new WritableStream<Uint8Array>({
    start: (controller) => {
      forget = onClose(owner, syscall, (e) => controller.error(e));
    },
    write: async (chunk, controller) => {
      try {
        await write(bytesOfChunk(chunk), controller.signal);
      } catch (e) {
        aborted();
        throw e;
      }
    },
    close: () => {
      forget();
      return close();
    },
    abort: aborted,
  });
}
