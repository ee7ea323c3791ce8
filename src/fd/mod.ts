/**
 * File-descriptor handles, pipes and FIFOs: `@libc/ipc/fd`.
 *
 * @example A pipe in one process
 * ```ts
 * import { pipe } from "@libc/ipc/fd";
 * import assert from "node:assert/strict";
 * using p = pipe();
 * p.writer.writeSync("hi");
 * const buf = new Uint8Array(8);
 * assert.equal(p.reader.readSync(buf), 2);
 * ```
 *
 * @module
 */
export { FdHandle } from "./handle.ts";
export { FdReader } from "./reader.ts";
export { FdWriter, type WriteData } from "./writer.ts";
export { type Pipe, pipe } from "./pipe.ts";
export { Fifo, type FifoCreateOptions, type FifoEnd } from "./fifo.ts";
export type { Access, Direction, SyncWaitOptions, WaitOptions } from "../options.ts";
export type { PathLike } from "../_path.ts";
export { type ErrorSubject, IpcError, type SystemError, type SystemErrorInfo } from "../errors.ts";
export { released } from "../_wait/release.ts";
