/**
 * The signal examples, run as a user would: `deno run --allow-ffi
 * examples/<name>.ts` from the repository's root, nothing more.
 */
import assert from "node:assert/strict";
import { spawnProgram } from "../mod.ts";
import { CANNOT, runCollect, unless } from "./_kernel.ts";

const root = new URL("../", import.meta.url).pathname;

function runExample(name: string) {
  return runCollect((stdout, stderr) =>
    spawnProgram(Deno.execPath(), ["run", "--allow-ffi", `examples/${name}.ts`], {
      cwd: root,
      fds: { 1: stdout, 2: stderr },
    })
  );
}

Deno.test("examples/signal.ts: the child reads the SIGUSR1 its parent sends", async () => {
  const { status, stdout, stderr } = await runExample("signal");
  assert.equal(status.code, 0, stderr);
  assert.equal(stderr, "");
  assert.equal(stdout, "Signal received: 10\n");
});

Deno.test(
  unless(
    CANNOT.signalMasks,
    "examples/signal_payload.ts: three values, in order, from the parent's pid",
    async () => {
      const { status, stdout, stderr, pid } = await runExample("signal_payload");
      assert.equal(status.code, 0, stderr);
      assert.equal(stderr, "");
      assert.equal(
        stdout,
        [1, 2, 3].map((v) => `Signal SIGRTMIN+1 from ${pid}: value ${v}\n`).join(""),
      );
    },
  ),
);
