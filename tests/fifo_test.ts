import assert from "node:assert/strict";
import { FdReader, type FdWriter, Fifo, listen, spawnProgram } from "../mod.ts";
import { CALL_BUDGET, threadsHeld } from "../src/_wait/budget.ts";
import { POLL_IDLE_AFTER_MS, POLL_IDLE_MS } from "../src/_wait/poll.ts";
import { chmodCreated } from "../src/_chmod.ts";
import {
  CANNOT,
  EMULATED,
  evalInChild,
  fdAccessMode,
  HANG_MS,
  isCloexec,
  isNonBlocking,
  MOD_URL,
  openFds,
  readAll,
  systemError,
  TestScope,
  threadsBlockedIn,
  unless,
  until,
  within,
} from "./_kernel.ts";

// Every test works in a temporary directory of its TestScope: removed at its
// end with whatever a test left there (FIFOs included), and no descriptor may
// stay open on anything in it.

/** The flags of a blocking FIFO open (`O_CLOEXEC` and the side), as /proc/<pid>/task/<tid>/syscall shows them. */
const OPEN_FLAGS = { read: 0o2000000, write: 0o2000001 } as const;

/**
 * Threads of this process asleep in a FIFO's blocking open for `side`
 * (`openat` in `wait_for_partner`). The kernel does not say which FIFO: other
 * test modules of the process may wait on FIFOs of their own too, so tests
 * compare with the count from before.
 */
function fifoOpens(side: "read" | "write"): number {
  return threadsBlockedIn(Deno.pid, {
    syscall: "open",
    wchan: "wait_for_partner",
    args: { 2: OPEN_FLAGS[side] },
  }).length;
}

