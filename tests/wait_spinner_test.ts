import assert from "node:assert/strict";
import { AGAIN, blocksNow, Spinner } from "../src/_wait/mod.ts";

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

Deno.test("blocksNow: only a call without a deadline asks the spinner whether to block at once", () => {
  let asked = 0;
  const says = (answer: boolean) => ({
    spinner: { blocksFirst: () => (asked++, answer) } as unknown as Spinner,
  });
  for (const options of [undefined, {}, { timeout: undefined }, { timeout: Infinity }]) {
    assert.equal(blocksNow(options, says(true)), true, `${JSON.stringify(options)}`);
    assert.equal(blocksNow(options, says(false)), false);
  }
  assert.equal(asked, 8);
  // A deadline, or options that waitSync refuses: waitSync decides (and throws).
  for (const options of [{ timeout: 0 }, { timeout: 5 }, null, 5, "x"]) {
    assert.equal(blocksNow(options as never, says(true)), false, `${options}`);
  }
  assert.equal(blocksNow(undefined, {}), false, "no spinner");
  assert.equal(asked, 8, "the spinner was asked where a deadline or bad options decide");
  // A real spinner that has learned nothing yet does not block first.
  assert.equal(blocksNow(undefined, { spinner: new Spinner() }), false);
});
