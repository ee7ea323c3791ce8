/**
 * Copies of a few bytes on the hot paths.
 *
 * @module
 */

/**
 * Up to this many bytes a plain loop copies faster than
 * `TypedArray.prototype.set`. Right after a system call the CPU runs cold, and
 * `set` (with the `subarray` it needs) goes through far more code: after a
 * `msgrcv`, a 64-byte copy through `set` added 0.6 µs and the loop nothing
 * measurable (`deno bench --allow-ffi bench/msg_queue_bench.ts`, group "64 B
 * copy after a msgrcv"); at 256 bytes the two cost about the same.
 */
const LOOP_MAX = 128;

/** Copies `n` bytes of `source` from `from` into `target` at `at`. */
export function copyBytes(
  target: Uint8Array,
  at: number,
  source: Uint8Array,
  from: number,
  n: number,
): void {
  if (n > LOOP_MAX) {
    target.set(from === 0 && n === source.length ? source : source.subarray(from, from + n), at);
    return;
  }
  for (let i = 0; i < n; i++) target[at + i] = source[from + i];
}
