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
 * @example An abort rejects with the signal's reason; a timeout with `TimedOut`
 * ```ts
 * import { pipe, type WaitOptions } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using p = pipe();
 * const controller = new AbortController();
 * const options: WaitOptions = { signal: controller.signal, timeout: Infinity };
 * const read = p.reader.read(new Uint8Array(8), options); // nothing written: it waits
 * controller.abort(new Error("no longer needed"));
 * await assert.rejects(read, (e) => e === controller.signal.reason);
 * await assert.rejects(p.reader.read(new Uint8Array(8), { timeout: 10 }), Deno.errors.TimedOut);
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
 * @example A timeout bounds the wait; a `signal` is refused
 * ```ts
 * import { pipe, type SyncWaitOptions } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using p = pipe();
 * const options: SyncWaitOptions = { timeout: 10 };
 * assert.throws(() => p.reader.readSync(new Uint8Array(8), options), Deno.errors.TimedOut);
 * const signal = new AbortController().signal;
 * assert.throws(() => p.reader.readSync(new Uint8Array(8), { signal } as never), TypeError);
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
