/**
 * Unnamed pipes: `pipe2(2)`.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C } from "../../ffi/platform.ts";
import { ok } from "../_sys.ts";
import { FdReader } from "./reader.ts";
import { FdWriter } from "./writer.ts";

/**
 * The two ends of a pipe; disposing it closes both ends.
 *
 * @example
 * ```ts
 * import { type Pipe, pipe } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const p: Pipe = pipe();
 * p.writer.writeSync("hi");
 * assert.equal(p.reader.readSync(new Uint8Array(8)), 2);
 * p[Symbol.dispose](); // what `using p = pipe()` does at the end of its block
 * assert.deepEqual([p.reader.closed, p.writer.closed], [true, true]);
 * ```
 */
export interface Pipe extends Disposable {
  /** The reading end. */
  reader: FdReader;
  /** The writing end. */
  writer: FdWriter;
}

/**
 * Creates a pipe (`pipe2(2)` with `O_CLOEXEC | O_NONBLOCK`): bytes written to
 * `writer` come out of `reader` in order. Hand one end to a child with
 * `spawn(module, { fds: { 3: p.reader } })` and close it in the parent.
 *
 * Needs `--allow-ffi`.
 *
 * @returns the reader and the writer
 * @throws {IpcError} EMFILE/ENFILE when the process or system is out of descriptors
 *
 * @example
 * ```ts
 * import { pipe } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using p = pipe();
 * await p.writer.write("Hello from parent process");
 * p.writer.close();
 * assert.equal(await new Response(p.reader.readable).text(), "Hello from parent process");
 * ```
 */
export function pipe(): Pipe {
  const fds = new Int32Array(2);
  ok(libc.pipe2(new Uint8Array(fds.buffer), C.O_CLOEXEC | C.O_NONBLOCK), "pipe2");
  return pipeOf(fds[0], fds[1]);
}

/** The handles of a reading and a writing descriptor, both closed if either cannot be had. */
export function pipeOf(readFd: number, writeFd: number): Pipe {
  let reader: FdReader | undefined;
  let writer: FdWriter;
  try {
    reader = new FdReader(readFd);
    writer = new FdWriter(writeFd);
  } catch (e) {
    if (reader === undefined) libc.close(readFd);
    else reader.close();
    libc.close(writeFd);
    throw e;
  }
  return {
    reader,
    writer,
    [Symbol.dispose]() {
      reader.close();
      writer.close();
    },
  };
}
