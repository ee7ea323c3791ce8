/**
 * Shared memory, System V and POSIX, and cross-process wait/notify on words
 * in it: `@libc/ipc/shm`.
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
} from "./shared_memory.ts";
export {
  PosixSharedMemory,
  type PosixSharedMemoryAnonymousOptions,
  type PosixSharedMemoryFromFdOptions,
  type PosixSharedMemoryOpenOptions,
} from "./posix_shared_memory.ts";
export { type ErrorSubject, IpcError, type SystemError, type SystemErrorInfo } from "../errors.ts";
