// The README's parent/child programs: `deno test --doc` skips them (`ts ignore`: each starts a
// copy of itself), so they run here as a user would run them, type-checked, and must print what
// the README says they do, and leave nothing behind.
import assert from "node:assert/strict";
import { commandOutput, EMULATED, sysvQueues, sysvSegments } from "./_kernel.ts";

const root = new URL("../", import.meta.url);
const readme = await Deno.readTextFile(new URL("README.md", root));

/** What each program prints, by the section it stands in. */
const PRINTS: Record<string, string> = {
  "Pipes and FIFOs": "Child process received: Hello from parent process\n",
  "Message queues": "Child process received: Hello from parent process\n",
  "Shared memory and semaphores": "Child process received: Hello from parent process\n",
  "Sockets and signals": "Server received: Hello from client\n",
};

/** The `ts ignore` blocks that play both roles, with the `##` section each stands in. */
function programs(): Array<{ section: string; line: number; code: string }> {
  const out = [];
  let section = "";
  const lines = readme.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith("## ")) section = lines[i].slice(3);
    if (lines[i] !== "```ts ignore") continue;
    const end = lines.indexOf("```", i + 1);
    const code = lines.slice(i + 1, end).join("\n");
    if (code.includes("Deno.args[0] ===")) out.push({ section, line: i + 1, code });
    i = end;
  }
  return out;
}

Deno.test("every program of the README has its expected output here", () => {
  assert.deepEqual(programs().map((p) => p.section), Object.keys(PRINTS));
});

for (const { section, line, code } of programs()) {
  Deno.test(`README.md:${line} (${section}) runs with --allow-ffi alone and prints its line`, async () => {
    // Inside the project, so that "@libc/ipc" resolves to it, as it would from JSR.
    const dir = await Deno.makeTempDir({ dir: root.pathname, prefix: ".readme-" });
    try {
      const file = `${dir}/program.ts`;
      await Deno.writeTextFile(file, code);
      const out = await commandOutput(Deno.execPath(), {
        // Type-checked once, natively: the check is the same on every platform, and slow emulated.
        args: ["run", ...(EMULATED ? [] : ["--check"]), "--allow-ffi", file],
        cwd: dir,
      });
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout, PRINTS[section], out.stderr);
      const left = [
        ...[...sysvQueues().values()].filter((q) => q.lastSendPid === out.pid),
        ...[...sysvSegments().values()].filter((s) => s.creatorPid === out.pid),
      ];
      assert.deepEqual(left, [], "System V objects left behind");
      assert.throws(() => Deno.lstatSync(`/tmp/example-${out.pid}.sock`), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
