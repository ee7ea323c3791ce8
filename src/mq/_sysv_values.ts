/**
 * Values of System V message queues: message types (a C `long`), the kernel's
 * limits from /proc.
 *
 * @module
 */
import { procSysInt } from "../_proc.ts";
import { shown } from "../_check.ts";

/**
 * The type of a message: a C `long`, positive when sending.
 *
 * @example A `number` when it is safe as one, else a `bigint`
 * ```ts
 * import { MessageQueue, type MessageType } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using q = MessageQueue.open("private");
 * const types: MessageType[] = [5n, 2n ** 62n];
 * for (const type of types) q.sendSync("x", { type });
 * assert.deepEqual([q.receiveSync().type, q.receiveSync().type], [5, 2n ** 62n]);
 * q.remove();
 * ```
 */
export type MessageType = number | bigint;

const LONG_MAX = 2n ** 63n - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** The kernel's limit `kernel.<name>` (read fresh: an administrator may change it), or its default. */
export function kernelLimit(name: "msgmax" | "msgmnb"): number {
  return procSysInt(`kernel/${name}`) ?? (name === "msgmax" ? 8192 : 16384);
}

/** msgmax as last read: re-read only when a message looks too large for it. */
let msgmaxCached = -1;

/** The kernel's msgmax, re-read when `size` exceeds what was last read. */
export function msgmaxAtLeast(size: number): number {
  if (msgmaxCached < 0 || size > msgmaxCached) msgmaxCached = kernelLimit("msgmax");
  return msgmaxCached;
}

/** The kernel's msgmax read again, after a call showed that it changed since it was read. */
export function msgmaxNow(): number {
  return msgmaxCached = kernelLimit("msgmax");
}

/**
 * A C `long` from a number or bigint, checked to be `min`..2^63-1: a
 * TypeError for anything else, a RangeError for a number or bigint that is not
 * an integer in range. A number stays one, so that a send writes it
 * ({@link setLong}) without making a BigInt.
 */
export function longOf(value: unknown, what: string, min: bigint): MessageType {
  if (typeof value === "number") {
    // Every safe integer is at most LONG_MAX: only `min` can refuse it.
    if (Number.isSafeInteger(value) && value >= Number(min)) return value + 0; // -0 as 0
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      // An integer, but past 2^53 a number no longer tells one from its neighbours.
      throw new RangeError(
        `${what} ${value} is past Number.MAX_SAFE_INTEGER: give it as a bigint to be exact`,
      );
    }
  } else if (typeof value !== "bigint") {
    throw new TypeError(`${what} must be an integer (number or bigint), got ${shown(value)}`);
  } else if (value >= min && value <= LONG_MAX) {
    return value;
  }
  // A number of the right type all the same: a fraction, NaN, ±Infinity, or below `min`.
  throw new RangeError(`${what} must be an integer ${min}..2^63-1, got ${value}`);
}

/** Writes the C `long` `value` at byte `at` of `view` (little-endian, as the platforms we run on). */
export function setLong(view: DataView, at: number, value: MessageType): void {
  if (typeof value === "bigint") return view.setBigInt64(at, value, true);
  const high = Math.floor(value / 2 ** 32);
  view.setUint32(at, value - high * 2 ** 32, true);
  view.setInt32(at + 4, high, true);
}

/**
 * The message type at byte `at` of `view`, as the caller gets it: a `number`
 * when it is safe as one. Read as two 32-bit halves: a DataView's BigInt read
 * costs several times as much right after a system call.
 */
export function longAt(view: DataView, at: number): MessageType {
  const high = view.getInt32(at + 4, true);
  // 0 ≤ high < 2^21: the value is 0..2^53-1, a safe integer.
  if (high >= 0 && high < 0x200000) return high * 2 ** 32 + view.getUint32(at, true);
  return typeOut(view.getBigInt64(at, true));
}

/** The most negative message type a receive may ask for (−LONG_MAX). */
export const TYPE_MIN: bigint = -LONG_MAX;

/** A message type as the caller gets it: a `number` when it is safe as one. */
export function typeOut(v: bigint): MessageType {
  return v >= -SAFE_MAX && v <= SAFE_MAX ? Number(v) : v;
}
