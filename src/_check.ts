/**
 * Argument checks shared by the primitives, thrown before any system call.
 *
 * @module
 */

/** Permission bits: `undefined` means owner-only (0600); anything else must be 0..`max`. */
export function checkMode(mode: unknown, max = 0o777): number {
  if (mode === undefined) return 0o600;
  if (typeof mode !== "number" || !Number.isInteger(mode) || mode < 0 || mode > max) {
    throw new RangeError(`mode must be an integer 0..0o${max.toString(8)}, got ${String(mode)}`);
  }
  return mode;
}
