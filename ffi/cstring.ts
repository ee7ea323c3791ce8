/** NUL-terminated C strings. @module */

const encoder = new TextEncoder();

/**
 * Encodes `text` as a NUL-terminated UTF-8 C string.
 * @throws {TypeError} when `text` holds a NUL character, which C would cut short.
 */
export function cString(text: string, what = "string"): Uint8Array<ArrayBuffer> {
  if (typeof text !== "string") {
    throw new TypeError(`${what} must be a string, got ${typeof text}`);
  }
  if (text.includes("\0")) throw new TypeError(`${what} must not contain a NUL character`);
  const bytes = new Uint8Array(text.length * 3 + 1);
  const { written } = encoder.encodeInto(text, bytes);
  return bytes.subarray(0, written + 1) as Uint8Array<ArrayBuffer>;
}
