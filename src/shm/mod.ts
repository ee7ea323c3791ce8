/**
 * Shared memory, System V and POSIX, and cross-process wait/notify on words
 * in it: `@libc/ipc/shm`.
 *
 * @example
 * ```ts
 * import { notify, PosixSharedMemory, wait } from "@libc/ipc/shm";
 * import assert from "node:assert/strict";
 * using shm = PosixSharedMemory.anonymous(4096); // handed to a child, it is shared
 * const words = new Int32Array(shm.bytes.buffer);
 * const woken = wait(words, 0, 0); // waits while the word holds 0
 * Atomics.store(words, 0, 1); // change it, then notify
 * notify(words, 0);
 * assert.ok(["ok", "not-equal"].includes(await woken)); // "not-equal": it changed first
 * ```
 *
 * @module
 */
export { type FutexWaitResult, notify, wait, waitSync } from "./futex.ts";
export type { SyncWaitOptions, WaitOptions } from "../options.ts";
export type { PathLike } from "../_path.ts";
export {
  SharedMemory,
  type SharedMemoryFromIdOptions,
  type SharedMemoryLimits,
  type SharedMemoryOpenOptions,
  type SharedMemoryStat,
  type SysvOpenOptions,
  type SysvOwnership,
  type SysvOwnershipChange,
} from "./shared_memory.ts";
export {
  PosixSharedMemory,
  type PosixSharedMemoryAnonymousOptions,
  type PosixSharedMemoryFromFdOptions,
  type PosixSharedMemoryOpenOptions,
} from "./posix_shared_memory.ts";
export { type ErrorSubject, IpcError, type SystemError, type SystemErrorInfo } from "../errors.ts";
export { released } from "../_wait/release.ts";
