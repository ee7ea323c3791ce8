/**
 * The parked-call source of the waiting engine (src/_wait/call.ts), through
 * System V queues: an async wait parks the `msgrcv`/`msgsnd` itself on a pool
 * thread (at most CALL_BUDGET at once), a nudge ends it, waits beyond the
 * budget poll and take a thread as soon as one frees. Every check of "parked"
 * reads the kernel's view: which threads of this process are blocked in which
 * system call (/proc/self/task/<tid>/syscall).
 */
import assert from "node:assert/strict";
import {
  type Message,
  MessageQueue,
  pipe,
  SemaphoreSet,
  spawn,
  spawnProgram,
  type SystemError,
} from "../mod.ts";
import { C } from "../ffi/platform.ts";
import { CALL_BUDGET, threadsHeld } from "../src/_wait/budget.ts";
import { useNudges } from "../src/_wait/nudge.ts";
import { dueAfter, POLL_IDLE_AFTER_MS, POLL_IDLE_MS, polling } from "../src/_wait/poll.ts";
import { assertKeptIntact } from "./_kept.ts";
import {
  CANNOT,
  EMULATED,
  evalInChild,
  MOD_URL,
  ownWaitPending,
  TestScope,
  threadsBlockedIn,
  unless,
  until,
  within,
} from "./_kernel.ts";

const fixture = new URL("./fixtures/wait_call_peer.ts", import.meta.url);
const text = (m: Message) => new TextDecoder().decode(m.data);

/** How many threads of this process are asleep in `syscall` on the queue `id`. */
const blocked = (syscall: "msgrcv" | "msgsnd", id: number) =>
  threadsBlockedIn(Deno.pid, { syscall, arg0: id }).length;

const parkedOn = (q: MessageQueue) => () => blocked("msgrcv", q.id) === 1;

/** Private queues removed at the end of the test, whatever happens. */
class Queues implements Disposable {
  #all: MessageQueue[] = [];
  open(): MessageQueue {
    const q = MessageQueue.open("private");
    this.#all.push(q);
    return q;
  }
  [Symbol.dispose](): void {
    for (const q of this.#all) {
      try {
        MessageQueue.fromId(q.id).remove();
      } catch {
        // removed by the test itself
      }
    }
  }
}

/** Runs the peer fixture and checks it succeeded, showing its stderr when not. */
async function peer(...args: string[]): Promise<void> {
  const child = spawn(fixture, { args });
  const status = await within(child.status, `peer ${args.join(" ")}`);
  assert.ok(status.success, `peer ${args.join(" ")} failed: ${JSON.stringify(status)}`);
}

