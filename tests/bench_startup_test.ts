// `deno task bench:startup` in one short pass: every row of its table gets numbers.
// Not under a user-mode emulator (qemu-user): its figures would measure the emulator.
import assert from "node:assert/strict";
import { commandOutput, EMULATED } from "./_kernel.ts";

Deno.test({
  name: "bench:startup measures every row",
  ignore: EMULATED,
}, async () => {
  const { code, stdout: out, stderr } = await commandOutput(Deno.execPath(), {
    args: [
      "run",
      "--allow-ffi",
      "--allow-run",
      "--allow-read",
      new URL("../bench/startup.ts", import.meta.url).pathname,
      "--runs=1",
      "--processes=1",
    ],
    env: { NO_COLOR: "1" },
  });
  assert.equal(code, 0, `bench:startup failed:\n${out}${stderr}`);
  const rows = out.split("\n").filter((l) => /^\| (@libc|raw|empty)/.test(l));
  assert.equal(rows.length, 3, out);
  for (const row of rows) {
    const cells = row.split("|").slice(2, -1).map((c) => c.trim());
    assert.equal(cells.length, 3, row);
    for (const c of cells) assert.match(c, /^\d+\.\d \(\d+\.\d–\d+\.\d\)$/, row);
  }
});
