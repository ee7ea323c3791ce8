/**
 * NUL-terminated C strings, and the bytes of names as strings without losing
 * one. The kernel's names (paths, socket names, POSIX object names) are
 * bytes, and one that is not UTF-8 (a C program's, say) would decode to
 * U+FFFD and encode back to other bytes, naming another object. So each byte
 * that is not part of valid UTF-8 decodes to a lone surrogate U+DC80..U+DCFF,
 * as Python's "surrogateescape" (PEP 383) does, and such a surrogate encodes
 * back to its byte, in every C string this library makes.
 *
 * @module
 */

// ignoreBOM: a U+FEFF is part of the name, not a byte order mark to drop.
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** The name `bytes` hold, each byte outside valid UTF-8 as U+DC00 + the byte. */
export function decodeName(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    let text = "";
    let i = 0;
    while (i < bytes.length) {
      const n = utf8Length(bytes, i);
      if (n === 0) {
        text += String.fromCharCode(0xdc00 + bytes[i]);
        i++;
      } else {
        text += strict.decode(bytes.subarray(i, i + n));
        i += n;
      }
    }
    return text;
  }
}

/**
 * The bytes of `name`: UTF-8, with each U+DC80..U+DCFF that stands alone as its byte.
 * @throws {TypeError} for any other lone surrogate: it has no bytes, and
 *   `TextEncoder` would make it U+FFFD, the name of another object.
 */
export function encodeName(name: string, what = "name"): Uint8Array<ArrayBuffer> {
  if (name.isWellFormed()) return encoder.encode(name);
  const bytes: number[] = [];
  let from = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && isLow(name.charCodeAt(i + 1))) {
      i++; // a pair: a character beyond U+FFFF
    } else if (c >= 0xdc80 && c <= 0xdcff) {
      bytes.push(...encoder.encode(name.slice(from, i)), c - 0xdc00);
      from = i + 1;
    } else {
      throw new TypeError(
        `${what} holds a lone surrogate U+${c.toString(16).toUpperCase()} at index ${i}, ` +
          "which stands for no bytes (only U+DC80..U+DCFF alone stand for the bytes 0x80..0xFF)",
      );
    }
  }
  bytes.push(...encoder.encode(name.slice(from)));
  return new Uint8Array(bytes);
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** The length of the valid UTF-8 sequence at `bytes[i]`, or 0 when none starts there. */
function utf8Length(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  if (b < 0x80) return 1;
  // The second byte's range, which rules out overlong forms, surrogates and code points past U+10FFFF.
  let n: number, lo = 0x80, hi = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) n = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    n = 3;
    if (b === 0xe0) lo = 0xa0;
    if (b === 0xed) hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4;
    if (b === 0xf0) lo = 0x90;
    if (b === 0xf4) hi = 0x8f;
  } else return 0;
  if (i + n > bytes.length) return 0;
  if (bytes[i + 1] < lo || bytes[i + 1] > hi) return 0;
  for (let k = 2; k < n; k++) {
    if ((bytes[i + k] & 0xc0) !== 0x80) return 0;
  }
  return n;
}

/**
 * Encodes `text` as a NUL-terminated C string: UTF-8, each U+DC80..U+DCFF
 * that stands alone as its byte (see {@link encodeName}).
 * @throws {TypeError} when `text` holds a NUL character, which C would cut short, or a lone
 *   surrogate that stands for no byte.
 */
export function cString(text: string, what = "string"): Uint8Array<ArrayBuffer> {
  if (typeof text !== "string") {
    throw new TypeError(`${what} must be a string, got ${typeof text}`);
  }
  if (text.includes("\0")) throw new TypeError(`${what} must not contain a NUL character`);
  if (!text.isWellFormed()) {
    const name = encodeName(text, what);
    const c = new Uint8Array(name.byteLength + 1);
    c.set(name);
    return c;
  }
  const bytes = new Uint8Array(text.length * 3 + 1);
  const { written } = encoder.encodeInto(text, bytes);
  return bytes.subarray(0, written + 1) as Uint8Array<ArrayBuffer>;
}
