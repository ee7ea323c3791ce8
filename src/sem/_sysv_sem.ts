/**
 * What the System V semaphore handles share: the kernel's limits (read once),
 * the checks of operations and values, and the `sembuf` arrays they become.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { ok } from "../_sys.ts";
import { checkBoolean, checkInteger, shown } from "../_check.ts";

/**
 * The kernel's System V semaphore limits, from `semctl(IPC_INFO)`.
 *
 * @example A value past `maxValue` is refused (`ERANGE`)
 * ```ts
 * import { SemaphoreSet, type SemaphoreLimits, type SystemError } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const limits: SemaphoreLimits = SemaphoreSet.limits();
 * using set = SemaphoreSet.open("private", { count: 1, values: limits.maxValue });
 * const add = () => set.tryOp([{ index: 0, delta: 1 }]);
 * assert.throws(add, (e) => (e as SystemError).code === "ERANGE");
 * set.remove();
 * ```
 */
export interface SemaphoreLimits {
  /** The largest value a semaphore holds (`SEMVMX`; 32767 on Linux). */
  readonly maxValue: number;
  /** The largest adjustment a process's undo entry holds (`SEMAEM`; 32767 on Linux). */
  readonly maxUndo: number;
  /** The most operations one `semop` takes (`SEMOPM`, the 3rd field of /proc/sys/kernel/sem). */
  readonly maxOpsPerCall: number;
  /** The most members a set has (`SEMMSL`, the 1st field of /proc/sys/kernel/sem). */
  readonly maxMembers: number;
  /** The most sets the system holds (`SEMMNI`, the 4th field of /proc/sys/kernel/sem). */
  readonly maxSets: number;
}

let limits: SemaphoreLimits | undefined;

/** The limits, read once per process (`semctl(0, 0, IPC_INFO, &seminfo)`). */
export function semLimits(): SemaphoreLimits {
  if (limits !== undefined) return limits;
  const buf = new Uint8Array(LAYOUTS.seminfo.size);
  ok(libc.semctl(0, 0, C.IPC_INFO, buf), "semctl");
  const info = LAYOUTS.seminfo.decode(buf);
  return limits = Object.freeze({
    maxValue: info.semvmx,
    maxUndo: info.semaem,
    maxOpsPerCall: info.semopm,
    maxMembers: info.semmsl,
    maxSets: info.semmni,
  });
}

/**
 * One operation of a `semop(2)` call on a set.
 *
 * @example Take one, without waiting
 * ```ts
 * import { type SemaphoreOperation, SemaphoreSet } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using set = SemaphoreSet.open("private", { count: 1, values: 1 });
 * const take: SemaphoreOperation = { index: 0, delta: -1, wait: false };
 * await set.op([take]);
 * await assert.rejects(set.op([take]), Deno.errors.WouldBlock); // the value is 0: fails at once
 * set.remove();
 * ```
 */
export interface SemaphoreOperation {
  /** Which member, 0..count-1. */
  index: number;
  /**
   * `> 0` adds to the value; `< 0` takes from it, waiting while the value
   * would go below 0; `0` waits until the value is 0. At most `SEMVMX`
   * (32767) either way.
   */
  delta: number;
  /**
   * Record the opposite adjustment, which the kernel applies when this
   * process ends (`SEM_UNDO`): a holder that dies gives back what it took.
   * Default `false`.
   */
  undo?: boolean;
  /**
   * Default `true`. `false` (`IPC_NOWAIT` on this operation): if it is the
   * one that cannot proceed, the whole call fails at once with
   * `Deno.errors.WouldBlock` instead of waiting. `op()` decides which one
   * stops the call from the values it reads just after the kernel said the
   * call would wait: a change by another process in between makes it wait or
   * fail as it would have a moment later.
   */
  wait?: boolean;
}

const SEMBUF = LAYOUTS.sembuf;
/** Bytes of one `struct sembuf`. */
export const SEMBUF_SIZE: number = SEMBUF.size;
const NUM = SEMBUF.offsets.sem_num;
const OP = SEMBUF.offsets.sem_op;
const FLG = SEMBUF.offsets.sem_flg;

/** An integer 0..`max`, else RangeError (TypeError when not a number) naming `what`. */
export function checkInt(x: unknown, what: string, max: number, limit: string): number {
  return checkInteger(x, what, 0, max, `0..${max} (${limit})`);
}

/** Whether `x` is a number and an integer `min..max` (`-0` is, and DataView writes it as 0). */
function isIntegerIn(x: unknown, min: number, max: number): x is number {
  return typeof x === "number" && Number.isInteger(x) && x >= min && x <= max;
}

/** The initial values of a new set of `count` members: one number for all, or one each. */
export function initialValues(values: unknown, count: number): number[] {
  const max = semLimits().maxValue;
  if (values === undefined) return new Array(count).fill(0);
  if (typeof values === "number") {
    return new Array(count).fill(checkInt(values, "values", max, "SEMVMX"));
  }
  return checkValues(values, count);
}

