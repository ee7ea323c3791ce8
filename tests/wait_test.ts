/**
 * The fd source of the waiting engine (src/_wait/fd.ts) through pipes: many
 * waits at once in one `epoll_wait`, aborts, timeouts, closes, and a process
 * that exits by itself once its waits have ended. (The parked-call and
 * futex-word sources have tests of their own.)
 *
 * @module
 */
import assert from "node:assert/strict";
import { MessageQueue, PosixSemaphore, socketpair, spawn } from "../mod.ts";
import { fdEngine } from "../src/_wait/mod.ts";
import {
  EMULATED,
  EPOLLIN,
  EPOLLOUT,
  epollRegistrations,
  epollWatches,
  evalInChild,
  fixtureUrl,
  HANG_MS,
  MOD_URL,
  openFds,
  runCollect,
  systemError,
  TestScope,
  threadsBlockedIn,
  until,
  waitedOn,
  within,
} from "./_kernel.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Fills a pipe until a write would block. */
function fill(writer: { tryWrite(data: Uint8Array): number }): void {
  const chunk = new Uint8Array(65536);
  try {
    for (;;) writer.tryWrite(chunk);
  } catch (e) {
    if (!(e instanceof Deno.errors.WouldBlock)) throw e;
  }
}

/** Nonblocking work that needs Deno's pool threads: it must complete while waits are pending. */
async function otherWork(s: TestScope): Promise<void> {
  const text = await within(Deno.readTextFile(new URL(import.meta.url)), "Deno.readTextFile");
  assert.match(text, /otherWork/);
  const path = s.path(await within(Deno.makeTempFile({ prefix: "wait_" }), "Deno.makeTempFile"));
  await within(Deno.writeTextFile(path, "x"), "Deno.writeTextFile");
  assert.equal(await within(Deno.readTextFile(path), "Deno.readTextFile"), "x");
}

/**
 * The epoll instance in which every one of `fds` is registered for reading,
 * checked to be one and the same, with exactly one thread asleep in
 * `epoll_wait` on it: one parked call serves every fd wait.
 */
function oneEpollFor(fds: number[]): number {
  const watches = epollRegistrations();
  const registered = fds.map(watches);
  const instances = new Set(
    registered.flat().filter((w) => (w.events & EPOLLIN) !== 0).map((w) => w.epfd),
  );
  assert.equal(instances.size, 1, `epoll instances of the waits: ${[...instances]}`);
  const [epfd] = instances;
  fds.forEach((fd, i) => {
    assert.ok(registered[i].some((w) => w.epfd === epfd), `fd ${fd} is not registered`);
  });
  assert.equal(threadsBlockedIn(Deno.pid, { syscall: "epoll_wait", arg0: epfd }).length, 1);
  return epfd;
}

Deno.test("200 pending reads on 200 pipes wait together", async (t) => {
  await using s = new TestScope();
  const before = fdEngine.pending;
  const pipes = Array.from({ length: 200 }, () => s.pipe());
  const bufs = pipes.map(() => new Uint8Array(64));
  const reads = pipes.map((p, i) => p.reader.read(bufs[i]));
  reads.forEach((r) => r.catch(() => {})); // settled below, or rejected by cleanup on failure

  await t.step("all 200 are pending, in one epoll_wait", async () => {
    assert.equal(fdEngine.pending, before + 200);
    await waitedOn(pipes[199].reader.fd, EPOLLIN);
    oneEpollFor(pipes.map((p) => p.reader.fd));
  });

  await t.step("Deno's own file operations still complete", async () => {
    await otherWork(s);
    assert.equal(fdEngine.pending, before + 200);
  });

  await t.step("each read completes once its pipe has data", async () => {
    // Written in reverse order: each read must get its own pipe's bytes.
    for (let i = pipes.length - 1; i >= 0; i--) pipes[i].writer.writeSync(`message ${i}`);
    const counts = await within(Promise.all(reads), "200 reads");
    counts.forEach((n, i) => {
      assert.equal(decoder.decode(bufs[i].subarray(0, n!)), `message ${i}`);
    });
    assert.equal(fdEngine.pending, before);
    // None of the 200 fds is left registered in an epoll instance.
    const watches = epollRegistrations();
    for (const p of pipes) assert.deepEqual(watches(p.reader.fd), []);
  });

  await t.step("closing all 400 ends releases them", () => {
    for (const p of pipes) p[Symbol.dispose]();
    for (const p of pipes) assert.ok(p.reader.closed && p.writer.closed);
    // The scope checks at its end that no fd refers to any of the 200 pipes.
  });
});

