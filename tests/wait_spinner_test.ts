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
