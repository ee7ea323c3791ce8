/**
 * How programs that use the library start and end: real Deno children with
 * waits of every family pending exit by themselves when nothing waits, stay
 * alive while a wait is pending, end at once with their code on `Deno.exit()`,
 * an uncaught error or a signal, and leave behind only what the docs say
 * outlives a process.
 */
import assert from "node:assert/strict";
import {
  connect,
  type FdReader,
  Fifo,
  listen,
  notify,
  PosixMessageQueue,
  PosixSemaphore,
  PosixSharedMemory,
  RecordLocks,
  SemaphoreSet,
  sendSignal,
} from "../mod.ts";
import { type Fixture, processExists, readAll, readUntil, TestScope } from "./_kernel.ts";
import { FAMILIES, SENDS } from "./fixtures/lifecycle_families.ts";

/** What a Deno child printed on stderr that a clean end never prints. */
function assertQuiet(stderr: string): void {
  assert.doesNotMatch(stderr, /panicked|Fatal|V8|Segmentation|Aborted|error: /, stderr);
}

/**
 * Starts `lifecycle_waits.ts` with one object of each family for it (a queue,
 * a set, a FIFO, ... all removed by the scope), and reads its output up to
 * "parked". `deliver()` satisfies every wait of the families asked for.
 */
async function startWaits(s: TestScope, families: string, end: string) {
  const dir = await s.tempDir();
  const q = s.messageQueue();
  const sendq = s.messageQueue();
  const pmqName = s.posixName();
  const pmq = s.handle(PosixMessageQueue.open(pmqName, { create: true, exclusive: true }));
  const set = s.semaphoreSet(SemaphoreSet.open("private", { count: 1, values: [0] }));
  const fifo = `${dir}/fifo`;
  Fifo.create(fifo);
  const socket = `${dir}/socket`;
  const input = s.pipe();
  const shm = s.handle(PosixSharedMemory.anonymous(4096));
  const sem = s.handle(PosixSemaphore.init(shm.bytes.subarray(64, 96), 0));
  const written = s.pipe();
  const out = s.pipe();
  // Byte 0 held here: the "lock" family's lock() of it waits.
  const lockFile = `${dir}/lock`;
  const locks = s.handle(RecordLocks.open(lockFile, { create: true }));
  const held = locks.tryLock({ start: 0, length: 1 });
  const f = s.fixture("lifecycle_waits.ts", {
    args: [
      families,
      end,
      `queue=${q.id}`,
      `pmq=${pmqName}`,
      `semset=${set.id}`,
      `fifo=${fifo}`,
      `socket=${socket}`,
      `sendq=${sendq.id}`,
      `lock=${lockFile}`,
    ],
    fds: { 1: out.writer, 3: input.reader, 4: shm, 5: written.writer },
    blockSignals: ["SIGUSR2"],
  });
  out.writer.close();
  input.reader.close();
  written.writer.close();
  // A `cat` of the "child" family ends when the scope closes `input`.
  const read = await f.check(() => readUntil(out.reader, "parked\n"));
  // What came in the same read after the marker belongs to the rest (finish()).
  const cut = read.indexOf("parked\n") + "parked\n".length;
  const head = read.slice(0, cut);
  readAfter.set(out.reader, read.slice(cut));
  const names = families === "all" ? [...FAMILIES] : families.split(",");
  const deliver = async () => {
    for (const family of names) {
      if (family === "pipe") await input.writer.write("x");
      if (family === "child") input.writer.close(); // its `cat` ends at end of file
      if (family === "fifo") (await Fifo.open(fifo, "read")).close();
      if (family === "msgq") await q.send("m", { type: 1 });
      if (family === "pmq") await pmq.send("m");
      if (family === "semop") set.setValue(0, 1);
      if (family === "futex") {
        const words = new Int32Array(shm.bytes.buffer, 0, 1);
        Atomics.store(words, 0, 1);
        notify(words, 0);
      }
      if (family === "psem") sem.post();
      if (family === "accept") (await connect({ path: socket })).close();
      if (family === "signal") sendSignal(f.child, "SIGUSR2");
      if (family === "write") {
        // The child filled the pipe, then writes 64 KiB more: take as much.
        const buf = new Uint8Array(65536);
        for (let left = buf.length; left > 0;) left -= (await written.reader.read(buf)) ?? left;
      }
      if (family === "msgsnd") await sendq.receive(); // room for the child's pending send
      if (family === "lock") held.unlock();
    }
  };
  return { f, out: out.reader, head, names, deliver, socket, fifo, locks };
}

