/**
 * Child processes, the `fork()` stand-in: `@libc/ipc/process`.
 *
 * @example
 * ```ts
 * import { spawnProgram } from "@libc/ipc/process";
 * import assert from "node:assert/strict";
 * await using child = spawnProgram("/bin/sh", ["-c", "exit 3"]);
 * assert.equal((await child.status).code, 3);
 * ```
 *
 * @module
 */
export { ChildProcess, type ChildStatus } from "./child.ts";
export type { FdSource } from "../fd/_fd_source.ts";
export { spawn, type SpawnOptions, spawnProgram, type SpawnProgramOptions } from "./spawn.ts";
export {
  type RealTimeSignalName,
  type SignalName,
  signalNumber,
  type StandardSignalName,
} from "./signals.ts";
export { type ErrorSubject, IpcError, type SystemError, type SystemErrorInfo } from "../errors.ts";
export { released } from "../_wait/release.ts";
