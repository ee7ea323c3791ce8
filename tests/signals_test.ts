import assert from "node:assert/strict";
import { signalNumber } from "../mod.ts";

Deno.test("signalNumber() maps names and checks numbers", async (t) => {
  await t.step("names of the standard signals", () => {
    assert.equal(signalNumber("SIGTERM"), 15);
    assert.equal(signalNumber("SIGKILL"), 9);
    assert.equal(signalNumber("SIGUSR2"), 12);
  });
  await t.step("numbers 1..31 and the real-time range SIGRTMIN..SIGRTMAX", () => {
    assert.equal(signalNumber(1), 1);
    assert.equal(signalNumber(31), 31);
    assert.equal(signalNumber(34), 34);
    assert.equal(signalNumber(64), 64);
  });
  await t.step("32 and 33, which glibc keeps for itself, are refused", () => {
    assert.throws(() => signalNumber(32), RangeError);
    assert.throws(() => signalNumber(33), RangeError);
  });
  await t.step("bad names and numbers", () => {
    for (const bad of [0, -1, 65, 1.5, NaN]) assert.throws(() => signalNumber(bad), RangeError);
    // deno-lint-ignore no-explicit-any
    for (const bad of ["TERM", "SIGNOPE", "", "sigterm", "SIGRTMIN"] as any[]) {
      assert.throws(() => signalNumber(bad), TypeError);
    }
  });
});