Deno.test("Fifo.create() makes an owner-only FIFO, or exactly the mode asked", async (t) => {
  await using s = new TestScope();
  const dir = await s.tempDir("libc-ipc-fifo-");
  await t.step("default mode 0600", () => {
    Fifo.create(`${dir}/a`);
    const st = Deno.statSync(`${dir}/a`);
    assert.ok(st.isFifo);
    assert.equal(st.mode! & 0o7777, 0o600);
  });
  await t.step("an explicit mode is not narrowed by the umask", () => {
    Fifo.create(`${dir}/b`, { mode: 0o666 });
    assert.equal(Deno.statSync(`${dir}/b`).mode! & 0o7777, 0o666);
  });
  await t.step("an existing FIFO is reused, unless exclusive", () => {
    Fifo.create(`${dir}/a`);
    assert.ok(Deno.statSync(`${dir}/a`).isFifo);
    assert.throws(
      () => Fifo.create(`${dir}/a`, { exclusive: true }),
      systemError(Deno.errors.AlreadyExists, "EEXIST", "mkfifo", { path: `${dir}/a` }),
    );
  });
  await t.step("a FIFO another user owns, or open to more than asked, is never reused", () => {
    // It was reused as it was: a FIFO another user made 0666 in /tmp got the program's bytes.
    const refused = (path: string, owner: number, mode: number) => (e: unknown) =>
      systemError(Deno.errors.AlreadyExists, "EEXIST", "mkfifo", { path })(e) &&
      (e as Error).message.includes(`a FIFO of uid ${owner}, mode 0${mode.toString(8)}, is there`);
    Fifo.create(`${dir}/wide`, { mode: 0o666 });
    assert.throws(() => Fifo.create(`${dir}/wide`), refused(`${dir}/wide`, 0, 0o666));
    Fifo.create(`${dir}/wide`, { mode: 0o666 }); // within what is asked: reused
    Fifo.create(`${dir}/theirs`);
    Deno.chownSync(`${dir}/theirs`, 65534, 65534);
    assert.throws(() => Fifo.create(`${dir}/theirs`), refused(`${dir}/theirs`, 65534, 0o600));
    assert.equal(Deno.statSync(`${dir}/theirs`).uid, 65534, "left as it was");
  });
  await t.step("an existing non-FIFO is a clear AlreadyExists", () => {
    Deno.writeTextFileSync(`${dir}/file`, "x");
    assert.throws(
      () => Fifo.create(`${dir}/file`),
      (e: unknown) =>
        e instanceof Deno.errors.AlreadyExists && /is a regular file, not a FIFO/.test(e.message),
    );
    Deno.mkdirSync(`${dir}/sub`);
    assert.throws(() => Fifo.create(`${dir}/sub`), /is a directory, not a FIFO/);
  });
  await t.step("a missing directory is NotFound naming the path", () => {
    assert.throws(
      () => Fifo.create(`${dir}/missing/x`),
      systemError(Deno.errors.NotFound, "ENOENT", "mkfifo", { path: `${dir}/missing/x` }),
    );
  });
  await t.step("the mode is set on what was made, never through what replaced it", () => {
    // Set by chmod(path) after mkfifo or bind: a symbolic link renamed onto the path in between
    // gave its target the mode (a race another user of the directory could win).
    const target = `${dir}/target`;
    Deno.writeTextFileSync(target, "private");
    Deno.chmodSync(target, 0o600);
    Deno.symlinkSync(target, `${dir}/link`);
    assert.throws(
      () => chmodCreated(`${dir}/link`, 0o666, "fifo", "mkfifo"),
      (e: unknown) =>
        e instanceof Deno.errors.NotFound &&
        /\(a FIFO\) was replaced by a symbolic link before its mode was set/.test(e.message),
    );
    assert.equal(Deno.statSync(target).mode! & 0o7777, 0o600);
    // A FIFO where a socket was made, or another inode than the one bound: refused too.
    Fifo.create(`${dir}/c`);
    assert.throws(() => chmodCreated(`${dir}/c`, 0o666, "socket", "bind"), /by a FIFO/);
    const { ino } = Deno.statSync(`${dir}/c`);
    assert.throws(
      () => chmodCreated(`${dir}/c`, 0o666, "fifo", "mkfifo", `0:${ino}`),
      Deno.errors.NotFound,
    );
    chmodCreated(`${dir}/c`, 0o640, "fifo", "mkfifo");
    assert.equal(Deno.statSync(`${dir}/c`).mode! & 0o7777, 0o640);
  });
  await t.step("file: URLs are accepted", () => {
    const url = new URL(`file://${dir}/url fifo`);
    Fifo.create(url);
    assert.ok(Deno.statSync(`${dir}/url fifo`).isFifo);
    Fifo.unlink(url);
    assert.throws(() => Deno.statSync(`${dir}/url fifo`), Deno.errors.NotFound);
    // A `%` that begins no escape is itself, as Deno.Command's cwd has it (it was a URIError).
    const percent = new URL(`file://${dir}/100%`);
    Fifo.create(percent);
    assert.ok(Deno.statSync(`${dir}/100%`).isFifo);
    Fifo.unlink(percent);
  });
});

Deno.test("Fifo bad arguments are TypeError/RangeError before any syscall", async () => {
  await using s = new TestScope();
  const dir = await s.tempDir("libc-ipc-fifo-");
  // deno-lint-ignore no-explicit-any
  const any = (v: unknown) => v as any;
  assert.throws(() => Fifo.create(""), TypeError);
  assert.throws(() => Fifo.create(any(42)), TypeError);
  assert.throws(() => Fifo.create(`${dir}/a\0b`), /NUL/);
  assert.throws(() => Fifo.create(`${dir}/${"x".repeat(5000)}`), RangeError);
  assert.throws(() => Fifo.create(new URL("https://example.com/x")), TypeError);
  assert.throws(() => Fifo.create(new URL("file://otherhost/tmp/x")), /must have no host/);
  assert.throws(() => Fifo.create(`${dir}/o`, any(null)), /options must be an object/);
  assert.throws(() => Fifo.create(`${dir}/o`, { exclusive: any("yes") }), TypeError);
  assert.throws(() => Fifo.create(`${dir}/m`, { mode: 0o10000 }), RangeError);
  assert.throws(() => Fifo.create(`${dir}/m`, { mode: any("600") }), /got "600" \(a string\)/);
  assert.throws(() => Fifo.create(`${dir}/m`, { mode: any("600") }), TypeError);
  Fifo.create(`${dir}/f`);
  await assert.rejects(Fifo.open(`${dir}/f`, any("rw")), TypeError);
  await assert.rejects(Fifo.open(`${dir}/f`, "read", { timeout: -5 }), RangeError);
  assert.throws(() => Fifo.openSync(`${dir}/f`, any(1)), TypeError);
  // Options are checked before the stat, so the error does not hang on what is at the path.
  const none = `${dir}/none`;
  await assert.rejects(Fifo.open(none, "read", any(null)), /options must be an object/);
  await assert.rejects(Fifo.open(none, "read", { timeout: -1 }), RangeError);
  assert.throws(() => Fifo.openSync(none, "read", any({ signal: AbortSignal.abort() })), TypeError);
  assert.equal([...Deno.readDirSync(dir)].length, 1, "nothing else was created");
});

