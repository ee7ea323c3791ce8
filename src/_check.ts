/**
 * Argument checks shared by the primitives, thrown before any system call.
 *
 * @module
 */

import { isReadable, TYPED_ARRAY } from "./_views.ts";

/**
 * `x` for an error message, its type shown where it would look like a number:
 * `"80" (a string)`, `80n (a bigint)`, `an array of 1` (`[80]` prints as `80`),
 * `an empty array`.
 */
export function shown(x: unknown): string {
  if (typeof x === "string") return `${JSON.stringify(x)} (a string)`;
  if (typeof x === "bigint") return `${x}n (a bigint)`;
  if (Array.isArray(x)) return x.length === 0 ? "an empty array" : `an array of ${x.length}`;
  if ((typeof x === "object" && x !== null) || typeof x === "function") {
    return Object.prototype.toString.call(x);
  }
  return String(x);
}

/**
 * An integer argument in `min..max` (`range` says so in messages, default
 * `min..max`): a TypeError for anything but a number, a RangeError for a
 * number out of range (a fraction, NaN, ±Infinity). `-0` comes back as 0.
 */
export function checkInteger(
  value: unknown,
  what: string,
  min: number,
  max: number,
  range?: string,
): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `${what} must be an integer ${range ?? `${min}..${max}`}, got ${shown(value)}`,
    );
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer ${range ?? `${min}..${max}`}, got ${value}`);
  }
  // -0 passes every range check, and Deno's FFI refuses it for an integer parameter.
  return value + 0;
}

/** Permission bits: `undefined` means owner-only (0600); anything else must be 0..`max`. */
export function checkMode(mode: unknown, max = 0o777): number {
  if (mode === undefined) return 0o600;
  const range = `0..0o${max.toString(8)}`;
  // In octal too, as the range is: 1023 says less than 0o1777.
  if (typeof mode === "number" && Number.isInteger(mode) && mode > max) {
    throw new RangeError(
      `mode must be an integer ${range} (it is 0o${mode.toString(8)}), got ${mode}`,
    );
  }
  return checkInteger(mode, "mode", 0, max, range);
}

/** An `access` option of memory: `"read"` or `"readwrite"` (the default). */
export function checkAccess(access: unknown): "read" | "readwrite" {
  if (access === undefined) return "readwrite";
  if (access === "read" || access === "readwrite") return access;
  throw new TypeError(`access must be "read" or "readwrite", got ${shown(access)}`);
}

/** An optional boolean option: `undefined` gives `byDefault`; anything but a boolean is a TypeError. */
export function checkBoolean(value: unknown, what: string, byDefault = false): boolean {
  if (value === undefined) return byDefault;
  if (typeof value !== "boolean") {
    throw new TypeError(`${what} must be a boolean, got ${shown(value)}`);
  }
  return value;
}

const NO_OPTIONS = Object.freeze({});

/**
 * An options argument: an object, or `undefined` for none (then `{}`), so a
 * call reads its keys without `?.`. Anything else, `null` and arrays
 * included, is a TypeError naming `what`, thrown before the call reads any
 * key (an empty array would pass for no options).
 */
export function checkOptions<T extends object>(options: T | undefined, what = "options"): T {
  if (options === undefined) return NO_OPTIONS as T;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`${what} must be an object, got ${shown(options)}`);
  }
  return options;
}

/**
 * TypeError for a key of `options` that is none of `known`: it would be
 * ignored (`Deno.listen`'s `reusePort`, `Deno.Command`'s `stdout`), where the
 * caller expects it to act. `hint` says what to do instead.
 */
export function onlyKnown(
  options: object,
  known: ReadonlySet<string>,
  what: string,
  hint?: string,
): void {
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw new TypeError(
        `${what}: unknown option '${key}'${hint === undefined ? "" : `: ${hint}`}`,
      );
    }
  }
}

/**
 * Checks that `buf` is a Uint8Array the kernel can fill: FFI would pass
 * anything else as NULL or fail obscurely, and a view on a detached buffer (or
 * past the end of a resized one) as NULL with length 0, silently.
 */
export function checkBuffer(buf: Uint8Array, what = "buffer"): void {
  if (!(buf instanceof Uint8Array)) {
    throw new TypeError(`${what} must be a Uint8Array, got ${shown(buf)}`);
  }
  if (isDetached(buf)) {
    throw new TypeError(`${what} is ${UNUSABLE}`);
  }
  checkHonest(buf, what);
}

/** The prototypes whose chain up to `%TypedArray%.prototype` leaves `byteLength` alone. */
const honest = new WeakSet<object>([Uint8Array.prototype]);

/**
 * A TypeError for a view whose `byteLength` is not its own size: an own
 * property, or a subclass's getter. The size handed to the kernel with it is
 * `byteLength`, so a larger one would let a receive write past the view.
 */
function checkHonest(view: Uint8Array, what: string): void {
  if (!Object.hasOwn(view, "byteLength")) {
    const proto = Object.getPrototypeOf(view);
    if (honest.has(proto)) return;
    let p = proto;
    while (p !== null && p !== TYPED_ARRAY && !Object.hasOwn(p, "byteLength")) {
      p = Object.getPrototypeOf(p);
    }
    if (p === TYPED_ARRAY) {
      honest.add(proto); // a subclass that redefines nothing (Node's Buffer)
      return;
    }
  }
  throw new TypeError(`${what}: its byteLength is redefined, so its size is not known`);
}

/**
 * `attempt`, the try of an async read or receive into `buf`, checking `buf`
 * first (now too): one detached while the wait goes on reads as empty, so a
 * try into it would return 0 (an end of stream, on a socket) or take a
 * message and report it cut. A TypeError instead, as at the call, and the
 * data stays for the next read.
 */
export function checkingBuffer<T>(buf: Uint8Array, attempt: () => T): () => T {
  checkBuffer(buf);
  const length = buf.byteLength;
  return () => {
    checkBuffer(buf);
    // A resizable buffer shrunk meanwhile: a read into what is left would look like an empty one.
    if (buf.byteLength < length) {
      throw new TypeError(
        `buf shrank from ${length} to ${buf.byteLength} bytes while the call waited ` +
          "(its buffer was resized); nothing was read into it",
      );
    }
    return attempt();
  };
}

/** What {@link isDetached} finds, for messages. */
const UNUSABLE = "a view on a detached ArrayBuffer, or past the end of a resized one";

/**
 * Whether `view` is over a detached buffer, or out of the bounds of a
 * resizable one that shrank below it: either reads as empty, and the kernel
 * would get NULL with length 0 (a message taken and reported cut, an empty
 * one sent). Only an empty view gets the look, which costs several times a
 * `byteLength`, more so right after a system call (an unusable DataView's
 * `byteLength` throws instead: a DataView always gets the look).
 */
export function isDetached(view: ArrayBufferView): boolean {
  if (view instanceof DataView) {
    try {
      return view.byteLength < 0;
    } catch {
      return true;
    }
  }
  return view.byteLength === 0 && !isReadable(view);
}

/**
 * A zeroed buffer of `size` bytes for a call parked on a pool thread: an
 * ArrayBuffer of its own, never one of V8's small on-heap arrays, so its
 * address stays put while the thread uses it.
 */
export function ownBuffer(size: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new ArrayBuffer(Math.max(size, 1)));
}

/** The address of the first byte of `buf`'s view. */
export function addressOf(buf: ArrayBufferView): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
}

/**
 * Throws when the view a send checked at the call (`length` bytes then) was
 * detached or resized while the send waited: its bytes are no longer the ones
 * the caller asked to send, and a detached view reads as empty.
 */
export function checkUnchanged(bytes: Uint8Array, length: number, what = "data"): void {
  if (bytes.byteLength !== length) {
    throw new TypeError(
      `${what} was detached or resized while the send waited (${length} bytes, now ${bytes.byteLength})`,
    );
  }
}

const encoder = new TextEncoder();

/** The bytes to send or write: a Uint8Array as it is, a string as UTF-8. */
export function bytesOf(data: Uint8Array | string): Uint8Array {
  if (typeof data === "string") return encoder.encode(data);
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(
      `data must be a Uint8Array or a string, got ${shown(data)}`,
    );
  }
  // FFI would pass a detached buffer as NULL, silently.
  if (isDetached(data)) {
    throw new TypeError(`data is ${UNUSABLE}`);
  }
  checkHonest(data, "data");
  return data;
}