/** An array of `count` values, each 0..SEMVMX. */
export function checkValues(values: unknown, count: number): number[] {
  if (!Array.isArray(values)) {
    throw new TypeError(`values must be an array of numbers, got ${shown(values)}`);
  }
  if (values.length !== count) {
    throw new RangeError(`values must have one value per member (${count}), got ${values.length}`);
  }
  const max = semLimits().maxValue;
  return values.map((v, i) => checkInt(v, `values[${i}]`, max, "SEMVMX"));
}

/**
 * A `sembuf` array being built: two buffers, the operations with their own
 * flags (what a waiting call takes) and the same with `IPC_NOWAIT` on every
 * one (the engine's attempts). Reused from call to call.
 */
export class SembufArray {
  wait: Uint8Array<ArrayBuffer> = new Uint8Array(SEMBUF_SIZE * 4);
  try: Uint8Array<ArrayBuffer> = new Uint8Array(SEMBUF_SIZE * 4);
  #waitView = new DataView(this.wait.buffer);
  #tryView = new DataView(this.try.buffer);
  /** How many operations it holds. */
  length = 0;
  /** Whether one of them has `wait: false`. */
  noWait = false;
  /** Whether they only add (every delta > 0): such operations never wait. */
  onlyGive = false;

  /** Checks `ops` against a set of `count` members and lays them out; RangeError/TypeError before any syscall. */
  set(ops: readonly SemaphoreOperation[], count: number): void {
    if (!Array.isArray(ops)) {
      throw new TypeError(`ops must be an array of operations, got ${shown(ops)}`);
    }
    const { maxValue, maxOpsPerCall } = semLimits();
    const n = ops.length;
    if (n < 1 || n > maxOpsPerCall) {
      throw new RangeError(`ops must hold 1..${maxOpsPerCall} operations (SEMOPM), got ${n}`);
    }
    if (this.wait.byteLength < n * SEMBUF_SIZE) {
      this.wait = new Uint8Array(n * SEMBUF_SIZE);
      this.try = new Uint8Array(n * SEMBUF_SIZE);
      this.#waitView = new DataView(this.wait.buffer);
      this.#tryView = new DataView(this.try.buffer);
    }
    let noWait = false;
    let onlyGive = true;
    for (let i = 0; i < n; i++) {
      const op = ops[i];
      if (typeof op !== "object" || op === null) {
        throw new TypeError(`ops[${i}] must be an object { index, delta }, got ${shown(op)}`);
      }
      const { index, delta } = op;
      // Names and ranges for a message are made only for one (this runs on every operation).
      if (!isIntegerIn(index, 0, count - 1)) checkInteger(index, `ops[${i}].index`, 0, count - 1);
      if (!isIntegerIn(delta, -maxValue, maxValue)) {
        checkInteger(
          delta,
          `ops[${i}].delta`,
          -maxValue,
          maxValue,
          `-${maxValue}..${maxValue} (SEMVMX)`,
        );
      }
      const waits = checkBoolean(op.wait, `ops[${i}].wait`, true);
      const flags = (checkBoolean(op.undo, `ops[${i}].undo`, false) ? C.SEM_UNDO : 0) |
        (waits ? 0 : C.IPC_NOWAIT);
      if (!waits) noWait = true;
      if (delta <= 0) onlyGive = false;
      const at = i * SEMBUF_SIZE;
      this.#waitView.setUint16(at + NUM, index, true);
      this.#waitView.setInt16(at + OP, delta, true);
      this.#waitView.setInt16(at + FLG, flags, true);
      this.#tryView.setUint16(at + NUM, index, true);
      this.#tryView.setInt16(at + OP, delta, true);
      this.#tryView.setInt16(at + FLG, flags | C.IPC_NOWAIT, true);
    }
    this.length = n;
    this.noWait = noWait;
    this.onlyGive = onlyGive;
  }
}

/**
 * Which operation of the `n` in `ops` (a `sembuf` array) the kernel would
 * stop at, given the members' `values` (changed in place): it applies them in
 * order as `semop` does. Returns its position, or -1 when all would proceed.
 */
export function blockingOperation(ops: Uint8Array, n: number, values: Int32Array): number {
  const view = new DataView(ops.buffer, ops.byteOffset, n * SEMBUF_SIZE);
  for (let i = 0; i < n; i++) {
    const at = i * SEMBUF_SIZE;
    const index = view.getUint16(at + NUM, true);
    const delta = view.getInt16(at + OP, true);
    const value = values[index];
    if (delta === 0 ? value !== 0 : value + delta < 0) return i;
    values[index] = value + delta;
  }
  return -1;
}

/** The operation at position `i` of a `sembuf` array: its member, delta and flags. */
export function operationAt(
  ops: Uint8Array,
  i: number,
): { index: number; delta: number; flags: number } {
  const view = new DataView(ops.buffer, ops.byteOffset + i * SEMBUF_SIZE, SEMBUF_SIZE);
  return {
    index: view.getUint16(NUM, true),
    delta: view.getInt16(OP, true),
    flags: view.getInt16(FLG, true),
  };
}
