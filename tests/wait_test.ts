import assert from "node:assert/strict";
import { spawn } from "../mod.ts";
import { fdEngine, PARK_BUDGET, parked } from "../src/_wait.ts";
import { rawPipe, runCollect, TestScope, within } from "./_helpers.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Blocking calls of our own for parked(): a read that waits on a pool thread.
const lib = Deno.dlopen("libc.so.6", {
  read_parked: {
    name: "read",
    parameters: ["i32", "buffer", "u32"],
    result: "i32",
    nonblocking: true,
  },
  write: { parameters: ["i32", "buffer", "u32"], result: "i32" },
});

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

Deno.test("200 pending reads on 200 pipes wait together", async (t) => {
  await using s = new TestScope();
  const before = fdEngine.pending;
  const pipes = Array.from({ length: 200 }, () => s.pipe());
  const bufs = pipes.map(() => new Uint8Array(64));
  const reads = pipes.map((p, i) => p.reader.read(bufs[i]));
  reads.forEach((r) => r.catch(() => {})); // settled below, or rejected by cleanup on failure

  await t.step("all 200 are pending", () => {
    assert.equal(fdEngine.pending, before + 200);
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
    const reason = new Error("stop");
    ac.abort(reason);
    await assert.rejects(within(read, "aborted read"), (e) => e === reason);
    assert.equal(fdEngine.pending, before);
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
    ac.abort();
    await assert.rejects(within(a, "aborted read"));
    assert.equal(fdEngine.pending, before + 1);
    p.writer.writeSync("b");
    assert.equal(await within(b, "other read"), 1);
    assert.equal(decoder.decode(bufB.subarray(0, 1)), "b");
    assert.equal(fdEngine.pending, before);
  });

  await t.step("an abort after completion changes nothing", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const ac = new AbortController();
    const read = p.reader.read(new Uint8Array(8), { signal: ac.signal });
    p.writer.writeSync("abc");
    assert.equal(await within(read, "read"), 3);
    ac.abort();
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
      const { status, stdout } = await runCollect((w) =>
        spawn(fixture("wait_abort_exit.ts"), { args: [mode], fds: { 1: w } })
      );
      assert.deepEqual(status, { success: true, code: 0, signal: null }, stdout);
      const how = {
        abort: "Error: stop",
        timeout: "TimedOut: ",
        close: "BadResource: ",
        write: "Error: stop",
      }[mode];
      const lines = stdout.trimEnd().split("\n");
      assert.equal(lines.length, 2, stdout);
      assert.ok(lines[0].startsWith(`rejected ${how}`), stdout);
      assert.equal(lines[1], "pending 0 1 0");
    });
  }
});

Deno.test("timeouts reject with TimedOut", async (t) => {
  await t.step("read({ timeout })", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const before = fdEngine.pending;
    const read = p.reader.read(new Uint8Array(8), { timeout: 20 });
    assert.equal(fdEngine.pending, before + 1);
    await assert.rejects(within(read, "read with timeout"), Deno.errors.TimedOut);
    assert.equal(fdEngine.pending, before);
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
      Deno.errors.TimedOut,
    );
    assert.throws(() => p.reader.readSync(new Uint8Array(8), { timeout: 0 }), Deno.errors.TimedOut);
  });

  await t.step("write and writeSync to a full pipe", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    fill(p.writer);
    await assert.rejects(
      within(p.writer.write(new Uint8Array(10), { timeout: 20 }), "write with timeout"),
      Deno.errors.TimedOut,
    );
    assert.throws(
      () => p.writer.writeSync(new Uint8Array(10), { timeout: 20 }),
      Deno.errors.TimedOut,
    );
  });

  await t.step("bad timeouts: RangeError before any wait", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const before = fdEngine.pending;
    for (const timeout of [-1, NaN, "5" as unknown as number]) {
      await assert.rejects(p.reader.read(new Uint8Array(8), { timeout }), RangeError);
    }
    assert.equal(fdEngine.pending, before);
  });
});

Deno.test("closing a handle rejects its pending waits with BadResource", async (t) => {
  await t.step("a pending read", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const before = fdEngine.pending;
    const read = p.reader.read(new Uint8Array(8));
    p.reader.close();
    await assert.rejects(within(read, "read on a closed reader"), Deno.errors.BadResource);
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
    await assert.rejects(within(write, "write on a closed writer"), Deno.errors.BadResource);
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
    await assert.rejects(within(write, "write without reader"), Deno.errors.BrokenPipe);
  });
});

