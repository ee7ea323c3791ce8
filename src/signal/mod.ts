/**
 * Signals: sending them (with a value), and reading them with their sender
 * and value through `signalfd`: `@libc/ipc/signal`.
 *
 * @example
 * ```ts
 * import { sendSignal, signalNumber } from "@libc/ipc/signal";
 * import { spawnProgram } from "@libc/ipc/process";
 * import assert from "node:assert/strict";
 * assert.equal(signalNumber("SIGRTMIN+1"), 35);
 * const child = spawnProgram("/bin/sleep", ["10"]);
 * sendSignal(child, "SIGTERM");
 * assert.equal((await child.status).signal, "SIGTERM");
 * ```
 *
 * @module
 */
export {
  type RealTimeSignalName,
  type SignalName,
  signalName,
  signalNumber,
  type StandardSignalName,
} from "./names.ts";
export { sendSignal, type SendSignalOptions } from "./send.ts";
export { type SignalInfo, SignalReader, signals, signalsBlocked } from "./reader.ts";
export { relaunchWithSignalsBlocked } from "./relaunch.ts";
export type { ChildProcess, ChildStatus } from "../process/child.ts";
export { FdHandle } from "../fd/handle.ts";
export { type ErrorSubject, IpcError, type SystemError, type SystemErrorInfo } from "../errors.ts";
export type { SyncWaitOptions, WaitOptions } from "../options.ts";
export { released } from "../_wait/release.ts";
