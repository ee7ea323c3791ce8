import assert from "node:assert/strict";
import { signalName, signalNumber } from "../mod.ts";
import { C } from "../ffi/platform.ts";

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
  await t.step("real-time names: SIGRTMIN+n and SIGRTMAX-n, as kill -l spells them", () => {
    assert.deepEqual([C.SIGRTMIN, C.SIGRTMAX], [34, 64]);
    assert.equal(signalNumber("SIGRTMIN"), 34);
    assert.equal(signalNumber("SIGRTMIN+0"), 34);
    assert.equal(signalNumber("SIGRTMIN+1"), 35);
    assert.equal(signalNumber("SIGRTMIN+30"), 64);
    assert.equal(signalNumber("SIGRTMAX"), 64);
    assert.equal(signalNumber("SIGRTMAX-1"), 63);
    assert.equal(signalNumber("SIGRTMAX-30"), 34);
  });
  await t.step("32 and 33, which glibc keeps for itself, are refused", () => {
    assert.throws(() => signalNumber(32), RangeError);
    assert.throws(() => signalNumber(33), RangeError);
  });
  await t.step("bad names and numbers", () => {
    for (const bad of [0, -1, 65, 1.5, NaN]) assert.throws(() => signalNumber(bad), RangeError);
    for (const bad of ["SIGRTMIN+31", "SIGRTMAX-31", "SIGRTMIN+99"] as const) {
      assert.throws(() => signalNumber(bad), RangeError);
    }
    const names = [
      "TERM",
      "SIGNOPE",
      "",
      "sigterm",
      "SIGRTMIN-1",
      "SIGRTMAX+1",
      "SIGRTMIN+",
      "SIGRTMIN+100",
      "SIGRTMIN+1.5",
      "SIGRTMIN +1",
      "SIGRT",
    ];
    // deno-lint-ignore no-explicit-any
    for (const bad of [...names, undefined, null, {}] as any[]) {
      assert.throws(() => signalNumber(bad), TypeError, String(bad));
    }
  });
});

Deno.test("signalName() names every signal number", async (t) => {
  await t.step("standard signals by their name", () => {
    assert.equal(signalName(10), "SIGUSR1");
    assert.equal(signalName(15), "SIGTERM");
  });
  await t.step("real-time signals as kill -l names them, and back", () => {
    assert.equal(signalName(34), "SIGRTMIN");
    assert.equal(signalName(35), "SIGRTMIN+1");
    assert.equal(signalName(49), "SIGRTMIN+15");
    assert.equal(signalName(50), "SIGRTMAX-14");
    assert.equal(signalName(64), "SIGRTMAX");
    for (let n = 1; n <= 64; n++) {
      if (n === 32 || n === 33) continue;
      assert.equal(signalNumber(signalName(n)), n, `round trip of ${n}`);
    }
  });
  await t.step("32 and 33 by number; anything else is refused", () => {
    assert.deepEqual([signalName(32), signalName(33)], ["SIG32", "SIG33"]);
    for (const bad of [0, 65, 1.5, NaN]) assert.throws(() => signalName(bad), RangeError);
    assert.throws(() => signalName("10" as unknown as number), TypeError);
  });
});