Deno.test("an aborted wait rejects with the signal's reason and frees its wait", async (t) => {
  await t.step("read: rejects with exactly signal.reason; pending back", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const before = fdEngine.pending;
    const ac = new AbortController();
    const read = p.reader.read(new Uint8Array(8), { signal: ac.signal });
    assert.equal(fdEngine.pending, before + 1);
    await waitedOn(p.reader.fd, EPOLLIN);
    const reason = new Error("stop");
    ac.abort(reason);
    await assert.rejects(within(read, "aborted read"), (e) => e === reason);
    assert.equal(fdEngine.pending, before);
    assert.deepEqual(epollWatches(p.reader.fd), [], "the fd left in epoll");
  });

  await t.step("the default reason is an AbortError", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const ac = new AbortController();
    const read = p.reader.read(new Uint8Array(8), { signal: ac.signal });
    ac.abort();
    await assert.rejects(
      within(read, "aborted read"),
      (e) => e instanceof DOMException && e.name === "AbortError",
    );
  });

  await t.step("an already aborted signal: no wait at all", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const before = fdEngine.pending;
    const reason = new Error("early");
    const read = p.reader.read(new Uint8Array(8), { signal: AbortSignal.abort(reason) });
    assert.equal(fdEngine.pending, before);
    await assert.rejects(read, (e) => e === reason);
    assert.deepEqual(epollWatches(p.reader.fd), []);
  });

  await t.step("no data is lost: the next read gets what arrives later", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const ac = new AbortController();
    const buf = new Uint8Array(8);
    const read = p.reader.read(buf, { signal: ac.signal });
    ac.abort();
    await assert.rejects(within(read, "aborted read"));
    p.writer.writeSync("later");
    const n = await within(p.reader.read(buf), "read");
    assert.equal(decoder.decode(buf.subarray(0, n!)), "later");
  });

  await t.step("aborting one of two waits on the same fd leaves the other", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const before = fdEngine.pending;
    const ac = new AbortController();
    const a = p.reader.read(new Uint8Array(8), { signal: ac.signal });
    const bufB = new Uint8Array(8);
    const b = p.reader.read(bufB);
    assert.equal(fdEngine.pending, before + 1);
    await waitedOn(p.reader.fd, EPOLLIN);
    ac.abort();
    await assert.rejects(within(a, "aborted read"));
    assert.equal(fdEngine.pending, before + 1);
    // The other wait is still in the kernel.
    await waitedOn(p.reader.fd, EPOLLIN);
    p.writer.writeSync("b");
    assert.equal(await within(b, "other read"), 1);
    assert.equal(decoder.decode(bufB.subarray(0, 1)), "b");
    assert.equal(fdEngine.pending, before);
  });

  await t.step("an abort after completion changes nothing", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const before = fdEngine.pending;
    const ac = new AbortController();
    const buf = new Uint8Array(8);
    const read = p.reader.read(buf, { signal: ac.signal });
    p.writer.writeSync("abcdef");
    assert.equal(await within(read, "read"), 6);
    ac.abort();
    // The completed read keeps its bytes; nothing else was taken, no wait is left.
    assert.equal(decoder.decode(buf.subarray(0, 6)), "abcdef");
    assert.equal(fdEngine.pending, before);
    assert.deepEqual(epollWatches(p.reader.fd), []);
    p.writer.writeSync("next");
    assert.equal(p.reader.tryRead(buf), 4);
    assert.equal(decoder.decode(buf.subarray(0, 4)), "next");
  });

  await t.step("write to a full pipe: rejects with exactly signal.reason", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    fill(p.writer);
    const before = fdEngine.pending;
    const ac = new AbortController();
    const write = p.writer.write(new Uint8Array(10), { signal: ac.signal });
    assert.equal(fdEngine.pending, before + 1);
    const reason = new Error("stop writing");
    ac.abort(reason);
    await assert.rejects(within(write, "aborted write"), (e) => e === reason);
    assert.equal(fdEngine.pending, before);
  });

  for (const mode of ["abort", "timeout", "close", "write"]) {
    await t.step(`a child whose only wait ends (${mode}) exits by itself`, async () => {
      const { status, stdout, stderr } = await runCollect((w, e) =>
        spawn(fixtureUrl("wait_abort_exit.ts"), {
          // Under emulation 20 ms can pass before the wait parks: it would time out without parking.
          args: [mode, EMULATED ? "2000" : "20"],
          fds: { 1: w, 2: e },
        })
      );
      const context = `stdout:\n${stdout}\nstderr:\n${stderr}`;
      assert.deepEqual(status, { success: true, code: 0, signal: null }, context);
      const how = {
        abort: "Error: stop",
        timeout: "TimedOut: ",
        close: "BadResource: ",
        write: "Error: stop",
      }[mode];
      const lines = stdout.trimEnd().split("\n");
      assert.equal(lines.length, 2, context);
      assert.ok(lines[0].startsWith(`rejected ${how}`), context);
      assert.equal(lines[1], "pending 0 1 0", context);
    });
  }
});