Deno.test("the budget: many waits hold few of Deno's pool threads", async (t) => {
  await t.step("100 pending reads; Deno file operations still complete", async () => {
    await using s = new TestScope();
    const pipes = Array.from({ length: 100 }, () => s.pipe());
    const ac = new AbortController();
    const reads = pipes.map((p) => p.reader.read(new Uint8Array(8), { signal: ac.signal }));
    await otherWork(s);
    ac.abort();
    for (const r of reads) await assert.rejects(within(r, "aborted read"));
  });

  await t.step(
    `parked(): 40 blocking calls run at most ${PARK_BUDGET} at once, the rest queue`,
    async () => {
      await using s = new TestScope();
      const ends = Array.from({ length: 40 }, () => rawPipe().map((fd) => s.fd(fd)));
      let running = 0;
      let most = 0;
      const one = new Uint8Array([1]);
      const calls = ends.map(([r, w]) => {
        const buf = new Uint8Array(1);
        return parked(
          () => {
            most = Math.max(most, ++running);
            return lib.symbols.read_parked(r, buf, 1).finally(() => running--);
          },
          () => lib.symbols.write(w, one, 1),
          () => {},
          undefined,
        );
      });
      calls.forEach((c) => c.catch(() => {}));
      assert.equal(running, PARK_BUDGET);
      // 40 blocking reads on Deno's 32 pool threads would stall this.
      await otherWork(s);
      for (const [, w] of ends) lib.symbols.write(w, one, 1);
      assert.deepEqual(await within(Promise.all(calls), "40 parked calls"), ends.map(() => 1));
      assert.equal(most, PARK_BUDGET);
      assert.equal(running, 0);
    },
  );

  await t.step("parked(): an abort cancels a running call and a queued one", async () => {
    await using s = new TestScope();
    const ends = Array.from({ length: PARK_BUDGET + 1 }, () => rawPipe().map((fd) => s.fd(fd)));
    const started: number[] = [];
    const released: number[] = [];
    const one = new Uint8Array([1]);
    const acs = ends.map(() => new AbortController());
    const calls = ends.map(([r, w], i) =>
      parked(
        () => {
          started.push(i);
          return lib.symbols.read_parked(r, new Uint8Array(1), 1);
        },
        () => lib.symbols.write(w, one, 1),
        (n) => released.push(n),
        { signal: acs[i].signal },
      )
    );
    calls.forEach((c) => c.catch(() => {}));
    const queued = PARK_BUDGET;
    assert.ok(!started.includes(queued));
    const reason = new Error("cancelled");
    acs[queued].abort(reason);
    await assert.rejects(within(calls[queued], "queued call"), (e) => e === reason);
    acs[0].abort(reason);
    await assert.rejects(within(calls[0], "running call"), (e) => e === reason);
    // The cancel made the read return 1 byte: release() got that result.
    assert.deepEqual(released, [1]);
    for (let i = 1; i < PARK_BUDGET; i++) lib.symbols.write(ends[i][1], one, 1);
    for (let i = 1; i < PARK_BUDGET; i++) assert.equal(await within(calls[i], "parked call"), 1);
    assert.ok(!started.includes(queued), "the aborted queued call never ran");
  });

  await t.step("parked(): a timeout cancels the call", async () => {
    await using s = new TestScope();
    const [r, w] = rawPipe().map((fd) => s.fd(fd));
    const one = new Uint8Array([1]);
    const call = parked(
      () => lib.symbols.read_parked(r, new Uint8Array(1), 1),
      () => lib.symbols.write(w, one, 1),
      () => {},
      { timeout: 20 },
    );
    await assert.rejects(within(call, "parked call with timeout"), Deno.errors.TimedOut);
  });

  await t.step("parked(): a timeout counts the time spent in the queue", async () => {
    await using s = new TestScope();
    const ends = Array.from({ length: PARK_BUDGET + 1 }, () => rawPipe().map((fd) => s.fd(fd)));
    const one = new Uint8Array([1]);
    const started: number[] = [];
    const calls = ends.map(([r, w], i) =>
      parked(
        () => {
          started.push(i);
          return lib.symbols.read_parked(r, new Uint8Array(1), 1);
        },
        () => lib.symbols.write(w, one, 1),
        () => {},
        i === PARK_BUDGET ? { timeout: 20 } : undefined,
      )
    );
    calls.forEach((c) => c.catch(() => {}));
    await assert.rejects(within(calls[PARK_BUDGET], "queued call"), Deno.errors.TimedOut);
    for (let i = 0; i < PARK_BUDGET; i++) lib.symbols.write(ends[i][1], one, 1);
    for (let i = 0; i < PARK_BUDGET; i++) assert.equal(await within(calls[i], "parked call"), 1);
    assert.ok(!started.includes(PARK_BUDGET), "the queued call never ran");
  });
});

Deno.test("waits and their cleanup leave no descriptor behind", async () => {
  // Every test above checks this for what it made (TestScope): here a mix of
  // reads, writes, aborts, timeouts and closes on the same pipes.
  await using s = new TestScope();
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
  await within(Promise.allSettled(ops), "mixed waits");
  assert.equal(fdEngine.pending, 0);
});
