import assert from "node:assert/strict";
import { AGAIN, blocksNow, Spinner } from "../src/_wait/mod.ts";
import { affinityOf, setAffinity } from "./_kernel.ts";

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

Deno.test("Spinner: a wait sent down the yield path is not asked back, so the yields go on", async () => {
  // blocksFirst() says yes once yields give the CPU away: here to a busy process pinned with
  // this thread to one CPU. Every 16th wait it says no, so that a yield finds out again; a
  // sync form asks before waitSync does, and the second answer must still be no.
  const before = affinityOf(0);
  setAffinity(0, [before[0]]);
  const busy = new Deno.Command("sh", { args: ["-c", "while :; do :; done"] }).spawn();
  try {
    setAffinity(busy.pid, [before[0]]);
    const s = new Spinner();
    const miss = () => AGAIN;
    let blocks = false;
    for (let i = 0; i < 40 && !(blocks = s.blocksFirst()); i++) s.first(miss);
    assert.ok(
      blocks,
      "first tries that miss, and yields that give the CPU away, make it block first",
    );
    let yieldPaths = 0;
    for (let wait = 0; wait < 64; wait++) {
      if (s.blocksFirst()) continue;
      assert.equal(s.blocksFirst(), false, `wait ${wait} was asked again, and said yes`);
      s.first(miss);
      yieldPaths++;
    }
    assert.ok(yieldPaths >= 3, `${yieldPaths} of 64 waits took the yield path`);
  } finally {
    busy.kill("SIGKILL");
    await busy.status;
    setAffinity(0, before);
  }
});