Deno.test("a wait for data and a wait for room on one socket each end on their own event", async () => {
  await using s = new TestScope();
  const [a, b] = s.handle(socketpair());
  const before = fdEngine.pending;
  const buf = new Uint8Array(8);
  const read = a.read(buf);
  fill(a);
  let written = false;
  const write = a.write(new Uint8Array(1000).fill(9)).then((n) => (written = true, n));
  assert.equal(fdEngine.pending, before + 1, "one fd, two waits");
  await waitedOn(a.fd, EPOLLIN);
  await waitedOn(a.fd, EPOLLOUT);
  b.writeSync("x");
  assert.equal(await within(read, "the read"), 1);
  assert.equal(decoder.decode(buf.subarray(0, 1)), "x");
  // The write still waits, and the registration is armed for room alone.
  await waitedOn(a.fd, EPOLLOUT);
  assert.ok(!written);
  assert.ok(epollWatches(a.fd).every((w) => (w.events & EPOLLIN) === 0), "no wait for data left");
  const sink = new Uint8Array(1 << 16);
  // Draining makes room; the write's 1000 bytes then end the last read.
  while (!written) await within(b.read(sink), "a read of the peer");
  assert.equal(await write, 1000);
  assert.equal(fdEngine.pending, before);
});

Deno.test("timeouts reject with TimedOut", async (t) => {
  await t.step("read({ timeout })", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const before = fdEngine.pending;
    // Under emulation 20 ms can pass before the wait parks: it would time out without parking.
    const ms = EMULATED ? 2000 : 20;
    const read = p.reader.read(new Uint8Array(8), { timeout: ms });
    read.catch(() => {}); // checked below
    assert.equal(fdEngine.pending, before + 1);
    await assert.rejects(
      within(read, "read with timeout"),
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", "read", `after ${ms} ms`),
    );
    assert.equal(fdEngine.pending, before);
    assert.deepEqual(epollWatches(p.reader.fd), []);
  });

  await t.step("timeout 0 with nothing available", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    await assert.rejects(p.reader.read(new Uint8Array(8), { timeout: 0 }), Deno.errors.TimedOut);
  });

  await t.step("data in time wins over the timeout", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const read = p.reader.read(new Uint8Array(8), { timeout: 60_000 });
    p.writer.writeSync("on time");
    assert.equal(await within(read, "read"), 7);
  });

  await t.step("readSync({ timeout })", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    assert.throws(
      () => p.reader.readSync(new Uint8Array(8), { timeout: 20 }),
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", "read", "after 20 ms"),
    );
    assert.throws(() => p.reader.readSync(new Uint8Array(8), { timeout: 0 }), Deno.errors.TimedOut);
  });

  await t.step("write and writeSync to a full pipe", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    fill(p.writer);
    await assert.rejects(
      within(p.writer.write(new Uint8Array(10), { timeout: 20 }), "write with timeout"),
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", "write", "after 20 ms"),
    );
    assert.throws(
      () => p.writer.writeSync(new Uint8Array(10), { timeout: 20 }),
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", "write", "after 20 ms"),
    );
  });

  await t.step(
    "bad timeouts: RangeError (TypeError for a non-number) before any wait",
    async () => {
      await using s = new TestScope();
      const p = s.pipe();
      const before = fdEngine.pending;
      for (const timeout of [-1, NaN]) {
        await assert.rejects(p.reader.read(new Uint8Array(8), { timeout }), RangeError);
      }
      await assert.rejects(p.reader.read(new Uint8Array(8), { timeout: "5" as never }), TypeError);
      assert.equal(fdEngine.pending, before);
    },
  );
});

