import assert from "node:assert/strict";
import { AGAIN, Spinner } from "../src/_wait/mod.ts";

/** An attempt that never succeeds, and how often it was made. */
function failing(): { attempt: () => typeof AGAIN; readonly calls: number } {
  let calls = 0;
  return {
    attempt: () => {
      calls++;
      return AGAIN;
    },
    get calls() {
      return calls;
    },
  };
}

Deno.test("Spinner: after a wait that parked long, the next spins make no try until a wait ends soon", () => {
  const s = new Spinner();
  const fresh = failing();
  assert.equal(s.spin(fresh.attempt), AGAIN);
  assert.ok(fresh.calls >= 1, "a fresh spinner spins");

  // The peer answered late: spinning (and its yields) would only delay the next wake-up.
  s.learn(Spinner.MAX_MS * 10);
  for (let i = 0; i < 20; i++) {
    const late = failing();
    assert.equal(s.spin(late.attempt), AGAIN);
    assert.equal(late.calls, 0, `spin ${i} after a long wait made a try`);
  }

  // A wait that ends soon again: the next spin tries.
  s.learn(Spinner.MIN_MS);
  const soon = failing();
  assert.equal(s.spin(soon.attempt), AGAIN);
  assert.ok(soon.calls >= 1, "a wait that ended soon turns the spin back on");
});

Deno.test("Spinner: a first try after a long wait is still made, once", () => {
  const s = new Spinner();
  s.learn(Spinner.MAX_MS * 10);
  let calls = 0;
  const value = s.first(() => ++calls);
  assert.equal(value, 1);
  assert.equal(calls, 1);
});

Deno.test("Spinner: spins slowed past CONTENDED_MS, CONTENDED_YIELDS in a row (a busy CPU), turn yields off for CALM_MS: one try per spin", async () => {
  const stall = () => {
    const end = performance.now() + 2 * Spinner.CONTENDED_MS;
    while (performance.now() < end);
  };
  // Slow tries (a large copy, a collection) are no slow yields.
  const fast = new Spinner(() => {});
  for (let i = 0; i < Spinner.CONTENDED_YIELDS; i++) {
    assert.equal(fast.spin(() => (stall(), AGAIN)), AGAIN);
  }
  assert.equal(fast.contended, false);

  // Yields that give the CPU away for a slice.
  const s = new Spinner(stall);
  const slow = failing().attempt;
  // One slow yield may be a peer's long turn on this CPU; several in a row are a busy CPU.
  for (let i = 1; i < Spinner.CONTENDED_YIELDS; i++) {
    assert.equal(s.spin(slow), AGAIN);
    assert.equal(s.contended, false);
  }
  assert.equal(s.spin(slow), AGAIN);
  assert.equal(s.contended, true);
  for (let i = 0; i < 5; i++) {
    const calm = failing();
    assert.equal(s.spin(calm.attempt), AGAIN);
    assert.equal(calm.calls, 1, `spin ${i} while the CPU is busy`);
  }
  await new Promise((resolve) => setTimeout(resolve, Spinner.CALM_MS + 20));
  assert.equal(s.contended, false);
});