Deno.test("Fifo.open() waits for the other side, across processes", async (t) => {
  await using s = new TestScope();
  const path = `${await s.tempDir("libc-ipc-fifo-")}/fifo`;
  Fifo.create(path);
  await t.step("parent writes, child reads", async () => {
    const out = s.pipe();
    const child = s.fixture("fifo_peer.ts", { args: ["read", path], fds: { 1: out.writer } });
    out.writer.close();
    const writer = await child.check(() => Fifo.open(path, "write", { timeout: HANG_MS }));
    await writer.write("Hello from parent process");
    writer.close();
    const text = await child.check(() => readAll(out.reader));
    await child.exits(0);
    await child.check(() => assert.equal(text, "Hello from parent process\n"));
  });
  await t.step("child writes, parent reads", async () => {
    const child = s.fixture("fifo_peer.ts", { args: ["write", path, "Hello from child process"] });
    const reader = await child.check(() => Fifo.open(path, "read", { timeout: HANG_MS }));
    const text = await new Response(reader.readable).text();
    await child.exits(0);
    await child.check(() => assert.equal(text, "Hello from child process"));
  });
  await t.step("both sides in one process", async () => {
    const [r, w] = await Promise.all([Fifo.open(path, "read"), Fifo.open(path, "write")]);
    w.writeSync("same process");
    w.close();
    assert.equal(await new Response(r.readable).text(), "same process");
  });
  Fifo.unlink(path);
});

Deno.test("Fifo.open() waits are cancellable and leave nothing behind", async (t) => {
  await using s = new TestScope();
  const path = `${await s.tempDir("libc-ipc-fifo-")}/fifo`;
  Fifo.create(path);
  for (const side of ["read", "write"] as const) {
    await t.step(`side ${side}: timeout rejects with TimedOut`, async () => {
      await assert.rejects(
        Fifo.open(path, side, { timeout: 20 }),
        systemError(Deno.errors.TimedOut, "ETIMEDOUT", "open", { path }),
      );
    });
    await t.step(`side ${side}: abort while blocked rejects with the signal's reason`, async () => {
      const ac = new AbortController();
      const before = fifoOpens(side);
      let settled = false;
      const pending = Fifo.open(path, side, { signal: ac.signal }).finally(() => settled = true);
      pending.catch(() => {});
      // The open sleeps in the kernel (wait_for_partner) on a pool thread: abort it there.
      await until(() => fifoOpens(side) > before, `a blocking open for ${side}`);
      assert.equal(settled, false);
      ac.abort(new Error("changed my mind"));
      await assert.rejects(pending, /changed my mind/);
      await assert.rejects(Fifo.open(path, side, { signal: ac.signal }), /changed my mind/);
    });
  }
  await t.step(
    "a parked read open aborted after its writer wrote: it opens, with the bytes",
    async () => {
      // The writer's open completed the parked open(2) in the kernel, and its write succeeded:
      // the abort comes too late, as it would for C's open, and the bytes are not lost.
      const ac = new AbortController();
      const before = fifoOpens("read");
      const pending = Fifo.open(path, "read", { signal: ac.signal });
      pending.catch(() => {});
      await until(() => fifoOpens("read") > before, "a blocking open for read");
      const writer = Fifo.tryOpen(path, "write");
      writer.writeSync("written");
      writer.close();
      ac.abort(new Error("too late"));
      using reader = await pending;
      assert.equal(await readAll(reader), "written");
    },
  );
  await t.step("more cancelled opens than pool threads the library may hold", async () => {
    const ac = new AbortController();
    const pending = Array.from(
      { length: 12 },
      () => Fifo.open(path, "read", { signal: ac.signal }),
    );
    ac.abort();
    const results = await Promise.allSettled(pending);
    assert.ok(results.every((r) => r.status === "rejected"));
    // The pool is free again: an open that has a partner completes.
    const [r, w] = await Promise.all([Fifo.open(path, "read"), Fifo.open(path, "write")]);
    assert.ok(r instanceof FdReader);
    r.close();
    w.close();
  });
  await t.step("a child process that cancels its open exits by itself", async () => {
    const out = s.pipe();
    const child = s.fixture("fifo_cancel.ts", { args: [path], fds: { 1: out.writer } });
    out.writer.close();
    const text = await child.check(() => readAll(out.reader));
    await child.exits(0);
    await child.check(() => assert.equal(text, "TimedOut\nTimeoutError\n"));
  });
  Fifo.unlink(path);
});

