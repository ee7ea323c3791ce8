import assert from "node:assert/strict";
import { keepLanded, KEPT_MAX, landedCopy, landedView, landingArea } from "../src/_landing.ts";
import { freedInChild } from "./_kernel.ts";

/** What a receive of `n` bytes stamped `stamp` does: the kernel writes them into the area. */
function land(room: number, n: number, stamp: number): Uint8Array<ArrayBuffer> {
  const area = landingArea(room);
  area.fill(0xee); // the rest of the area, as a receive may leave it
  area.fill(stamp, 0, n);
  return keepLanded(area, 0, n);
}

Deno.test("landing: messages kept from the slab stay intact, aligned, whatever lands later", () => {
  const kept: { bytes: Uint8Array; stamp: number }[] = [];
  const slabs = new Set<ArrayBufferLike>();
  // 64 B messages in 8 KiB areas: several slabs' worth.
  for (let i = 0; i < 3000; i++) {
    const n = (i * 37) % 200;
    const bytes = land(8200, n, i & 255);
    kept.push({ bytes, stamp: i & 255 });
    slabs.add(bytes.buffer);
    assert.equal(bytes.byteOffset % 8, 0, "8-byte aligned, as a buffer of its own would be");
    assert.equal(bytes.buffer.byteLength, 64 * 1024);
  }
  assert.ok(slabs.size > 3, `${slabs.size} slabs: full ones were left, new ones taken`);
  for (const [i, { bytes, stamp }] of kept.entries()) {
    assert.equal(bytes.length, (i * 37) % 200);
    assert.ok(bytes.every((b) => b === stamp), `message ${i} was overwritten`);
  }
});

Deno.test("landing: the next area starts past what was kept, and the header reads from the view", () => {
  const area = landingArea(64);
  area.fill(3);
  new DataView(area.buffer, area.byteOffset).setUint32(0, 0xabcd, true);
  assert.equal(landedView(area).getUint32(area.byteOffset, true), 0xabcd);
  const kept = keepLanded(area, 8, 5);
  const next = landingArea(64);
  assert.equal(next.byteOffset, area.byteOffset + 16, "past the 8 + 5 bytes, 8-byte aligned");
  next.fill(1);
  assert.deepEqual(kept, new Uint8Array(5).fill(3));
});

Deno.test("landing: a slab whose buffer a caller transferred away is replaced, not written", () => {
  const first = land(100, 10, 7);
  first.buffer.transfer();
  const area = landingArea(100);
  assert.equal(area.byteLength, 100);
  assert.notEqual(area.buffer, first.buffer);
  const second = land(100, 10, 9);
  assert.ok(second.every((b) => b === 9));
});

Deno.test("landing: receives that may fill more than 16 KiB land apart; their messages are copies", () => {
  const small = land(64, 4, 1);
  const big = 20_000;
  const a = land(big, 3, 2);
  const b = land(big, 5, 3);
  assert.equal(a.buffer.byteLength, 3, "a buffer of its own: a small message holds no 20 KB");
  assert.deepEqual([...a, ...b], [2, 2, 2, 3, 3, 3, 3, 3]);
  const area = landingArea(big);
  assert.equal(area, landingArea(big - 1), "one buffer serves every large receive");
  // Small receives go on in the slab they were using: large ones do not take its place.
  const next = land(64, 4, 4);
  assert.equal(next.buffer, small.buffer);
  assert.equal(next.byteOffset, small.byteOffset + 8);
  assert.deepEqual([...small, ...next], [1, 1, 1, 1, 4, 4, 4, 4]);
});

Deno.test("landing: an area the receive did not land in (a buffer of a parked call) is copied out", () => {
  const own = new Uint8Array(32).fill(4);
  const kept = keepLanded(own, 8, 8);
  assert.notEqual(kept.buffer, own.buffer);
  assert.deepEqual(kept, new Uint8Array(8).fill(4));
});

Deno.test("landing: a parked call's small message moves to the slab, a large one stays for one copy", () => {
  const own = new Uint8Array(40).fill(6);
  const moved = landedCopy(own, 24);
  assert.notEqual(moved.buffer, own.buffer);
  const kept = keepLanded(moved, 8, 16);
  assert.equal(kept.buffer.byteLength, 64 * 1024, "a view of the slab");
  own.fill(0); // the parked call's buffer, reused by the next one
  assert.deepEqual(kept, new Uint8Array(16).fill(6));
  const large = new Uint8Array(20_000).fill(7);
  assert.equal(landedCopy(large, 20_000), large, "over 16 KiB: left where it is");
  assert.equal(keepLanded(large, 8, 19_992).buffer.byteLength, 19_992, "then copied out once");
});

Deno.test("landing: an area past KEPT_MAX is reused by receives in a row, and freed after", async () => {
  // A receive into a caller's 512 MiB buffer, once, held that much for the life of the process.
  const kept = landingArea(KEPT_MAX);
  assert.equal(landingArea(KEPT_MAX), kept);
  const huge = landingArea(KEPT_MAX + 1);
  assert.equal(landingArea(KEPT_MAX + 1), huge, "reused while receives come in a row");
  assert.equal(landingArea(KEPT_MAX), kept, "the kept one stays");
  // Held weakly: in a child with gc(), dropped once nothing else holds it.
  const module = new URL("../src/_landing.ts", import.meta.url).href;
  assert.ok(
    await freedInChild(
      `import { KEPT_MAX, landingArea } from "${module}";`,
      "return landingArea(KEPT_MAX + 1).buffer;",
    ),
  );
});
