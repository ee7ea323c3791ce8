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

const OFFSETS = FLOCK.offsets;
const HIGH = 2 ** 32;

/**
 * A `struct flock` (a lock's range and type as `fcntl(2)` takes and reports
 * them), written in place: a lock and its release are two calls of a few µs,
 * so each is spared an allocation and the struct layer's general encoder (the
 * layout's offsets are still the struct layer's). Both platforms are
 * little-endian.
 */
export class Flock {
  readonly bytes: Uint8Array<ArrayBuffer> = new Uint8Array(FLOCK.size);
  readonly #view = new DataView(this.bytes.buffer);

  /** `range` with `type` (`F_RDLCK`, `F_WRLCK`, `F_UNLCK`; by default the range's own); returns the bytes. */
  set(range: Pick<Range, "start" | "length" | "shared">, type = lockType(range)): Uint8Array {
    const v = this.#view;
    v.setInt16(OFFSETS.l_type, type, true);
    v.setInt16(OFFSETS.l_whence, C.SEEK_SET, true);
    this.#setLong(OFFSETS.l_start, range.start);
    // 0 means "to the end of the file, however far it grows".
    this.#setLong(OFFSETS.l_len, range.length === Infinity ? 0 : range.length);
    v.setInt32(OFFSETS.l_pid, 0, true);
    return this.bytes;
  }

  /**
   * Makes it a `struct flock` every `fcntl(2)` refuses (EINVAL: no such
   * `l_whence`), so that a lock wait the kernel restarts ends instead.
   */
  spoil(): void {
    this.#view.setInt16(OFFSETS.l_whence, -1, true);
  }

  /** What `F_OFD_GETLK` left here: null when nothing stands in the way. */
  holder(): { range: Range; pid: number } | null {
    const v = this.#view;
    const type = v.getInt16(OFFSETS.l_type, true);
    if (type === C.F_UNLCK) return null;
    const length = this.#getLong(OFFSETS.l_len);
    return {
      range: {
        start: this.#getLong(OFFSETS.l_start),
        length: length === 0 ? Infinity : length,
        shared: type === C.F_RDLCK,
      },
      pid: v.getInt32(OFFSETS.l_pid, true),
    };
  }

  /** A checked range (0..2^53-1) as a 64-bit `long`. */
  #setLong(offset: number, n: number): void {
    const low = n % HIGH;
    this.#view.setUint32(offset, low, true);
    this.#view.setUint32(offset + 4, (n - low) / HIGH, true);
  }

  #getLong(offset: number): number {
    return Number(this.#view.getBigInt64(offset, true));
  }
}

/** The `fcntl(2)` lock type of a range. */
export function lockType(range: Pick<Range, "shared">): number {
  return range.shared ? C.F_RDLCK : C.F_WRLCK;
}