Deno.test("a cancelled Fifo.open() leaves other processes' opens waiting", async (t) => {
  await using s = new TestScope();
  const path = `${await s.tempDir("libc-ipc-fifo-")}/fifo`;
  Fifo.create(path);
  /** Whether the shell child is asleep in its FIFO open. */
  const blocked = (pid: number) =>
    threadsBlockedIn(pid, { syscall: "open", wchan: "wait_for_partner" }).length === 1;
  // Under qemu-user no nudge can find the pool thread: the open is ended by opening the other
  // side, which completes the other process's open too (as the docs say).
  const ignore = EMULATED;
  await t.step({
    name: "a writer's bytes still reach the reader that comes later",
    ignore,
    fn: async () => {
      const child = s.child(spawnProgram("/bin/sh", ["-c", 'printf hello > "$0"', path]));
      await until(() => blocked(child.pid), "the shell blocked in its open for writing");
      await assert.rejects(Fifo.open(path, "write", { timeout: 20 }), Deno.errors.TimedOut);
      // Closing our side wakes the shell to look again (pipe_release): it goes back to sleep.
      await until(() => blocked(child.pid), "the shell asleep in its open again");
      using reader = await Fifo.open(path, "read");
      assert.equal(await readAll(reader), "hello");
      assert.equal((await child.status).code, 0);
    },
  });
  await t.step({
    name: "a reader still gets what the writer that comes later writes",
    ignore,
    fn: async () => {
      const out = s.pipe();
      const child = s.child(spawnProgram("/bin/sh", ["-c", 'cat < "$0"', path], {
        fds: { 1: out.writer },
      }));
      out.writer.close();
      await until(() => blocked(child.pid), "the shell blocked in its open for reading");
      await assert.rejects(Fifo.open(path, "read", { timeout: 20 }), Deno.errors.TimedOut);
      // Closing our side wakes the shell to look again (pipe_release): it goes back to sleep.
      await until(() => blocked(child.pid), "the shell asleep in its open again");
      const writer = await Fifo.open(path, "write");
      writer.writeSync("later");
      writer.close();
      assert.equal(await readAll(out.reader), "later");
      assert.equal((await child.status).code, 0);
    },
  });
  Fifo.unlink(path);
});

