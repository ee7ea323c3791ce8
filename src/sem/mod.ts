/**
 * Semaphores, System V and POSIX: `@libc/ipc/sem`.
 *
 * @example
 * ```ts
 * import { Semaphore } from "@libc/ipc/sem";
 * import assert from "node:assert/strict";
 * using sem = Semaphore.open("private"); // one token
 * {
 *   using _held = await sem.acquire(); // given back at the end of the block
 *   assert.equal(sem.value, 0);
 * }
 * assert.equal(sem.value, 1);
 * sem.remove();
 * ```
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
  type SysvOwnershipChange,
} from "./semaphore_set.ts";
export {
  Semaphore,
  type SemaphoreAcquireOptions,
  type SemaphoreOpenOptions,
  type SemaphoreReleaseOptions,
} from "./semaphore.ts";
export { PosixSemaphore, type PosixSemaphoreOpenOptions } from "./posix_semaphore.ts";
export type { SyncWaitOptions, WaitOptions } from "../options.ts";
export type { PathLike } from "../_path.ts";
export { type ErrorSubject, IpcError, type SystemError, type SystemErrorInfo } from "../errors.ts";
export { released } from "../_wait/release.ts";