/** Output read with the marker of startWaits(), by its reader: the rest begins with it. */
const readAfter = new WeakMap<FdReader, string>();

/** The rest of the child's stdout and its status (a hang shows its stderr). */
async function finish(f: Fixture, out: FdReader) {
  const rest = (readAfter.get(out) ?? "") + await f.check(() => readAll(out));
  const status = await f.status();
  return { rest, status, stderr: f.stderr() };
}

Deno.test("a script with handles of every family open and no wait pending exits by itself", async () => {
  await using s = new TestScope();
  // A ChildProcess always waits for its child: every family but that one.
  const families = FAMILIES.filter((f) => f !== "child").join(",");
  const { f, out } = await startWaits(s, families, "idle");
  const { rest } = await finish(f, out);
  await f.exits(0);
  assert.equal(rest, "");
  assertQuiet(f.stderr());
});

Deno.test("a pending wait of each family keeps the script alive until it is satisfied", async (t) => {
  for (const family of FAMILIES) {
    await t.step(family, async () => {
      await using s = new TestScope();
      const { f, out, deliver } = await startWaits(s, family, "keep");
      await deliver();
      const { rest } = await finish(f, out);
      await f.exits(0);
      // A `beforeunload` while the wait was pending would have printed "idle with ...".
      assert.equal(rest, `${family} done\n`);
      assertQuiet(f.stderr());
    });
  }
});

Deno.test("Deno.exit() with parked waits ends the script at once with its code, silently", async (t) => {
  for (const families of ["msgq", "semop", "fifo", "futex", "accept", "all"]) {
    await t.step(families, async () => {
      await using s = new TestScope();
      const { f, out } = await startWaits(s, families, "exit");
      const { rest, stderr } = await finish(f, out);
      await f.exits(7);
      assert.equal(rest, "");
      assert.equal(stderr, "");
    });
  }
});

Deno.test("an uncaught error with waits parked ends the script with code 1 and the error", async () => {
  await using s = new TestScope();
  const { f, out } = await startWaits(s, "all", "throw");
  const { rest, stderr } = await finish(f, out);
  await f.exits(1);
  assert.equal(rest, "");
  assert.match(stderr, /Uncaught .*Error: lifecycle boom/);
  assert.doesNotMatch(stderr, /panicked|Fatal|V8/, stderr);
});

Deno.test("SIGTERM or SIGINT with waits parked kills the script (default action), silently", async (t) => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    await t.step(signal, async () => {
      await using s = new TestScope();
      const { f, out } = await startWaits(s, "all", "wait");
      f.child.kill(signal);
      const { rest, status, stderr } = await finish(f, out);
      assert.equal(status.signal, signal, stderr);
      assert.equal(rest, "");
      assert.equal(stderr, "");
    });
  }
});

Deno.test("a SIGINT listener can close the handles of parked waits, and the script then ends by itself", async () => {
  await using s = new TestScope();
  const { f, out, names } = await startWaits(s, "all", "sigint");
  f.child.kill("SIGINT");
  const { rest } = await finish(f, out);
  await f.exits(0);
  const lines = rest.trim().split("\n");
  assert.equal(lines[0], "SIGINT");
  const ended = new Map(lines.slice(1).map((l) => [l.split(" ")[0], l] as const));
  for (const family of names) {
    // The child's handle is killed: its status settles; every other wait rejects.
    const expected = family === "child" ? "child done" : `${family} ended BadResource`;
    assert.equal(ended.get(family), expected, rest);
  }
  assert.equal(lines.length, names.length + 1, rest);
  assertQuiet(f.stderr());
});

