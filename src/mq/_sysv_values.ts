/**
 * Values of System V message queues: message types (a C `long`), the kernel's
 * limits from /proc.
 *
 * @module
 */
import { procSysInt } from "../_proc.ts";

/** The type of a message: a C `long`, positive when sending. */
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

/** A C `long` from a number or bigint, checked to be `min`..2^63-1. */
export function longOf(value: unknown, what: string, min: bigint): bigint {
  let v: bigint;
  if (typeof value === "bigint") v = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) v = BigInt(value);
  else throw new TypeError(`${what} must be an integer (number or bigint), got ${String(value)}`);
  if (v < min || v > LONG_MAX) throw new RangeError(`${what} must be ${min}..2^63-1, got ${v}`);
  return v;
}

/** The most negative message type a receive may ask for (−LONG_MAX). */
export const TYPE_MIN: bigint = -LONG_MAX;

/** A message type as the caller gets it: a `number` when it is safe as one. */
export function typeOut(v: bigint): MessageType {
  return v >= -SAFE_MAX && v <= SAFE_MAX ? Number(v) : v;
}