Deno.test("Fifo read opens complete without a pool thread", async (t) => {
  await using s = new TestScope();
  const dir = await s.tempDir("libc-ipc-fifo-");
  const paths = Array.from({ length: CALL_BUDGET + 2 }, (_, i) => `${dir}/f${i}`);
  for (const path of paths) Fifo.create(path);
  const [path, other] = paths;
  // Under qemu-user no alarm can end a blocking try: there a read side completes only parked.
  const ignore = EMULATED;
  await t.step({
    name: "timeout 0 opens the read side when a writer is there",
    ignore,
    fn: async () => {
      using holder = Fifo.tryOpen(path, "read");
      using writer = Fifo.tryOpen(path, "write");
      holder.close();
      using a = await Fifo.open(path, "read", { timeout: 0 });
      using b = Fifo.openSync(path, "read", { timeout: 0 });
      assert.ok(a instanceof FdReader && b instanceof FdReader);
      assert.equal(writer.closed, false);
    },
  });
  await t.step("timeout 0 with no writer times out, sync and async", async () => {
    const timedOut = systemError(Deno.errors.TimedOut, "ETIMEDOUT", "open", { path: other });
    assert.throws(() => Fifo.openSync(other, "read", { timeout: 0 }), timedOut);
    await assert.rejects(Fifo.open(other, "read", { timeout: 0 }), timedOut);
  });
  await t.step({
    name: "both sides in one process while every parked-call thread is held",
    ignore,
    fn: async () => {
      const ac = new AbortController();
      const idle = paths.slice(2).map((p) => Fifo.open(p, "read", { signal: ac.signal }));
      try {
        const [r, w] = await Promise.all([
          Fifo.open(other, "read", { timeout: HANG_MS }),
          Fifo.open(other, "write", { timeout: HANG_MS }),
        ]);
        r.close();
        w.close();
      } finally {
        ac.abort();
        await Promise.allSettled(idle);
      }
    },
  });
  for (const direction of ["read", "write"] as const) {
    for (const by of ["a file", "another FIFO"] as const) {
      await t.step({
        name: `a FIFO replaced by ${by} while a ${direction} open polls: refused, it untouched`,
        ignore,
        fn: async () => {
          // Each try opens the path again: it opened what was put there and read or wrote it.
          const ac = new AbortController();
          const idle = paths.slice(2).map((p) => Fifo.open(p, "read", { signal: ac.signal }));
          const fifo = `${dir}/replaced-${direction}`;
          const other = `${dir}/other-${direction}`;
          const ends: Array<FdReader | FdWriter> = [];
          try {
            await until(() => threadsHeld() >= CALL_BUDGET, "every parked-call thread held");
            Fifo.create(fifo);
            const opening = Fifo.open(fifo, direction, { timeout: HANG_MS });
            opening.catch(() => {});
            if (by === "a file") {
              Deno.writeTextFileSync(other, "not for the FIFO's reader or writer");
            } else {
              // Both of its ends open: an open of either side completes at once.
              Fifo.create(other);
              ends.push(Fifo.tryOpen(other, "read"), Fifo.tryOpen(other, "write"));
            }
            Deno.renameSync(other, fifo);
            await assert.rejects(
              within(opening, "the open of the replaced FIFO"),
              (e) =>
                e instanceof TypeError &&
                /is not the FIFO it was: it was replaced while the open waited/.test(e.message),
            );
            if (by === "a file") {
              assert.equal(Deno.readTextFileSync(fifo), "not for the FIFO's reader or writer");
            } else {
              assert.throws(
                () => (ends[0] as FdReader).tryRead(new Uint8Array(1)),
                Deno.errors.WouldBlock,
              );
            }
          } finally {
            for (const end of ends) end.close();
            Deno.removeSync(fifo);
            ac.abort();
            await Promise.allSettled(idle);
          }
        },
      });
    }
  }
  for (const abortAfter of [false, true]) {
    await t.step(
      abortAfter
        ? "a polling read open aborted after its writer wrote: it opens, with the bytes"
        : "a writer that comes and goes while a read open polls: its bytes arrive",
      async () => {
        const ac = new AbortController();
        const idle = paths.slice(2).map((p) => Fifo.open(p, "read", { signal: ac.signal }));
        try {
          await until(() => threadsHeld() >= CALL_BUDGET, "every parked-call thread held");
          const stop = new AbortController();
          const opening = Fifo.open(other, "read", { signal: stop.signal, timeout: HANG_MS });
          opening.catch(() => {});
          // The polling read open holds the FIFO for reading, as a reader in open(2) counts as one.
          const writer = await until(() => {
            try {
              return Fifo.tryOpen(other, "write");
            } catch {
              return false;
            }
          }, "a writer's open that sees the polling reader");
          writer.writeSync("bye");
          writer.close();
          // Before the poll's next try: the writer came while the open waited, so it opened.
          if (abortAfter) stop.abort(new Error("too late"));
          using reader = await opening;
          assert.equal(await readAll(reader), "bye");
        } finally {
          ac.abort();
          await Promise.allSettled(idle);
        }
      },
    );
  }
  await t.step({
    name: "hundreds of polling read opens: each opens once its writer comes",
    ignore,
    fn: async () => {
      // More than the poll clock tries in one tick, with tries of 0.2 ms: the clock went back
      // to the first waits at every tick and never reached the last (a hang).
      const many = Array.from({ length: 600 }, (_, i) => `${dir}/m${i}`);
      for (const p of many) Fifo.create(p);
      const ac = new AbortController();
      const opens = many.map((p) => Fifo.open(p, "read", { signal: ac.signal }));
      try {
        // Time is the state here: the clock tries a wait that has polled this long least often.
        await new Promise((resolve) => setTimeout(resolve, POLL_IDLE_AFTER_MS + POLL_IDLE_MS));
        for (const p of [many.at(-1)!, many[300]]) {
          const writer = await Fifo.open(p, "write", { timeout: HANG_MS });
          writer.writeSync("x");
          writer.close();
          using reader = await within(opens[many.indexOf(p)], `the read open of ${p}`);
          assert.equal(await readAll(reader), "x");
        }
      } finally {
        ac.abort();
        const ended = await Promise.allSettled(opens);
        for (const e of ended) if (e.status === "fulfilled") e.value.close();
        for (const p of many) Fifo.unlink(p);
      }
    },
  });
  for (const p of paths) Fifo.unlink(p);
});

