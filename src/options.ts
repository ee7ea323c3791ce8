/**
 * The option types every handle shares. Every blocking operation comes in
 * three forms named the same way on every handle: `x()` returns a promise and
 * takes {@link WaitOptions}; `xSync()` blocks the thread and takes
 * {@link SyncWaitOptions}; `tryX()` never waits and throws
 * `Deno.errors.WouldBlock` instead.
 *
 * @module
 */

/**
 * Options of every async (`x()`) operation.
 *
 * @example
 * ```ts
 * import type { WaitOptions } from "@libc/ipc";
 * const options: WaitOptions = { signal: AbortSignal.timeout(1000), timeout: Infinity };
 * ```
 */
export interface WaitOptions {
  /** Cancels the wait: the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Milliseconds to wait at most, then the promise rejects with
   * `Deno.errors.TimedOut` (`code: "ETIMEDOUT"`). `Infinity` (the default)
   * waits as long as it takes; any finite value works, however large.
   */
  timeout?: number;
}

/**
 * Options of every blocking (`xSync()`) operation. It takes no `signal`
 * (a `TypeError`): nothing could abort a call that blocks the thread.
 *
 * @example
 * ```ts
 * import type { SyncWaitOptions } from "@libc/ipc";
 * const options: SyncWaitOptions = { timeout: 250 };
 * ```
 */
export interface SyncWaitOptions {
  /**
   * Milliseconds to block at most, then `Deno.errors.TimedOut`
   * (`code: "ETIMEDOUT"`) is thrown. `Infinity` (the default) blocks as long
   * as it takes.
   */
  timeout?: number;
}

/**
 * One way of a one-way handle: a pipe end, a FIFO end.
 *
 * @example
 * ```ts
 * import type { Direction } from "@libc/ipc";
 * const side: Direction = "read";
 * ```
 */
export type Direction = "read" | "write";

/**
 * What a handle may do: one way, or both (`"readwrite"`).
 *
 * @example
 * ```ts
 * import type { Access } from "@libc/ipc";
 * const access: Access = "readwrite";
 * ```
 */
export type Access = Direction | "readwrite";