Deno.test("`using` and `await using` at the top level end their pending waits at the module's end", async () => {
  await using s = new TestScope();
  const dir = await s.tempDir();
  const q = s.messageQueue();
  const input = s.pipe();
  const out = s.pipe();
  const socket = `${dir}/socket`;
  // Held here: the child's lock() of the file waits.
  const lockFile = `${dir}/lock`;
  s.handle(RecordLocks.open(lockFile, { create: true })).tryLock();
  const f = s.fixture("lifecycle_using.ts", {
    args: [String(q.id), socket, lockFile],
    fds: { 1: out.writer, 3: input.reader },
  });
  out.writer.close();
  input.reader.close();
  const { rest } = await finish(f, out.reader);
  await f.exits(0);
  const [parked, ...ended] = rest.trim().split("\n");
  assert.match(parked, /^parked \d+$/);
  // Disposed in reverse order: the child (SIGTERM, reaped), the listener, the queue, the locks.
  // The last two are parked calls: each settles once its pool thread's call has returned,
  // in whichever order their nudges land.
  assert.deepEqual(ended.slice(0, 2), ['child done "SIGTERM"', "accept BadResource"]);
  assert.deepEqual(ended.slice(2).toSorted(), ["lock BadResource", "receive BadResource"]);
  assert.equal(processExists(Number(parked.split(" ")[1])), false, "the child was reaped");
  await assert.rejects(Deno.lstat(socket), Deno.errors.NotFound, "the listener's file is removed");
  assertQuiet(f.stderr());
});

Deno.test("unref() on handles with pending waits", async (t) => {
  // A FIFO's open has no handle to unref; writes and sends keep a script alive whatever.
  const receiving = FAMILIES.filter((f) => f !== "fifo" && !SENDS.includes(f));

  await t.step("lets the script exit while they are pending", async () => {
    await using s = new TestScope();
    const { f, out } = await startWaits(s, receiving.join(","), "unref");
    const { rest } = await finish(f, out);
    await f.exits(0);
    assert.equal(rest, `idle with ${receiving.join(",")} pending\n`);
    assertQuiet(f.stderr());
  });

  /** Delivers to every wait: each must print "<family> done", and the script then exit. */
  const allDone = async (families: string, end: string) => {
    await using s = new TestScope();
    const { f, out, deliver, names } = await startWaits(s, families, end);
    await deliver();
    const { rest } = await finish(f, out);
    await f.exits(0);
    assert.deepEqual(rest.trim().split("\n").sort(), names.map((x) => `${x} done`).sort());
    assertQuiet(f.stderr());
  };

  await t.step(
    "leaves writes and sends keeping the script alive until they complete",
    () => allDone(SENDS.join(","), "unref"),
  );
  await t.step(
    "still lets them complete while the script runs for other reasons",
    () => allDone(receiving.join(","), "unref-alive"),
  );
  await t.step(
    "then ref() keeps the script alive until they complete, as before",
    () => allDone("all", "reref"),
  );
});

Deno.test("a parked call aborted, then its handle unref'd or ref'd: nothing keeps running", async (t) => {
  // The change of ref restarts the wait; once cancelled, it must not start a second interrupter.
  for (const call of ["msgrcv", "semop", "fcntl"]) {
    for (const change of ["unref", "reref"]) {
      await t.step(`${call}, ${change === "unref" ? "unref()" : "unref() and ref()"}`, async () => {
        await using s = new TestScope();
        const out = s.pipe();
        // A lock wait: of a file that another open of it holds, in the child.
        const lockFile = `${await s.tempDir()}/lock`;
        Deno.writeFileSync(lockFile, new Uint8Array());
        const f = s.fixture("lifecycle_abort_ref.ts", {
          args: [call, change, lockFile],
          fds: { 1: out.writer },
        });
        out.writer.close();
        const { rest } = await finish(f, out.reader);
        await f.exits(0);
        assert.equal(rest, "ended stop\n");
        assertQuiet(f.stderr());
      });
    }
  }
});