Deno.test("Fifo.tryOpen() and openSync()", async (t) => {
  await using s = new TestScope();
  const path = `${await s.tempDir("libc-ipc-fifo-")}/fifo`;
  Fifo.create(path);
  await t.step("writing with no reader would block (ENXIO)", () => {
    assert.throws(
      () => Fifo.tryOpen(path, "write"),
      systemError(Deno.errors.WouldBlock, "ENXIO", "open", { path }),
    );
  });
  await t.step("openSync() times out with no partner", () => {
    for (const side of ["read", "write"] as const) {
      assert.throws(
        () => Fifo.openSync(path, side, { timeout: 5 }),
        systemError(Deno.errors.TimedOut, "ETIMEDOUT", "open", { path }),
      );
    }
  });
  await t.step("reading opens at once; then a writer can open without waiting", () => {
    using r = Fifo.tryOpen(path, "read");
    using w = Fifo.openSync(path, "write");
    w.writeSync("now");
    const buf = new Uint8Array(8);
    assert.equal(r.readSync(buf), 3);
    assert.ok(r instanceof FdReader);
  });
  Fifo.unlink(path);
});

Deno.test("Fifo.openBoth(): a reader that outlives its writers, across processes", async (t) => {
  await using s = new TestScope();
  const path = `${await s.tempDir("libc-ipc-fifo-")}/fifo`;
  Fifo.create(path);
  const buf = new Uint8Array(16);
  const text = (n: number | null) =>
    n === null ? null : new TextDecoder().decode(buf.subarray(0, n));
  /** A process that writes `word` to the FIFO and exits. */
  const client = async (word: string) => {
    const child = s.child(spawnProgram("/bin/sh", ["-c", 'printf "$1" > "$0"', path, word]));
    assert.equal((await child.status).code, 0);
  };

  await t.step("a reader opened alone sees end of file when its writer leaves", async () => {
    using reader = Fifo.tryOpen(path, "read");
    await client("alone");
    assert.equal(text(reader.readSync(buf)), "alone");
    assert.equal(reader.readSync(buf), null);
  });

  await t.step(
    "both ends open at once, and the reader reads one client after another",
    async () => {
      using server = Fifo.openBoth(path);
      assert.ok(server.reader instanceof FdReader);
      for (const word of ["one", "two"]) {
        await client(word); // it opened without waiting, wrote, and left
        assert.equal(text(server.reader.readSync(buf)), word);
        assert.throws(() => server.reader.tryRead(buf), Deno.errors.WouldBlock, "no end of file");
      }
      // Its own writer comes back to it; once closed, the reader sees end of file.
      server.writer.writeSync("self");
      assert.equal(text(await server.reader.read(buf)), "self");
      server.writer.close();
      assert.equal(await server.reader.read(buf), null);
    },
  );

  await t.step("each end has a description of its own: read-only and write-only", () => {
    const { reader, writer } = s.handle(Fifo.openBoth(path));
    for (const [end, mode] of [[reader.fd, 0], [writer.fd, 1]]) {
      assert.equal(fdAccessMode(end), mode);
      assert.ok(isCloexec(end) && isNonBlocking(end));
    }
  });

  await t.step("what is not a FIFO is refused, as by open()", () => {
    const dir = path.slice(0, path.lastIndexOf("/"));
    Deno.writeTextFileSync(`${dir}/file`, "keep me");
    assert.throws(() => Fifo.openBoth(`${dir}/file`), /is not a FIFO \(it is a regular file\)/);
    assert.throws(
      () => Fifo.openBoth(`${dir}/none`),
      systemError(Deno.errors.NotFound, "ENOENT", "open", { path: `${dir}/none` }),
    );
  });
  Fifo.unlink(path);
});

