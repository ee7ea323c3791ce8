/**
 * The Web Streams of byte handles (`FdReader`/`FdWriter`, stream sockets),
 * built on their own `read()`/`write()` so that they wait as those do.
 *
 * @module
 */

/**
 * A byte stream over `read`, which fills the view of a BYOB read (the count,
 * or null at end of stream), and `next`, which resolves the next chunk for a
 * default reader, in a buffer of its own (the stream takes it over), or null
 * at end of stream. `end` runs at end of stream, on a failed read and on
 * cancel (an FdReader closes its fd then; a socket stays open for writing).
 * Cancel aborts `signal`: a read left waiting on a handle that stays open
 * would take the next bytes to arrive, and nobody would get them.
 *
 * No `autoAllocateChunkSize`: that would make every default read allocate a
 * buffer of that size first (64 KiB: 10 µs, where a read of 64 B takes 1).
 */
export function byteReadable(
  read: (view: Uint8Array, signal: AbortSignal) => Promise<number | null>,
  next: (signal: AbortSignal) => Promise<Uint8Array<ArrayBuffer> | null>,
  end: () => void = () => {},
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const cancelled = new AbortController();
  return new ReadableStream({
    type: "bytes",
    pull: async (controller) => {
      try {
        if (controller.byobRequest === null) {
          const chunk = await next(cancelled.signal);
          if (chunk === null) {
            end();
            controller.close();
          } else {
            controller.enqueue(chunk);
          }
          return;
        }
        const n = await read(controller.byobRequest.view as Uint8Array, cancelled.signal);
        if (n === null) {
          end();
          controller.close();
          controller.byobRequest!.respond(0);
        } else {
          controller.byobRequest!.respond(n);
        }
      } catch (e) {
        end();
        controller.error(e);
      }
    },
    cancel: (reason) => {
      cancelled.abort(reason);
      end();
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
 * signal never gets here: closing the handle is what ends that write.)
 */
export function chunkWritable(
  write: (chunk: Uint8Array, signal: AbortSignal) => Promise<unknown>,
  close: () => void | Promise<void>,
  abort: () => void,
): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    write: async (chunk, controller) => {
      try {
        await write(bytesOfChunk(chunk), controller.signal);
      } catch (e) {
        abort();
        throw e;
      }
    },
    close,
    abort,
  });
}
