/**
 * Semaphores, System V and POSIX: `@libc/ipc/sem`.
 *
 * @module
 */
export {
  type SemaphoreLimits,
  type SemaphoreOperation,
  SemaphoreSet,
  type SemaphoreSetOpenOptions,
  type SemaphoreSetStat,
  type SysvOpenOptions,
  type SysvOwnership,
} from "./semaphore_set.ts";
export { type AcquireOptions, Semaphore, type SemaphoreOpenOptions } from "./semaphore.ts";
export { PosixSemaphore, type PosixSemaphoreOpenOptions } from "./posix_semaphore.ts";
export type { SyncWaitOptions, WaitOptions } from "../options.ts";
export type { PathLike } from "../_path.ts";
export { type ErrorSubject, IpcError, type SystemError, type SystemErrorInfo } from "../errors.ts";
