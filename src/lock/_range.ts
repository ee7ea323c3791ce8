/**
 * The byte range and kind of a record lock: checked options, and the
 * `struct flock` that carries them to `fcntl(2)`.
 *
 * @module
 */
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { checkBoolean, checkInteger } from "../_check.ts";

/** A checked byte range: `length` is Infinity for "to the end of the file, however far it grows". */
export interface Range {
  readonly start: number;
  readonly length: number;
  readonly shared: boolean;
}

/** The range options every lock call takes. */
export interface RangeOptions {
  start?: number;
  length?: number;
  shared?: boolean;
}

const FLOCK = LAYOUTS.flock;
const MAX = Number.MAX_SAFE_INTEGER;

/** The range `options` name, checked before any call. */
export function checkRange(options: RangeOptions): Range {
  const start = options.start === undefined ? 0 : checkInteger(options.start, "start", 0, MAX);
  const length = options.length === undefined || options.length === Infinity
    ? Infinity
    // 0 means "to the end" to fcntl(2): a count of bytes that says 0 would not lock nothing.
    : checkInteger(options.length, "length", 1, MAX - start, `1..${MAX - start} or Infinity`);
  return { start, length, shared: checkBoolean(options.shared, "shared") };
}

/** Whether two ranges share a byte. */
export function overlaps(a: Range, b: Range): boolean {
  return a.start < b.start + b.length && b.start < a.start + a.length;
}

/** `bytes 0..99`, `bytes 100 onwards`, for messages. */
export function rangeText({ start, length }: Pick<Range, "start" | "length">): string {
  return length === Infinity ? `bytes ${start} onwards` : `bytes ${start}..${start + length - 1}`;
}

/** `range` as a `struct flock` of `type` (`F_RDLCK`, `F_WRLCK`, `F_UNLCK`) in `buf`. */
export function encodeFlock(buf: Uint8Array, range: Range, type = lockType(range)): Uint8Array {
  return FLOCK.encode({
    l_type: type,
    l_whence: C.SEEK_SET,
    l_start: range.start,
    l_len: range.length === Infinity ? 0 : range.length,
    l_pid: 0,
  }, buf);
}

/** A new `struct flock` buffer. */
export function flockBuffer(): Uint8Array<ArrayBuffer> {
  return new Uint8Array(FLOCK.size);
}

/**
 * Makes `buf` a `struct flock` every `fcntl(2)` refuses (EINVAL: no such
 * `l_whence`), so that a lock wait the kernel restarts ends instead.
 */
export function spoilFlock(buf: Uint8Array): void {
  new DataView(buf.buffer, buf.byteOffset).setInt16(FLOCK.offsets.l_whence, -1, true);
}

/** The `fcntl(2)` lock type of a range. */
export function lockType(range: Pick<Range, "shared">): number {
  return range.shared ? C.F_RDLCK : C.F_WRLCK;
}

/** What a `struct flock` that `F_OFD_GETLK` filled says: null when nothing stands in the way. */
export function decodeHolder(buf: Uint8Array): { range: Range; pid: number } | null {
  const f = FLOCK.decode(buf);
  if (f.l_type === C.F_UNLCK) return null;
  const length = Number(f.l_len);
  return {
    range: {
      start: Number(f.l_start),
      length: length === 0 ? Infinity : length,
      shared: f.l_type === C.F_RDLCK,
    },
    pid: f.l_pid,
  };
}
