import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

/** Runs an example as a user would: `deno run --allow-ffi examples/<name>.ts`, and nothing more. */
async function runExample(name: string): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", `examples/${name}.ts`],
    cwd: root.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
}

for (const name of ["pipe", "fifo", "msg_queue", "posix_mq"]) {
  Deno.test(`examples/${name}.ts prints what the child received, with --allow-ffi alone`, async () => {
    const out = await runExample(name);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(
      new TextDecoder().decode(out.stdout),
      "Child process received: Hello from parent process\n",
    );
    assert.equal(stderr, "");
  });
}

Deno.test("examples/msg_queue_priority.ts receives the lowest type first", async () => {
  const out = await runExample("msg_queue_priority");
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(
    new TextDecoder().decode(out.stdout),
    [
      "urgent #1 (type 1)",
      "urgent #2 (type 1)",
      "normal #1 (type 2)",
      "normal #2 (type 2)",
      "low #1 (type 3)",
      "low #2 (type 3)",
    ].map((line) => `Child process received: ${line}\n`).join(""),
  );
});

Deno.test("examples/fifo.ts leaves no FIFO behind", async () => {
  const before = [...Deno.readDirSync("/tmp")].filter((e) =>
    e.name.startsWith("libc-ipc-example-")
  );
  assert.equal((await runExample("fifo")).code, 0);
  const after = [...Deno.readDirSync("/tmp")].filter((e) => e.name.startsWith("libc-ipc-example-"));
  assert.equal(after.length, before.length);
});
