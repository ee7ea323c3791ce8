/**
 * Record locks: byte-range locks on a file that processes take in turn
 * (`fcntl(2)` open file description locks): `@libc/ipc/lock`.
 *
 * @example One owner at a time
 * ```ts
 * import { RecordLocks } from "@libc/ipc/lock";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * using a = RecordLocks.open(path);
 * using b = RecordLocks.open(path);
 * using _lock = await a.lock();
 * assert.throws(() => b.tryLock(), Deno.errors.WouldBlock);
 * await Deno.remove(path);
 * ```
 *
 * @module
 */
export {
  type LockHolder,
  type LockOptions,
  type LockRange,
  type LockSyncOptions,
  RecordLocks,
  type RecordLocksOpenOptions,
} from "./record_locks.ts";
export {
  type ConvertOptions,
  type ConvertSyncOptions,
  type LockKind,
  RecordLock,
} from "./record_lock.ts";
export { FdHandle } from "../fd/handle.ts";
export type { SyncWaitOptions, WaitOptions } from "../options.ts";
export type { PathLike } from "../_path.ts";
export { type ErrorSubject, IpcError, type SystemError, type SystemErrorInfo } from "../errors.ts";
export { released } from "../_wait/release.ts";