Deno.test("Fifo refuses what is not a FIFO, and unlink() removes only FIFOs", async () => {
  await using s = new TestScope();
  const dir = await s.tempDir("libc-ipc-fifo-");
  Deno.writeTextFileSync(`${dir}/file`, "keep me");
  await assert.rejects(Fifo.open(`${dir}/file`, "read"), /is not a FIFO \(it is a regular file\)/);
  assert.throws(() => Fifo.openSync(`${dir}/file`, "write"), /is not a FIFO/);
  assert.throws(() => Fifo.unlink(`${dir}/file`), /is not a FIFO/);
  assert.equal(Deno.readTextFileSync(`${dir}/file`), "keep me");
  await assert.rejects(
    Fifo.open(`${dir}/none`, "read"),
    systemError(Deno.errors.NotFound, "ENOENT", "open", { path: `${dir}/none` }),
  );
  assert.throws(
    () => Fifo.unlink(`${dir}/none`),
    systemError(Deno.errors.NotFound, "ENOENT", "unlink", { path: `${dir}/none` }),
  );
  Fifo.create(`${dir}/f`);
  // unlink(2) would remove a link to a FIFO, not the FIFO: refused, both stay.
  Deno.symlinkSync(`${dir}/f`, `${dir}/link`);
  assert.throws(() => Fifo.unlink(`${dir}/link`), /is not a FIFO \(it is a symbolic link\)/);
  assert.equal(Deno.lstatSync(`${dir}/link`).isSymlink, true);
  Fifo.unlink(`${dir}/f`);
  assert.throws(() => Deno.statSync(`${dir}/f`), Deno.errors.NotFound);
});

Deno.test(unless(
  CANNOT.parking,
  "an open of a FIFO made anew at the same path does not wait on an open of the old one",
  async () => {
    // Interchangeable opens share one parked open(2): by the file, not by the path.
    await using s = new TestScope();
    const path = `${await s.tempDir("libc-ipc-fifo-")}/fifo`;
    Fifo.create(path);
    const stop = new AbortController();
    const before = fifoOpens("read");
    const old = Fifo.open(path, "read", { signal: stop.signal });
    old.catch(() => {});
    try {
      await until(() => fifoOpens("read") > before, "the open of the first FIFO to park");
      Fifo.unlink(path);
      Fifo.create(path);
      const [r, w] = await Promise.all([
        Fifo.open(path, "read", { timeout: HANG_MS }),
        Fifo.open(path, "write", { timeout: HANG_MS }),
      ]);
      r.close();
      w.close();
    } finally {
      stop.abort();
      await old.catch(() => {});
    }
  },
));