Deno.test("closing a handle rejects its pending waits with BadResource", async (t) => {
  await t.step("a pending read", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const before = fdEngine.pending;
    const read = p.reader.read(new Uint8Array(8));
    p.reader.close();
    await assert.rejects(
      within(read, "read on a closed reader"),
      systemError(Deno.errors.BadResource, "EBADF", "read"),
    );
    assert.equal(fdEngine.pending, before);
  });

  await t.step("a read waiting in epoll_wait", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const before = fdEngine.pending;
    const fd = p.reader.fd;
    const read = p.reader.read(new Uint8Array(8));
    await waitedOn(fd, EPOLLIN);
    p.reader.close();
    await assert.rejects(
      within(read, "read on a closed reader"),
      systemError(Deno.errors.BadResource, "EBADF", "read", { fd }),
    );
    assert.equal(fdEngine.pending, before);
  });

  await t.step("two pending reads on the same reader", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const reads = [p.reader.read(new Uint8Array(8)), p.reader.read(new Uint8Array(8))];
    p.reader.close();
    for (const r of reads) {
      await assert.rejects(within(r, "read on a closed reader"), Deno.errors.BadResource);
    }
  });

  await t.step("a pending write", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    fill(p.writer);
    const write = p.writer.write(new Uint8Array(10));
    p.writer.close();
    await assert.rejects(
      within(write, "write on a closed writer"),
      systemError(Deno.errors.BadResource, "EBADF", "write"),
    );
  });

  await t.step("closing the other end: a read sees end of file, a write BrokenPipe", async () => {
    await using s = new TestScope();
    const a = s.pipe();
    const read = a.reader.read(new Uint8Array(8));
    a.writer.close();
    assert.equal(await within(read, "read at end of file"), null);
    const b = s.pipe();
    fill(b.writer);
    const write = b.writer.write(new Uint8Array(10));
    b.reader.close();
    await assert.rejects(
      within(write, "write without reader"),
      systemError(Deno.errors.BrokenPipe, "EPIPE", "write"),
    );
  });
});

Deno.test("many fd waits hold one of Deno's pool threads", async (t) => {
  await t.step(
    "100 pending reads in one epoll_wait; Deno file operations still complete",
    async () => {
      await using s = new TestScope();
      const pipes = Array.from({ length: 100 }, () => s.pipe());
      const ac = new AbortController();
      const reads = pipes.map((p) => p.reader.read(new Uint8Array(8), { signal: ac.signal }));
      reads.forEach((r) => r.catch(() => {}));
      await waitedOn(pipes[99].reader.fd, EPOLLIN);
      oneEpollFor(pipes.map((p) => p.reader.fd));
      await otherWork(s);
      ac.abort();
      for (const r of reads) await assert.rejects(within(r, "aborted read"));
    },
  );
});

Deno.test("waits and their cleanup leave no descriptor behind", async () => {
  // Every test above checks this for what it made (TestScope): here a mix of
  // reads, writes, aborts, timeouts and closes on the same pipes.
  await using s = new TestScope();
  const before = fdEngine.pending;
  const pipes = Array.from({ length: 8 }, () => s.pipe());
  const ac = new AbortController();
  const ops: Promise<unknown>[] = [];
  for (const [i, p] of pipes.entries()) {
    ops.push(
      p.reader.read(new Uint8Array(4), i % 2 === 0 ? { signal: ac.signal } : { timeout: 10 }),
    );
  }
  ac.abort();
  for (const p of pipes.slice(0, 4)) p.reader.close();
  for (const p of pipes.slice(4)) ops.push(p.writer.write(encoder.encode("data")));
  const results = await within(Promise.allSettled(ops), "mixed waits");
  assert.equal(results.length, 12);
  assert.equal(fdEngine.pending, before);
  for (const p of pipes.slice(4)) assert.deepEqual(epollWatches(p.reader.fd), []);
});