Deno.test("ChildProcess.unref() with its status pending", async (t) => {
  const run = async (mode: string, closeFirst: boolean) => {
    await using s = new TestScope();
    const input = s.pipe();
    const out = s.pipe();
    const f = s.fixture("lifecycle_unref.ts", {
      args: [mode],
      fds: { 1: out.writer, 3: input.reader },
    });
    out.writer.close();
    input.reader.close();
    const head = await f.check(() => readUntil(out.reader, "\n"));
    assert.match(head, /^parked \d+\n$/);
    // Unless it must exit first, the child (`cat`) ends now, at end of file.
    if (closeFirst) input.writer.close();
    const { rest } = await finish(f, out.reader);
    await f.exits(0);
    assertQuiet(f.stderr());
    input.writer.close(); // the child (`cat`) ends, if it still runs
    return rest;
  };

  await t.step("lets the script exit while the child runs", async () => {
    const rest = await run("exit", false);
    assert.equal(rest, "");
  });
  await t.step(
    "still settles when the child ends while the script runs for other reasons",
    async () => {
      const rest = await run("alive", true);
      assert.equal(rest, "status 0\n");
    },
  );
  await t.step("ref() again keeps the script alive until the child ends", async () => {
    const rest = await run("ref", true);
    assert.equal(rest, "status 0\n");
  });
});

Deno.test("a spawned child whose parent dies first sees end of file and a broken pipe, and finishes", async (t) => {
  for (const end of ["exit", "throw", "kill"] as const) {
    await t.step(end, async () => {
      await using s = new TestScope();
      const out = s.pipe();
      const f = s.fixture("lifecycle_orphan.ts", {
        args: ["parent", end === "kill" ? "wait" : end],
        fds: { 1: out.writer },
      });
      out.writer.close();
      const head = await f.check(() => readUntil(out.reader, "\n"));
      // The child ends by itself once its parent has gone.
      assert.ok(JSON.parse(head).child > 0);
      if (end === "kill") f.child.kill("SIGKILL");
      // The orphan holds the same stdout: the output ends once both have ended.
      const rest = await f.check(() => readAll(out.reader));
      const status = await f.status();
      if (end === "exit") assert.equal(status.code, 3);
      if (end === "throw") assert.equal(status.code, 1);
      if (end === "kill") assert.equal(status.signal, "SIGKILL");
      assert.deepEqual(JSON.parse(rest), {
        pipe: null,
        socket: null,
        write: "BrokenPipe",
        send: "BrokenPipe",
      });
    });
  }
});

Deno.test("what a script that ends without closing leaves behind", async (t) => {
  // A listener's socket file is removed by close() only: an exit without it
  // leaves the file (documented), and `replace: true` takes it over. Record
  // locks go with the process, however it ends.
  for (const end of ["keep-open", "exit", "throw", "SIGTERM"] as const) {
    await t.step(`listener socket file and record locks, ${end}`, async () => {
      await using s = new TestScope();
      const mode = end === "keep-open" ? "idle" : end === "SIGTERM" ? "wait" : end;
      const { f, out, socket, fifo, locks } = await startWaits(s, "accept,lock", mode);
      if (end === "SIGTERM") {
        assert.notEqual(locks.holder({ start: 1 }), null, "held while the script runs");
        f.child.kill("SIGTERM");
      }
      await finish(f, out);
      assert.ok((await Deno.lstat(socket)).isSocket, "the socket file stays");
      assert.ok((await Deno.lstat(fifo)).isFifo, "a FIFO stays until unlinked");
      assert.equal(locks.holder({ start: 1 }), null, "the script's record locks went with it");
      assert.throws(() => listen({ path: socket }), Deno.errors.AddrInUse);
      using again = listen({ path: socket, replace: true });
      assert.equal(again.addr.transport, "unix");
    });
  }
});
