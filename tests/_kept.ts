/**
 * The check of the tests of receives that return new bytes: what earlier
 * receives returned stays intact, whatever is received later.
 *
 * @module
 */
import assert from "node:assert/strict";

/**
 * Checks that `kept[i]` holds `sizeOf(i)` bytes of `i & 255`, after writing
 * `kept[0]` (which must touch no other), then transfers the last one's
 * buffer away, as a caller may: the receive that follows must land elsewhere.
 */
export function assertKeptIntact(
  kept: Uint8Array<ArrayBuffer>[],
  sizeOf: (i: number) => number,
): void {
  kept[0].fill(1);
  for (const [i, data] of kept.entries()) {
    if (i > 0) assert.deepEqual(data, new Uint8Array(sizeOf(i)).fill(i & 255), `message ${i}`);
  }
  kept[kept.length - 1].buffer.transfer();
}
