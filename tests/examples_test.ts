import assert from "node:assert/strict";
import { commandOutput, type CommandResult, devShm, sysvSegments } from "./_kernel.ts";

const root = new URL("../", import.meta.url);

/** Runs an example as a user would: `deno run --allow-ffi examples/<name>.ts`, and nothing more. */
function runExample(name: string): Promise<CommandResult> {
  return commandOutput(Deno.execPath(), {
    args: ["run", "--allow-ffi", `examples/${name}.ts`],
    cwd: root.pathname,
  });
}

for (const name of ["pipe", "fifo", "msg_queue", "posix_mq", "shared_memory", "posix_shm"]) {
  Deno.test(`examples/${name}.ts prints what the child received, with --allow-ffi alone`, async () => {
    const out = await runExample(name);
    const { stderr } = out;
    assert.equal(out.code, 0, stderr);
    assert.equal(
      out.stdout,
      "Child process received: Hello from parent process\n",
    );
    assert.equal(stderr, "");
  });
}

Deno.test("examples/msg_queue_priority.ts receives the lowest type first", async () => {
  const out = await runExample("msg_queue_priority");
  assert.equal(out.code, 0, out.stderr);
  assert.equal(
    out.stdout,
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

Deno.test("examples/shared_memory.ts and posix_shm.ts leave no segment or name behind", async () => {
  for (const name of ["shared_memory", "posix_shm"]) {
    const out = await runExample(name);
    assert.equal(out.code, 0, out.stderr);
    const left = [...sysvSegments().values()].filter((s) => s.creatorPid === out.pid);
    assert.deepEqual(left, [], `${name}: segments left behind`);
    assert.ok(!devShm().includes(`libc-ipc-example-${out.pid}`), `${name}: name left in /dev/shm`);
  }
});

Deno.test("examples/semaphore.ts: the two critical sections never overlap", async () => {
  const out = await runExample("semaphore");
  const { stderr } = out;
  assert.equal(out.code, 0, stderr);
  assert.equal(stderr, "");
  const lines = out.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 12, lines.join("\n"));
  for (let i = 0; i < lines.length; i += 2) {
    const who = lines[i].split(" ")[0];
    assert.ok(who === "Parent" || who === "Child", lines[i]);
    assert.equal(lines[i], `${who} process entering critical section`);
    assert.equal(lines[i + 1], `${who} process leaving critical section`, lines.join("\n"));
  }
  for (const who of ["Parent", "Child"]) {
    assert.equal(lines.filter((l) => l.startsWith(who)).length, 6, lines.join("\n"));
  }
});

Deno.test("examples/futex_counter.ts: four processes under one futex lock count exactly", async () => {
  const out = await runExample("futex_counter");
  const { stderr } = out;
  assert.equal(out.code, 0, stderr);
  assert.equal(stderr, "");
  assert.equal(out.stdout, "Counter: 400000 (expected 400000)\n");
});

Deno.test("examples/unix_socket.ts: the server prints what the client sent, and removes its socket file", async () => {
  const out = await runExample("unix_socket");
  const { stderr } = out;
  assert.equal(out.code, 0, stderr);
  assert.equal(stderr, "");
  assert.equal(out.stdout, "Server received: Hello from client\n");
  assert.throws(
    () => Deno.lstatSync(`/tmp/libc-ipc-example-${out.pid}.sock`),
    Deno.errors.NotFound,
  );
});

Deno.test("examples/tcp.ts: the client prints what the server echoed", async () => {
  const out = await runExample("tcp");
  const { stderr } = out;
  assert.equal(out.code, 0, stderr);
  assert.equal(stderr, "");
  assert.equal(out.stdout, "Client received: Hello over TCP\n");
});

Deno.test("examples/file_lock.ts: the child waits for the parent's lock, then gets it, and the lock file goes", async () => {
  const out = await runExample("file_lock");
  const { stderr } = out;
  assert.equal(out.code, 0, stderr);
  assert.equal(stderr, "");
  assert.equal(
    out.stdout,
    [
      "Parent: got the lock",
      "Child: locked by another process, waiting...",
      "Parent: unlocking",
      "Child: got the lock",
    ].map((line) => `${line}\n`).join(""),
  );
  assert.throws(
    () => Deno.lstatSync(`/tmp/libc-ipc-example-${out.pid}.lock`),
    Deno.errors.NotFound,
  );
});