Deno.test("an isolate that closed its handles gives back what its waits held (Workers)", async () => {
  // Nothing tells an isolate it ends: a Worker's epoll, eventfd and reserve descriptor stayed
  // open for good, three descriptors per Worker that had waited.
  const held = () =>
    [...openFds().values()].filter((t) =>
      t === "anon_inode:[eventpoll]" || t === "anon_inode:[eventfd]" || t === "/dev/null"
    ).length;
  // Deno opens an epoll and an eventfd of its own with the first Worker: counted after it.
  let baseline = 0;
  for (let i = 0; i < 4; i++) {
    if (i === 1) baseline = held();
    const worker = new Worker(fixtureUrl("engine_worker.ts"), { type: "module" });
    try {
      const report = new Promise<{ during: string[]; after: string[] }>((resolve) =>
        worker.onmessage = (e) => resolve(e.data)
      );
      worker.postMessage("go");
      const { during, after } = await within(report, "the Worker's report");
      assert.ok(during.includes("anon_inode:[eventpoll]"), `its waits opened an epoll: ${during}`);
      assert.deepEqual(after, [], "given back as its last handle closed");
    } finally {
      worker.terminate();
    }
  }
  // A terminated Worker's thread lets go of Deno's own descriptors a moment later; this
  // isolate's engine may have given back its own meanwhile.
  await until(() => held() <= baseline, "the process's descriptors back at baseline");
});

Deno.test("released(): a Worker that awaits it after closing its handles holds nothing", async (t) => {
  // A parked call returns on its pool thread a moment after the abort, and the epoll's wait
  // a moment after the close: a Worker terminated at once left their descriptors open, and
  // its futex wait asleep in the kernel, to take a wake-up meant for a live waiter.
  const asked = async (ask: Record<string, unknown>) => {
    const worker = new Worker(fixtureUrl("released_worker.ts"), { type: "module" });
    try {
      const report = new Promise<Record<string, Record<string, unknown>>>((resolve) =>
        worker.onmessage = (e) => resolve(e.data)
      );
      worker.postMessage({ ...ask, parks: !EMULATED });
      return await within(report, "the Worker's report");
    } finally {
      worker.terminate();
    }
  };
  const nothing = { engine: 0, reserve: false, threads: 0, futex: false };
  await t.step("a receive, a pipe read and a futex wait", async () => {
    await using s = new TestScope();
    const q = s.messageQueue("private");
    const { atClose, released } = await asked({ queue: q.id, pipe: true, futex: true });
    assert.equal(atClose.engine, 2, "its pipe read's epoll and eventfd, open as it closed");
    if (!EMULATED) assert.equal(atClose.threads, 1, "the receive, still parked as it closed");
    assert.deepEqual(released, nothing);
  });
  await t.step("a futex wait alone, on memory that owns no descriptor", async () => {
    const { atClose, released } = await asked({ futex: true });
    if (!EMULATED) assert.equal(atClose.futex, true, "its shared call, still parked");
    assert.deepEqual(released, nothing);
  });
});