Deno.test("an open that fails gives back what its wait held: no handle's close would", async () => {
  // A timed-out or aborted open kept the descriptor held in reserve (on /dev/null) for good.
  await using s = new TestScope();
  const path = `${await s.tempDir()}/fifo`;
  Fifo.create(path);
  const src = (file: string) => new URL(`../src/${file}`, import.meta.url).href;
  await evalInChild(
    s,
    `
    import assert from "node:assert/strict";
    import { Fifo } from "${MOD_URL}";
    import { reserved } from "${src("_proc.ts")}";
    import { fdEngine } from "${src("_wait/mod.ts")}";
    import { threadsHeld } from "${src("_wait/budget.ts")}";
    for (const options of [{ timeout: 30 }, { signal: AbortSignal.timeout(30) }]) {
      await assert.rejects(Fifo.open("${path}", "read", options));
      for (let i = 0; reserved() >= 0 || threadsHeld() > 0 || fdEngine.descriptors.length > 0; i++) {
        assert.ok(i < 500, "still held 5 s on: " + JSON.stringify([reserved(), threadsHeld()]));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    `,
  );
});

Deno.test("a FIFO replaced by a socket file while it is opened: the 'replaced' TypeError, and no descriptor left", async (t) => {
  await using s = new TestScope();
  const dir = await s.tempDir("libc-ipc-fifo-");
  Fifo.create(`${dir}/fifo`);
  s.handle(listen({ path: `${dir}/sock` })); // a socket file: its open(2) is ENXIO
  // A writer there, so that the blocking read opens complete at once.
  s.handle(Fifo.openBoth(`${dir}/fifo`));
  Deno.symlinkSync("fifo", `${dir}/link`);
  // A child points the link at the FIFO and at the socket in turn, atomically (rename).
  const flipper = s.child(spawnProgram(Deno.execPath(), [
    "eval",
    `for (let i = 0;; i ^= 1) { Deno.symlinkSync(i ? "fifo" : "sock", "${dir}/new"); ` +
    `Deno.renameSync("${dir}/new", "${dir}/link"); }`,
  ]));
  // Under an emulator, a waiting read open cannot try a blocking open(2), which no alarm
  // would end: it waits for bytes or a writer's end, which the writer held here never gives.
  const blocking = CANNOT.parking;
  const opens: [string, () => unknown, string?][] = [
    ["openBoth", () => Fifo.openBoth(`${dir}/link`)],
    ["tryOpen read", () => Fifo.tryOpen(`${dir}/link`, "read")],
    ["openSync read", () => Fifo.openSync(`${dir}/link`, "read", { timeout: HANG_MS }), blocking],
    ["open read", () => Fifo.open(`${dir}/link`, "read", { timeout: HANG_MS }), blocking],
  ];
  // How often the race must be met: each time needs the child's rename between the check
  // and the open, which comes rarer as the CPUs get busier.
  const MET = 3;
  for (const [name, open, cannot] of opens) {
    await t.step({
      name,
      ignore: cannot !== undefined,
      fn: async () => {
        // Descriptors of what is in the directory (other modules of this process open their own).
        const held = () => [...openFds().values()].filter((t) => t.startsWith(`${dir}/`)).length;
        const before = held();
        let replaced = 0;
        const unexpected: string[] = [];
        const end = performance.now() + HANG_MS;
        for (let i = 0; replaced < MET && performance.now() < end; i++) {
          try {
            const opened = await open();
            (opened as Disposable)[Symbol.dispose]();
          } catch (e) {
            if (e instanceof TypeError && /is not the FIFO it was/.test(e.message)) replaced++;
            else if (!(e instanceof TypeError && /is not a FIFO/.test(e.message))) {
              unexpected.push(String(e));
            }
          }
        }
        assert.deepEqual(unexpected.slice(0, 3), []);
        assert.equal(replaced, MET, "the race was not met in time");
        assert.equal(held(), before);
      },
    });
  }
  flipper.kill("SIGKILL");
});