Deno.test("a parked System V receive", async (t) => {
  await t.step(
    unless(
      CANNOT.parking,
      "parks the msgrcv on a pool thread and wakes with a message from another process",
      async () => {
        using qs = new Queues();
        const q = qs.open();
        const got = q.receive();
        await until(parkedOn(q), "a thread is blocked in msgrcv on the queue");
        assert.equal(threadsHeld(), 1);
        await peer("send", String(q.id), "from the peer");
        assert.equal(text(await within(got, "receive")), "from the peer");
        await until(() => threadsHeld() === 0, "the thread is given back");
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.parking,
      "the messages parked receives take stay intact among the others, across slabs",
      async () => {
        using qs = new Queues();
        const q = qs.open();
        const kept: Uint8Array<ArrayBuffer>[] = [];
        // 3 KiB messages: several of the 64 KiB slabs they land in (see src/_landing.ts).
        const sizeOf = (i: number) => 3000 + i;
        for (let i = 0; i < 48; i++) {
          const message = new Uint8Array(sizeOf(i)).fill(i & 255);
          let m: Message;
          if (i % 2 === 0) {
            const got = q.receive();
            await until(parkedOn(q), `receive ${i} is parked`);
            q.sendSync(message, { type: 1 + i });
            m = await within(got, `parked receive ${i}`);
          } else {
            q.sendSync(message, { type: 1 + i });
            m = await q.receive();
          }
          assert.equal(m.type, 1 + i);
          kept.push(m.data);
        }
        assertKeptIntact(kept, sizeOf);
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.parking,
      "an abort ends it with the signal's reason and frees the thread",
      async () => {
        using qs = new Queues();
        const q = qs.open();
        const ac = new AbortController();
        const got = q.receive({ signal: ac.signal });
        await until(parkedOn(q), "the receive is parked");
        const reason = new Error("stop");
        ac.abort(reason);
        await assert.rejects(within(got, "aborted receive"), (e) => e === reason);
        await until(() => blocked("msgrcv", q.id) === 0, "no thread is in msgrcv any more");
        assert.equal(threadsHeld(), 0);
        // Nothing was taken: a message sent now is there for the next receive.
        q.sendSync("later");
        assert.equal(text(q.tryReceive()), "later");
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.parking,
      "a message taken as the abort comes is delivered, never lost",
      async () => {
        using qs = new Queues();
        const q = qs.open();
        for (let i = 0; i < 20; i++) {
          const ac = new AbortController();
          const got = q.receive({ signal: ac.signal });
          await until(parkedOn(q), "the receive is parked");
          // msgsnd hands the message to the sleeping receiver at once; the abort races its return.
          q.sendSync(`#${i}`);
          ac.abort();
          const outcome = await within(got.then(text, () => null), "receive");
          if (outcome === null) {
            assert.equal(text(q.tryReceive()), `#${i}`);
          } else assert.equal(outcome, `#${i}`);
          assert.equal(q.stat().messages, 0);
        }
      },
    ),
  );

  await t.step("a timeout ends it with TimedOut naming the queue", async () => {
    using qs = new Queues();
    const q = qs.open();
    await assert.rejects(q.receive({ timeout: 30 }), (e: unknown) => {
      assert.ok(e instanceof Deno.errors.TimedOut);
      assert.deepEqual(
        [
          (e as { code?: string }).code,
          (e as { syscall?: string }).syscall,
          (e as { id?: number }).id,
        ],
        ["ETIMEDOUT", "msgrcv", q.id],
      );
      return true;
    });
    await until(() => threadsHeld() === 0, "the thread is given back");
  });

  await t.step(
    unless(
      CANNOT.parking,
      "close() rejects each pending wait with an error of its own (EBADF, the id)",
      async () => {
        using qs = new Queues();
        const q = qs.open();
        const waits = [q.receive(), q.receive({ type: 2 }), q.receive({ timeout: 60_000 })];
        // The first and third share one parked call (same selection); the second parks its own.
        await until(() => blocked("msgrcv", q.id) === 2, "the receives are parked");
        q.close();
        const errors = await Promise.all(waits.map((w) => w.then(() => null, (e) => e)));
        for (const e of errors) {
          assert.ok(e instanceof Deno.errors.BadResource);
          const { code, errno, syscall, id } = e as SystemError;
          assert.deepEqual([code, errno, syscall, id], ["EBADF", 9, "msgrcv", q.id]);
        }
        assert.equal(new Set(errors).size, 3);
        await until(() => blocked("msgrcv", q.id) === 0, "no thread is left in msgrcv");
      },
    ),
  );

  await t.step(
    unless(CANNOT.parking, "removing the queue elsewhere wakes it at once with EIDRM", async () => {
      using qs = new Queues();
      const q = qs.open();
      const got = q.receive();
      got.catch(() => {}); // it rejects while the peer runs; judged below
      await until(parkedOn(q), "the receive is parked");
      await peer("remove", String(q.id));
      await assert.rejects(within(got, "receive on a removed queue"), { code: "EIDRM", id: q.id });
    }),
  );

  await t.step(unless(CANNOT.parking, "a parked send waits for room, and gets it", async () => {
    using qs = new Queues();
    const q = qs.open();
    q.setMaxBytes(4);
    q.sendSync("full");
    const sent = q.send("next");
    await until(() => blocked("msgsnd", q.id) === 1, "the send is parked in msgsnd");
    assert.equal(text(q.tryReceive()), "full");
    await within(sent, "parked send");
    assert.equal(text(q.tryReceive()), "next");
  }));
});

Deno.test("the budget of parked calls", async (t) => {
  await t.step(
    unless(
      CANNOT.parking,
      "receives of one queue and selection share one parked call",
      async () => {
        using qs = new Queues();
        const q = qs.open();
        const ac = new AbortController();
        const waits = Array.from({ length: 10 }, () => q.receive({ signal: ac.signal }).then(text));
        await until(parkedOn(q), "one receive is parked");
        assert.equal(threadsHeld(), 1);
        // A receive of another type is another line: it parks too.
        const other = q.receive({ type: 2, signal: ac.signal }).then(text);
        await until(() => blocked("msgrcv", q.id) === 2, "the other selection parks");
        for (let i = 0; i < 10; i++) q.sendSync(`m${i}`);
        const got = await within(Promise.all(waits), "ten receives");
        assert.deepEqual(got.toSorted(), Array.from({ length: 10 }, (_, i) => `m${i}`).toSorted());
        q.sendSync("two", { type: 2 });
        assert.equal(await within(other, "type 2"), "two");
        await until(() => threadsHeld() === 0, "the threads are given back");
        ac.abort();
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.parking,
      "when the parked one is aborted, a follower parks in its place",
      async () => {
        using qs = new Queues();
        const q = qs.open();
        const first = new AbortController();
        const head = q.receive({ signal: first.signal });
        head.catch(() => {});
        await until(parkedOn(q), "the first receive is parked");
        const follower = q.receive();
        first.abort();
        await assert.rejects(head);
        await until(parkedOn(q), "the follower parks");
        q.sendSync("to the follower");
        assert.equal(text(await within(follower, "follower")), "to the follower");
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.parking,
      `at most ${CALL_BUDGET} park; more poll and still get their messages`,
      async () => {
        using qs = new Queues();
        const idle = Array.from({ length: CALL_BUDGET }, () => qs.open());
        const ac = new AbortController();
        const stuck = idle.map((q) => q.receive({ signal: ac.signal }).catch(() => {}));
        await until(() => idle.every((q) => parkedOn(q)()), `${CALL_BUDGET} receives are parked`);
        assert.equal(threadsHeld(), CALL_BUDGET);
        // A wait beyond the budget never queues behind the parked ones, which may wait forever.
        const busy = qs.open();
        const got = busy.receive();
        await new Promise((r) => setTimeout(r, 5));
        assert.equal(blocked("msgrcv", busy.id), 0);
        busy.sendSync("polled");
        assert.equal(text(await within(got, "receive beyond the budget")), "polled");
        ac.abort();
        await Promise.all(stuck);
        await until(() => threadsHeld() === 0, "every thread is given back");
      },
    ),
  );

  await t.step(
    unless(CANNOT.parking, "a polling wait takes a thread as soon as one frees", async () => {
      using qs = new Queues();
      const idle = Array.from({ length: CALL_BUDGET }, () => qs.open());
      const ac = new AbortController();
      const stuck = idle.map((q) => q.receive({ signal: ac.signal }).then(text, () => null));
      await until(() => threadsHeld() === CALL_BUDGET, "the budget is full");
      const late = qs.open();
      const got = late.receive();
      idle[0].sendSync("frees a thread");
      await until(parkedOn(late), "the polling receive parks in the freed thread");
      late.sendSync("parked at last");
      assert.equal(text(await within(got, "late receive")), "parked at last");
      ac.abort();
      assert.deepEqual(
        await Promise.all(stuck),
        ["frees a thread", null, null, null].slice(0, CALL_BUDGET),
      );
    }),
  );

  await t.step(
    unless(
      CANNOT.parking,
      "Deno.readTextFile completes while the budget is full and 100 more waits poll",
      async () => {
        using qs = new Queues();
        const ac = new AbortController();
        const queues = Array.from({ length: CALL_BUDGET + 100 }, () => qs.open());
        const waits = queues.map((q) => q.receive({ signal: ac.signal }).catch(() => {}));
        await until(() => threadsHeld() === CALL_BUDGET, "the budget is full");
        const self = await within(Deno.readTextFile(new URL(import.meta.url)), "Deno.readTextFile");
        assert.match(self, /readTextFile completes/);
        ac.abort();
        await Promise.all(waits);
      },
    ),
  );

  await t.step(
    "without nudges (no /proc/self/task), waits poll and still cancel at once",
    async () => {
      useNudges(false);
      try {
        using qs = new Queues();
        const q = qs.open();
        const ac = new AbortController();
        const got = q.receive({ signal: ac.signal });
        await new Promise((r) => setTimeout(r, 5));
        assert.equal(blocked("msgrcv", q.id), 0);
        assert.equal(threadsHeld(), 0);
        ac.abort("stop");
        await assert.rejects(within(got, "aborted polling receive"), (e) => e === "stop");
        const next = q.receive();
        q.sendSync("polled");
        assert.equal(text(await within(next, "polling receive")), "polled");
      } finally {
        useNudges(true);
      }
    },
  );
});

Deno.test("a polling wait's next try is the first tick of its grid after now: it lags at most its interval", () => {
  // It was the first tick after now + interval: up to twice the lag the README gives.
  for (const interval of [1, 2, 10, POLL_IDLE_MS]) {
    for (const now of [0, 0.5, interval - 0.001, interval, 1234.567, 1e6 + 0.1]) {
      const due = dueAfter(now, interval);
      assert.ok(due > now && due - now <= interval, `${now} + ${interval}: ${due}`);
      assert.equal(due % interval, 0, `${now} + ${interval}: ${due} is on the grid`);
    }
  }
});

Deno.test("polling waits on one object: each still gets its own, from one look per tick", async (t) => {
  // Without nudges every wait polls; the poll clock looks once per tick at the queue's message
  // count or the set's values, and tries only the waits that look able to succeed.
  useNudges(false);
  try {
    await t.step("20 receives of distinct types on one queue", async () => {
      using qs = new Queues();
      const q = qs.open();
      const waits = Array.from({ length: 20 }, (_, i) => q.receive({ type: i + 1 }).then(text));
      q.sendSync("seven", { type: 7 });
      assert.equal(await within(waits[6], "the type 7 receive"), "seven");
      // The rest are left to poll long enough to reach their longest interval.
      await new Promise((r) => setTimeout(r, POLL_IDLE_AFTER_MS + POLL_IDLE_MS));
      for (let type = 20; type >= 1; type--) if (type !== 7) q.sendSync(`t${type}`, { type });
      const got = await within(Promise.all(waits), "every receive");
      assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i === 6 ? "seven" : `t${i + 1}`));
      assert.equal(q.stat().messages, 0);
    });

    await t.step("ops on the members of one set, one of them two operations at once", async () => {
      const set = SemaphoreSet.open("private", { count: 6 });
      try {
        const done: number[] = [];
        const waits = [1, 2, 3, 4].map((i) =>
          set.op([{ index: i, delta: -1 }]).then(() => done.push(i))
        );
        // Through only when member 5 is 1 and member 0 is 0, at once.
        set.setValue(0, 1);
        const pair = set.op([{ index: 5, delta: -1 }, { index: 0, delta: 0 }]).then(() =>
          done.push(5)
        );
        await new Promise((r) => setTimeout(r, POLL_IDLE_AFTER_MS + POLL_IDLE_MS));
        set.setValue(3, 1);
        await within(waits[2], "the op on member 3");
        set.setValue(5, 1);
        set.setValues([0, 1, 1, 0, 1, 1]);
        await within(Promise.all([...waits, pair]), "every op");
        assert.deepEqual(done.toSorted(), [1, 2, 3, 4, 5]);
        assert.deepEqual(set.values(), [0, 0, 0, 0, 0, 0]);
      } finally {
        set.remove();
      }
    });
  } finally {
    useNudges(true);
  }
});

Deno.test("a process started with the nudge signal blocked polls instead, and still times out", async () => {
  const out = pipe();
  const child = spawn(new URL("./fixtures/wait_call_blocked.ts", import.meta.url), {
    blockSignals: [C.SIGRTMAX],
    fds: { 1: out.writer },
  });
  out.writer.close();
  const text = await within(new Response(out.reader.readable).text(), "the child's report");
  assert.ok((await within(child.status, "child")).success);
  assert.deepEqual(JSON.parse(text), { held: 0, outcome: "TimedOut" });
});

Deno.test({
  name: "calls parked before the process changed its user still end at an abort or timeout",
  // A process that changes its user id is no longer dumpable: it can no longer read
  // /proc/self/task/*/syscall (root's, mode 0400 then), where a nudge finds a parked call.
  // Under qemu-user calls never park (the kernel names the host's calls): nothing to end.
  ignore: Deno.uid() !== 0 || EMULATED,
  fn: async () => {
    await using s = new TestScope();
    const q = s.messageQueue("private", { mode: 0o666 });
    const set = s.semaphoreSet(SemaphoreSet.open("private", { count: 1, mode: 0o666 }));
    await evalInChild(
      s,
      `
      import assert from "node:assert/strict";
      import { MessageQueue, SemaphoreSet } from "${MOD_URL}";
      import { threadsHeld } from "${new URL("../src/_wait/budget.ts", import.meta.url).href}";
      import { dropTo } from "${new URL("./_kernel.ts", import.meta.url).href}";
      const q = MessageQueue.fromId(${q.id});
      const set = SemaphoreSet.fromId(${set.id});
      const ac = new AbortController();
      const receive = q.receive({ signal: ac.signal });
      const take = set.op([{ index: 0, delta: -1 }], { timeout: 200 });
      for (const end = performance.now() + 10_000; threadsHeld() < 2;) {
        assert.ok(performance.now() < end, "hang guard: the two calls never parked");
        await new Promise((r) => setTimeout(r, 1));
      }
      dropTo(65534);
      ac.abort(new Error("stop"));
      await assert.rejects(receive, /stop/);
      await assert.rejects(take, Deno.errors.TimedOut);
      assert.equal(threadsHeld(), 0, "both calls returned");
      // Later waits poll, and still take what comes.
      const later = q.receive({ timeout: 10_000 });
      q.sendSync("kept");
      assert.equal(new TextDecoder().decode((await later).data), "kept");
      await assert.rejects(set.op([{ index: 0, delta: -1 }], { timeout: 50 }), Deno.errors.TimedOut);
      `,
    );
  },
});

Deno.test("timeouts of any size, sync and async", async (t) => {
  await t.step(
    "timeout: Infinity and timeouts of 2^31 ms or more wait until the message",
    async () => {
      using qs = new Queues();
      const q = qs.open();
      for (const timeout of [Infinity, 2 ** 31, 2 ** 31 + 5, 1e12]) {
        const got = q.receive({ timeout });
        // A timeout that overflowed setTimeout would fire within a few ms.
        await ownWaitPending({ syscall: "msgrcv", arg0: q.id });
        await new Promise((r) => setTimeout(r, 10));
        q.sendSync(`t=${timeout}`);
        assert.equal(text(await within(got, `receive({ timeout: ${timeout} })`)), `t=${timeout}`);
      }
    },
  );

  await t.step("receiveSync({ timeout }) and sendSync({ timeout }) end with TimedOut", () => {
    using qs = new Queues();
    const q = qs.open();
    assert.throws(() => q.receiveSync({ timeout: 20 }), { name: "TimedOut", code: "ETIMEDOUT" });
    q.setMaxBytes(1);
    q.sendSync("x");
    assert.throws(() => q.sendSync("y", { timeout: 20 }), {
      name: "TimedOut",
      code: "ETIMEDOUT",
      syscall: "msgsnd",
    });
    assert.equal(q.stat().messages, 1);
  });

  await t.step(
    "receiveSync with huge timeouts returns the message a peer sends later",
    async () => {
      using qs = new Queues();
      const q = qs.open();
      for (const timeout of [Infinity, 2 ** 31 + 5, 1e22, Number.MAX_VALUE]) {
        // The peer starts now and sends while this thread blocks in msgrcv.
        const child = spawn(fixture, { args: ["send", String(q.id), `sync ${timeout}`] });
        assert.equal(text(q.receiveSync({ timeout })), `sync ${timeout}`);
        assert.ok((await child.status).success);
      }
    },
  );
});

Deno.test("started with the alarm's signal blocked, sync timeouts poll and still end", async () => {
  // A parent may start this process with any signal blocked: SIGRTMAX-1 ends the
  // sync forms' blocking calls at their deadline, and without it they wait by polling.
  const code = `
    import assert from "node:assert/strict";
    import { MessageQueue, pipe } from "${MOD_URL}";
    const p = pipe();
    const q = MessageQueue.open("private");
    try {
      assert.throws(() => p.reader.readSync(new Uint8Array(1), { timeout: 50 }), Deno.errors.TimedOut);
      assert.throws(() => q.receiveSync({ timeout: 50 }), Deno.errors.TimedOut);
    } finally {
      q.remove();
      p[Symbol.dispose]();
    }
  `;
  const err = pipe();
  const child = spawnProgram(Deno.execPath(), ["eval", "--ext=ts", code], {
    blockSignals: ["SIGRTMAX-1"],
    fds: { 2: err.writer },
  });
  err.writer.close();
  try {
    const stderr = await within(new Response(err.reader.readable).text(), "the child's stderr");
    assert.equal((await within(child.status, "the child to end")).code, 0, stderr);
  } finally {
    err.reader.close();
  }
});

Deno.test({
  name: "waits that polled leave no timer behind once they end (deno test's op sanitizer)",
  sanitizeOps: true,
  sanitizeResources: false, // the first use of a table of libc functions opens it
  async fn() {
    // The poll clock's timer stayed scheduled after the last polling wait ended: a test
    // that used the library failed the sanitizer, and so did the next one.
    const q = MessageQueue.open("private");
    // Of distinct types: receives of one selection share a parked call. Those beyond the
    // budget poll the clock (all of them, where no call can park).
    const receives = Array.from({ length: CALL_BUDGET + 2 }, (_, i) => q.receive({ type: i + 1 }));
    try {
      await until(() => polling().waits >= 2, "receives beyond the budget to poll the clock");
      for (let i = 0; i < receives.length; i++) q.sendSync(`#${i}`, { type: i + 1 });
      // Every parked call has returned with its message by now: they are what resolved these.
      assert.equal((await Promise.all(receives)).length, CALL_BUDGET + 2);
      assert.deepEqual(polling(), { waits: 0, timer: false });
    } finally {
      q.remove();
      await Promise.allSettled(receives);
    }
  },
});