Deno.test("a loop of operations done at once gives the event loop its turns", async (t) => {
  // Each resolved as a microtask: against a peer that always had data (or room), timers,
  // signal listeners and Deno's own I/O waited as long as the loop ran, seconds.
  for (const kind of ["read", "write"] as const) {
    await t.step(`${kind}s that never wait`, async () => {
      using s = new TestScope();
      const p = s.pipe();
      if (kind === "read") p.writer.writeSync(new Uint8Array(16_384));
      let timerRan = false;
      setTimeout(() => timerRan = true, 0);
      const one = new Uint8Array(1);
      let i = 0;
      // 16 384 system calls: far longer than a turn's worth of time on any machine.
      for (; i < 16_384 && !timerRan; i++) {
        if (kind === "read") await p.reader.read(one);
        else await p.writer.write(one);
      }
      assert.ok(timerRan, `the timer ran during the loop (it stopped after ${i} of 16 384)`);
    });
  }
  await t.step(
    "the turn comes whichever result is awaited, and results keep call order",
    async () => {
      // The turn went to one result in 32: a loop that awaited a read and left a write's
      // promise alone never yielded (the write got every turn), and results came out of order.
      using s = new TestScope();
      const p = s.pipe();
      p.writer.writeSync(new Uint8Array(16_384));
      let timerRan = false;
      setTimeout(() => timerRan = true, 0);
      const one = new Uint8Array(1);
      const order: number[] = [];
      const writes: Promise<unknown>[] = [];
      let i = 0;
      for (; i < 16_384 && !timerRan; i++) {
        await p.reader.read(one);
        const n = i;
        writes.push(p.writer.write(one).then(() => order.push(n)));
      }
      assert.ok(timerRan, `the timer ran during the loop (it stopped after ${i} of 16 384)`);
      await Promise.all(writes);
      assert.deepEqual(order, order.toSorted((a, b) => a - b), "writes resolved in call order");
    },
  );
  await t.step("failures done at once too, in call order with the results", async () => {
    // Errors thrown before a wait (a closed handle, a message too large) rejected at once.
    using s = new TestScope();
    const q = s.messageQueue();
    const closed = MessageQueue.fromId(q.id);
    closed.close();
    let timerRan = false;
    setTimeout(() => timerRan = true, 0);
    let i = 0;
    for (; i < 16_384 && !timerRan; i++) await closed.send("x").catch(() => {});
    assert.ok(timerRan, `the timer ran during the loop (it stopped after ${i} of 16 384)`);
    const order: string[] = [];
    const calls: Promise<unknown>[] = [];
    const blockFor = (ms: number) =>
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    blockFor(5); // no turn for a while: the next calls owe one
    for (let n = 0; n < 40; n++) {
      calls.push(q.send("x").then(() => order.push(`send ${n}`)));
      calls.push(closed.send("x").catch(() => order.push(`fail ${n}`)));
    }
    await Promise.all(calls);
    const expected = Array.from({ length: 40 }, (_, n) => [`send ${n}`, `fail ${n}`]).flat();
    assert.deepEqual(order, expected);
  });
  await t.step("a test's fake clock never holds a result done at once", async () => {
    // A turn asked of a setTimeout or setImmediate that a test faked (as @std/testing's
    // FakeTime and sinon's fake timers do) never came: every later result waited for good.
    using s = new TestScope();
    const p = s.pipe();
    const real = globalThis.setTimeout;
    const realImmediate = globalThis.setImmediate;
    globalThis.setTimeout = ((() => 0) as unknown) as typeof setTimeout;
    globalThis.setImmediate = ((() => 0) as unknown) as typeof setImmediate;
    let i = 0;
    const loop = (async () => {
      const one = new Uint8Array(1);
      for (; i < 20_000; i++) {
        await p.writer.write(one);
        await p.reader.read(one);
      }
    })();
    let guard: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        loop,
        new Promise((_, reject) => {
          guard = real(() => reject(new Error(`hung at ${i} of 20 000`)), HANG_MS);
        }),
      ]);
    } finally {
      clearTimeout(guard);
      globalThis.setTimeout = real;
      globalThis.setImmediate = realImmediate;
    }
  });
  await t.step("a POSIX semaphore's waits done at once too", async () => {
    using s = new TestScope();
    const sem = s.handle(
      PosixSemaphore.open(s.semName(), { create: true, exclusive: true, value: 1_000_000 }),
    );
    let timerRan = false;
    setTimeout(() => timerRan = true, 0);
    let i = 0;
    // A million: a wait done at once takes no system call, tens of ns.
    for (; i < 1_000_000 && !timerRan; i++) await sem.wait();
    assert.ok(timerRan, `the timer ran during the loop (it stopped after ${i} of 1 000 000)`);
  });
});

Deno.test("a turn owed while every pool thread is busy still comes", async () => {
  // It was the return of a call made on a pool thread alone: with Deno's 32 threads held (by
  // FIFO opens of Deno's own here), every later result done at once waited for a thread.
  await using s = new TestScope();
  const dir = await s.tempDir();
  await evalInChild(
    s,
    `
    import assert from "node:assert/strict";
    import { Fifo, pipe } from "${MOD_URL}";
    const opens = [];
    for (let i = 0; i < 32; i++) {
      Fifo.create("${dir}/f" + i);
      opens.push(Deno.open("${dir}/f" + i, { read: true })); // blocks a pool thread
    }
    using p = pipe();
    const one = new Uint8Array(1);
    const start = performance.now();
    for (let i = 0; i < 20_000 && performance.now() - start < 500; i++) {
      await p.writer.write(one);
      await p.reader.read(one);
    }
    // Let the opens go: a writer for each.
    const writers = [];
    for (let i = 0; i < 32; i++) writers.push(Fifo.tryOpen("${dir}/f" + i, "write"));
    for (const f of await Promise.all(opens)) f.close();
    for (const w of writers) w.close();
    `,
  );
});
