import assert from "node:assert/strict";
import { assertKeptIntact } from "./_kept.ts";
import { type FdReader, IpcError, type Message, MessageQueue } from "../mod.ts";
import {
  assertAround,
  blockedIn,
  CANNOT,
  CAP_SYS_RESOURCE,
  type Fixture,
  HANG_MS,
  hasCapability,
  ownWaitPending,
  procSysInt,
  readAll,
  readUntil,
  systemError,
  sysvQueue,
  sysvQueues,
  TestScope,
  threadsBlockedIn,
  unless,
  until,
  within,
} from "./_kernel.ts";
import { CALL_BUDGET } from "../src/_wait/budget.ts";

const decoder = new TextDecoder();
const text = (m: Message) => decoder.decode(m.data);

// ------------------------------------------------------------------ helpers

// Every queue a test makes is opened through a TestScope (`messageQueue()`):
// removed at its end even when it fails, with the tests' own msgctl, and then
// checked gone from /proc/sysvipc/msg.

/** A key (as msgget takes it, signed 32-bit) that no queue has now. */
function unusedKey(): number {
  const keys = new Set([...sysvQueues().values()].map((q) => q.key));
  for (;;) {
    const key = crypto.getRandomValues(new Int32Array(1))[0];
    if (key !== 0 && !keys.has(key)) return key;
  }
}

const keyText = (key: number) => `key 0x${(key >>> 0).toString(16).padStart(8, "0")}`;

/** A child running the peer fixture (stderr captured), its stdout followed line by line. */
class Peer {
  readonly fixture: Fixture;
  #out: FdReader;
  #text = "";

  constructor(s: TestScope, args: string[]) {
    const p = s.pipe();
    this.fixture = s.fixture("msg_queue_peer.ts", { args, fds: { 1: p.writer } });
    p.writer.close();
    this.#out = p.reader;
  }

  get pid(): number {
    return this.fixture.pid;
  }

  /** Waits until the child has printed `"waiting"`. */
  async waiting(): Promise<void> {
    if (this.#text.includes('"waiting"')) return;
    this.#text += await this.fixture.check(() => readUntil(this.#out, '"waiting"'));
  }

  /** Waits for the child to end (exit code 0) and returns its events after `"waiting"`. */
  async events(): Promise<unknown[]> {
    this.#text += await this.fixture.check(() => readAll(this.#out));
    await this.fixture.exits(0, this.#text);
    return this.#text.trim().split("\n").map((l) => JSON.parse(l)).filter((x) => x !== "waiting");
  }
}

/** Waits until a thread of process `pid` sleeps in `msgrcv`/`msgsnd` on queue `id`; returns it. */
function blockedOn(pid: number, call: "msgrcv" | "msgsnd", id: number): Promise<number> {
  return blockedIn(pid, { syscall: call, arg0: id });
}

/** Threads of this process asleep in `msgrcv`/`msgsnd` on queue `id`. */
function ownThreadsOn(call: "msgrcv" | "msgsnd", id: number): number[] {
  return threadsBlockedIn(Deno.pid, { syscall: call, arg0: id });
}

const kernelInt = (name: string) => procSysInt(`kernel/${name}`);

// -------------------------------------------------------------------- tests

Deno.test("MessageQueue.open() makes private and keyed queues, owner-only by default", async (t) => {
  await t.step('"private": a new queue each time, key 0, mode 0600', () => {
    using qs = new TestScope();
    const a = qs.messageQueue("private");
    const b = qs.messageQueue("private");
    assert.notEqual(a.id, b.id);
    assert.equal(a.key, 0);
    const st = a.stat();
    assert.equal(st.key, 0);
    assert.equal(st.mode, 0o600);
    assert.equal(sysvQueue(a.id).key, 0);
    assert.equal(sysvQueue(a.id).mode, 0o600);
  });

  await t.step("an explicit mode is applied exactly", () => {
    using qs = new TestScope();
    for (const mode of [0o640, 0o604, 0o400, 0o666]) {
      const q = qs.messageQueue("private", { mode });
      assert.equal(q.stat().mode, mode);
      assert.equal(sysvQueue(q.id).mode, mode);
    }
  });

  await t.step("by key: create, open again, exclusive refused with AlreadyExists", () => {
    using qs = new TestScope();
    const key = unusedKey();
    const q = qs.messageQueue(key, { create: true, exclusive: true });
    assert.equal(q.key, key);
    assert.equal(q.stat().key, key);
    assert.equal(sysvQueue(q.id).key, key);
    using same = MessageQueue.open(key);
    assert.equal(same.id, q.id);
    using created = MessageQueue.open(key, { create: true });
    assert.equal(created.id, q.id);
    assert.throws(
      () => qs.messageQueue(key, { create: true, exclusive: true }),
      systemError(Deno.errors.AlreadyExists, "EEXIST", "msgget", keyText(key)),
    );
  });

  await t.step("a key as an unsigned 32-bit number is the same key", () => {
    using qs = new TestScope();
    let key = unusedKey();
    if (key > 0) key = -key;
    const q = qs.messageQueue(key, { create: true, exclusive: true });
    using same = MessageQueue.open(key + 2 ** 32);
    assert.equal(same.id, q.id);
  });

  await t.step("a key without a queue is NotFound", () => {
    using qs = new TestScope();
    const key = unusedKey();
    assert.throws(
      () => qs.messageQueue(key),
      systemError(Deno.errors.NotFound, "ENOENT", "msgget", keyText(key)),
    );
  });

  await t.step("key 0 is IPC_PRIVATE: refused, it would make a new queue each time", () => {
    using qs = new TestScope();
    assert.throws(() => qs.messageQueue(0), RangeError);
    assert.throws(() => qs.messageQueue(0, { create: true }), RangeError);
  });

  await t.step("bad keys and modes are refused before any syscall", () => {
    using qs = new TestScope();
    for (const key of [1.5, 2 ** 32, -(2 ** 31) - 1, NaN, "1", "public", null]) {
      // A number that is no 32-bit integer is out of range; anything else but "private", the wrong type.
      const Class = typeof key === "number" ? RangeError : TypeError;
      assert.throws(() => qs.messageQueue(key as number), Class, String(key));
    }
    for (const mode of [0o1000, -1, 1.5, NaN, "600"]) {
      assert.throws(
        () => qs.messageQueue("private", { mode: mode as number }),
        typeof mode === "number" ? RangeError : TypeError,
        String(mode),
      );
    }
    // Checked as POSIX opens check them: exclusive was dropped without create.
    assert.throws(() => MessageQueue.open(0x1eaf, { exclusive: true }), /exclusive needs create/);
    assert.throws(() => MessageQueue.open(0x1eaf, { create: "yes" as never }), TypeError);
  });
});

Deno.test("MessageQueue.ftok() derives the same key from the same file and project id", async (t) => {
  await using s = new TestScope();
  const dir = await s.tempDir("libc-ipc-msgq-");
  const file = `${dir}/anchor`;
  await Deno.writeTextFile(file, "");

  await t.step("same path and projId: same key; the projId is its top byte", () => {
    const key = MessageQueue.ftok(file, 65);
    assert.equal(MessageQueue.ftok(file, 65), key);
    assert.equal(MessageQueue.ftok(new URL(`file://${file}`), 65), key);
    assert.equal(key >>> 24, 65);
    const other = MessageQueue.ftok(file, 66);
    assert.notEqual(other, key);
    assert.equal(other >>> 24, 66);
  });

  await t.step("a missing path is NotFound, naming the path", () => {
    assert.throws(
      () => MessageQueue.ftok(`${dir}/missing`, 1),
      systemError(Deno.errors.NotFound, "ENOENT", "ftok", `${dir}/missing`),
    );
  });

  await t.step("projId must be 1..255", () => {
    for (const projId of [0, 256, -1, 1.5, NaN]) {
      assert.throws(() => MessageQueue.ftok(file, projId), RangeError, String(projId));
    }
  });

  await t.step("two processes that agree on path and projId share a queue", async () => {
    using qs = new TestScope();
    // Keys hash the inode: another program may hold one; take the first projId whose key is free.
    const taken = new Set([...sysvQueues().values()].map((q) => q.key));
    const projId = [...Array(255).keys()].map((i) => i + 1).find((p) =>
      !taken.has(MessageQueue.ftok(file, p))
    );
    assert.ok(projId !== undefined, "every key of this file is taken");
    const key = MessageQueue.ftok(file, projId);
    const q = qs.messageQueue(key, { create: true, exclusive: true });
    const peer = new Peer(s, ["send", "sync", `ftok:${file}:${projId}`, "5", "by key"]);
    assert.deepEqual(await peer.events(), [{ sent: true }]);
    assert.deepEqual(q.tryReceive(), {
      type: 5,
      data: new TextEncoder().encode("by key"),
    });
  });
});

Deno.test("MessageQueue.fromId() adopts an existing queue and checks that it exists", async (t) => {
  await t.step("the same queue through another handle", () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    using other = MessageQueue.fromId(q.id);
    assert.equal(other.id, q.id);
    assert.equal(other.key, 0);
    other.sendSync("through the other handle", { type: 3 });
    assert.equal(text(q.tryReceive()), "through the other handle");
  });

  await t.step("a bad id is a TypeError, or a RangeError for a number out of range", () => {
    for (const id of [-1, 1.5, 2 ** 31, NaN, "3", undefined]) {
      const Class = typeof id === "number" ? RangeError : TypeError;
      assert.throws(() => MessageQueue.fromId(id as number), Class, String(id));
    }
  });

  await t.step("an id that names no queue is refused with EINVAL", () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    const id = q.id;
    q.remove();
    assert.throws(
      () => MessageQueue.fromId(id),
      systemError(IpcError, "EINVAL", "msgctl", `id ${id}`),
    );
  });
});

Deno.test("MessageQueue.sendSync()/receiveSync() carry bytes and strings, selected by type", async (t) => {
  await t.step("bytes, UTF-8 strings and empty messages, each a copy", () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
    q.sendSync(bytes, { type: 2 });
    bytes[0] = 99; // what was sent is a copy
    q.sendSync("héllo ✓");
    q.sendSync(new Uint8Array(0), { type: 4 });
    q.sendSync(new Uint8Array(16).subarray(4, 7).fill(5), { type: 5 }); // a view, offset 4
    assert.deepEqual(q.receiveSync(), { type: 2, data: new Uint8Array([0, 1, 2, 253, 254, 255]) });
    const s = q.receiveSync();
    assert.equal(s.type, 1); // the default type
    assert.equal(text(s), "héllo ✓");
    assert.deepEqual(q.receiveSync(), { type: 4, data: new Uint8Array(0) });
    assert.deepEqual(q.receiveSync(), { type: 5, data: new Uint8Array([5, 5, 5]) });
  });

  await t.step("the received bytes stay the caller's, whatever is received later", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    const kept: Uint8Array<ArrayBuffer>[] = [];
    // Enough for several of the slabs messages land in (see src/_landing.ts).
    for (let i = 0; i < 3000; i++) {
      q.sendSync(new Uint8Array(i % 64).fill(i & 255), { type: 1 + (i % 3) });
      const m = i % 3 === 0
        ? q.receiveSync({ maxSize: 64 + (i % 5) })
        : i % 3 === 1
        ? q.tryReceive()
        : await q.receive();
      assert.equal(m.type, 1 + (i % 3));
      kept.push(m.data);
    }
    assertKeptIntact(kept, (i) => i % 64);
    q.sendSync("after", { type: 7 });
    assert.deepEqual(q.receiveSync(), { type: 7, data: new TextEncoder().encode("after") });
  });

  await t.step(
    "one options object changed between receives selects by what it holds each time",
    () => {
      using qs = new TestScope();
      const q = qs.messageQueue();
      for (const [type, s] of [[1, "one"], [2, "two"], [3, "three"], [2, "deux"]] as const) {
        q.sendSync(s, { type });
      }
      const options: { type: number; maxSize?: number; except?: boolean; noError?: boolean } = {
        type: 2,
      };
      assert.equal(text(q.receiveSync(options)), "two");
      options.type = 3;
      assert.equal(text(q.receiveSync(options)), "three");
      options.type = 1.5;
      assert.throws(() => q.receiveSync(options), RangeError);
      options.type = 2;
      options.maxSize = 2;
      assert.throws(() => q.tryReceive(options), { code: "E2BIG" });
      options.noError = true;
      assert.equal(text(q.tryReceive(options)), "de");
      options.noError = false;
      options.maxSize = 64;
      options.type = 2;
      options.except = true;
      assert.equal(text(q.receiveSync(options)), "one");
      const into = new Uint8Array(8);
      q.sendSync("eight!!!", { type: 4 });
      q.sendSync("nine!!!!!", { type: 4 });
      assert.equal(q.receiveIntoSync(into, { type: 4 }).size, 8);
      assert.throws(() => q.receiveIntoSync(into.subarray(0, 4), { type: 4 }), { code: "E2BIG" });
      assert.equal(q.stat().messages, 1);
    },
  );

  await t.step("type 0 takes the first message, whatever its type", () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    for (const [type, s] of [[7, "a"], [3, "b"], [7, "c"], [1, "d"]] as const) {
      q.sendSync(s, { type });
    }
    const got = [1, 2, 3, 4].map(() => q.receiveSync({ type: 0 }));
    assert.deepEqual(got.map((m) => [m.type, text(m)]), [[7, "a"], [3, "b"], [7, "c"], [1, "d"]]);
  });

  await t.step("type n > 0 takes the first message of exactly type n", () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    for (const [type, s] of [[1, "a"], [2, "b"], [1, "c"], [2, "d"]] as const) {
      q.sendSync(s, { type });
    }
    assert.equal(text(q.receiveSync({ type: 2 })), "b");
    assert.equal(text(q.receiveSync({ type: 2 })), "d");
    assert.throws(() => q.tryReceive({ type: 2 }), Deno.errors.WouldBlock);
    assert.equal(text(q.receiveSync({ type: 1 })), "a");
    assert.equal(text(q.receiveSync({ type: 1 })), "c");
  });

  await t.step("type n < 0 takes the lowest type ≤ |n| first: types as priorities", () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    const sent = [[5, "five"], [9, "nine"], [3, "three"], [4, "four"], [3, "3bis"]] as const;
    for (const [type, s] of sent) q.sendSync(s, { type });
    const order = [1, 2, 3, 4].map(() => text(q.receiveSync({ type: -5 })));
    assert.deepEqual(order, ["three", "3bis", "four", "five"]);
    assert.throws(
      () => q.tryReceive({ type: -5 }),
      systemError(Deno.errors.WouldBlock, "ENOMSG", "msgrcv"),
    );
    assert.equal(text(q.receiveSync({ type: -9 })), "nine");
  });

  await t.step("except takes the first message of any other type (MSG_EXCEPT)", () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    for (const [type, s] of [[1, "a"], [1, "b"], [2, "c"], [3, "d"]] as const) {
      q.sendSync(s, { type });
    }
    assert.equal(text(q.receiveSync({ type: 1, except: true })), "c");
    assert.equal(text(q.receiveSync({ type: 1, except: true })), "d");
    assert.throws(() => q.tryReceive({ type: 1, except: true }), {
      name: "WouldBlock",
    });
    for (const type of [0, -1]) {
      assert.throws(() => q.receiveSync({ type, except: true }), RangeError);
    }
    assert.equal(q.stat().messages, 2);
  });

  await t.step("a message longer than maxSize is E2BIG and stays; noError truncates", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    const big = new Uint8Array(100).map((_, i) => i);
    q.sendSync(big, { type: 6 });
    assert.throws(
      () => q.receiveSync({ maxSize: 99 }),
      systemError(IpcError, "E2BIG", "msgrcv", `id ${q.id}`),
    );
    await assert.rejects(q.receive({ maxSize: 10 }), systemError(IpcError, "E2BIG", "msgrcv"));
    assert.equal(q.stat().messages, 1);
    assert.deepEqual(q.receiveSync({ maxSize: 100 }), { type: 6, data: big });

    q.sendSync(big, { type: 6 });
    const cut = q.receiveSync({ maxSize: 10, noError: true });
    assert.deepEqual(cut, { type: 6, data: big.slice(0, 10) });
    assert.equal(q.stat().messages, 0); // the rest is gone with it
    q.sendSync(big, { type: 6 });
    assert.deepEqual(await q.receive({ maxSize: 0, noError: true }), {
      type: 6,
      data: new Uint8Array(0),
    });
    for (const maxSize of [-1, 1.5, NaN, 2 ** 31]) {
      assert.throws(() => q.receiveSync({ maxSize }), RangeError, String(maxSize));
    }
  });

  await t.step("try forms: ENOMSG on an empty queue, EAGAIN on a full one (WouldBlock)", () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    assert.throws(
      () => q.tryReceive(),
      systemError(Deno.errors.WouldBlock, "ENOMSG", "msgrcv", `id ${q.id}`),
    );
    q.setMaxBytes(16);
    q.sendSync(new Uint8Array(16));
    assert.throws(
      () => q.trySend("x"),
      systemError(Deno.errors.WouldBlock, "EAGAIN", "msgsnd", `id ${q.id}`),
    );
    assert.equal(q.stat().messages, 1);
  });
});

Deno.test("MessageQueue message types are C longs: numbers, and bigints up to 2^63-1", async (t) => {
  const LONG_MAX = 2n ** 63n - 1n;

  await t.step("types round-trip: a number when it is safe, a bigint otherwise", () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    const cases: Array<[number | bigint, number | bigint]> = [
      [1, 1],
      [5n, 5],
      // Both halves of the C long: the low one at and past 2^31, the high one set.
      [2 ** 31, 2 ** 31],
      [2 ** 32 - 1, 2 ** 32 - 1],
      [2 ** 40 + 2 ** 31 + 7, 2 ** 40 + 2 ** 31 + 7],
      [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
      [BigInt(Number.MAX_SAFE_INTEGER) + 1n, BigInt(Number.MAX_SAFE_INTEGER) + 1n],
      [LONG_MAX, LONG_MAX],
    ];
    for (const [sent] of cases) q.sendSync(`${sent}`, { type: sent });
    for (const [sent, back] of cases) {
      const m = q.receiveSync();
      assert.equal(text(m), `${sent}`);
      assert.equal(m.type, back);
    }
  });

  await t.step("receive selects by bigint types too", () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    q.sendSync("max", { type: LONG_MAX });
    q.sendSync("max-1", { type: LONG_MAX - 1n });
    q.sendSync("small", { type: 3 });
    assert.equal(text(q.receiveSync({ type: LONG_MAX })), "max");
    assert.equal(text(q.receiveSync({ type: 3n, except: true })), "max-1");
    q.sendSync("max-1", { type: LONG_MAX - 1n });
    assert.equal(text(q.receiveSync({ type: -LONG_MAX })), "small");
  });

  await t.step("bad types are refused before any syscall", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    // Removed behind this handle's back: a syscall would fail with EINVAL, a check does not.
    using stale = MessageQueue.fromId(q.id);
    q.remove();
    const bad: Array<[unknown, new (...args: never[]) => Error]> = [
      [0, RangeError],
      [-1, RangeError],
      [0n, RangeError],
      [-5n, RangeError],
      [2n ** 63n, RangeError],
      [1.5, RangeError],
      [NaN, RangeError],
      [Infinity, RangeError],
      [2 ** 53, RangeError], // an integer, but not exact: a bigint is
      ["1", TypeError],
    ];
    for (const [type, Class] of bad) {
      const options = { type: type as number };
      assert.throws(() => stale.sendSync("x", options), Class, `sendSync ${String(type)}`);
      await assert.rejects(stale.send("x", options), Class, `send ${String(type)}`);
    }
    for (const type of [2n ** 63n, -(2n ** 63n), 0.5, "0"]) {
      const options = { type: type as number };
      assert.throws(() => stale.receiveSync(options), { name: /RangeError|TypeError/ });
      await assert.rejects(stale.receive(options), { name: /RangeError|TypeError/ });
    }
    assert.throws(() => stale.sendSync(42 as unknown as string), TypeError);
  });
});

Deno.test("MessageQueue.send()/receive() wait without blocking the event loop", async (t) => {
  await using s = new TestScope();

  await t.step("async forms complete at once when they can", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    await q.send("now", { type: 2 });
    await q.send(new Uint8Array([1, 2]));
    assert.deepEqual((await q.receive({ type: 2 })).type, 2);
    assert.deepEqual(await q.receive(), { type: 1, data: new Uint8Array([1, 2]) });
  });

  await t.step(
    unless(CANNOT.parking, "receive() waits for a message sent later in this process", async () => {
      using qs = new TestScope();
      const q = qs.messageQueue();
      let settled = false;
      const pending = q.receive({ type: 8 }).finally(() => settled = true);
      // It waits in msgrcv on a pool thread, while this thread's event loop runs
      // the timers that poll for it.
      const tid = await blockedOn(Deno.pid, "msgrcv", q.id);
      assert.notEqual(tid, Deno.pid, "not on the main thread");
      assert.equal(settled, false);
      q.sendSync("other type", { type: 7 });
      // msgsnd hands a message to a matching receiver at once: this one stays in the queue.
      assert.equal(sysvQueue(q.id).messages, 1, "a message of another type wakes no one");
      assert.deepEqual(ownThreadsOn("msgrcv", q.id), [tid], "the receive still waits");
      q.sendSync("late", { type: 8 });
      const m = await within(pending, "receive");
      assert.equal(text(m), "late");
      assert.equal(text(q.tryReceive()), "other type");
    }),
  );

  await t.step("receive() waits for a message another process sends", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    const pending = q.receive({ type: 4 });
    const peer = new Peer(s, ["send", "async", `${q.id}`, "4", "from child"]);
    const m = await peer.fixture.check(() => within(pending, "receive"));
    assert.deepEqual(m, { type: 4, data: new TextEncoder().encode("from child") });
    assert.deepEqual(await peer.events(), [{ sent: true }]);
    assert.equal(q.stat().lastSendPid, peer.pid);
  });

  await t.step("timeout: 0 rejects with TimedOut at once, naming the operation", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    await assert.rejects(
      q.receive({ timeout: 0 }),
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", "msgrcv", `id ${q.id}`),
    );
    q.setMaxBytes(8);
    await q.send("12345678");
    await assert.rejects(
      q.send("x", { timeout: 0 }),
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", "msgsnd", `id ${q.id}`),
    );
  });

  await t.step("timeout rejects with TimedOut; nothing is taken or sent after it", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    await assert.rejects(
      q.receive({ timeout: 20 }),
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", "msgrcv", "after 20 ms"),
    );
    await assert.rejects(q.receive({ timeout: 0 }), Deno.errors.TimedOut);
    q.setMaxBytes(8);
    await q.send("12345678", { type: 1 });
    await assert.rejects(
      q.send("late", { type: 2, timeout: 20 }),
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", "msgsnd", "after 20 ms"),
    );
    // No call of the timed-out wait is left in the kernel to complete later.
    assert.deepEqual(ownThreadsOn("msgsnd", q.id), [], "a msgsnd left blocked");
    assert.deepEqual(ownThreadsOn("msgrcv", q.id), [], "a msgrcv left blocked");
    q.receiveSync();
    assert.equal(sysvQueue(q.id).messages, 0);
    for (const timeout of [-1, NaN, "5"]) {
      await assert.rejects(
        q.receive({ timeout: timeout as number }),
        typeof timeout === "number" ? RangeError : TypeError,
      );
    }
  });

  await t.step("an AbortSignal rejects with its reason, before or while waiting", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    const reason = new Error("no longer wanted");
    await assert.rejects(q.receive({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
    await assert.rejects(q.send("x", { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.equal(q.stat().messages, 0); // an aborted send sends nothing

    const ac = new AbortController();
    const pending = q.receive({ signal: ac.signal });
    pending.catch(() => {});
    await ownWaitPending({ syscall: "msgrcv", arg0: q.id }); // waiting
    ac.abort(reason);
    await assert.rejects(within(pending, "receive"), (e) => e === reason);
    // The aborted call has returned: nothing of it is left to take a message later.
    assert.deepEqual(ownThreadsOn("msgrcv", q.id), [], "a msgrcv left blocked");
    q.sendSync("after the abort");
    assert.equal(sysvQueue(q.id).messages, 1, "the aborted receive took nothing");
    await assert.rejects(q.receive({ signal: "x" as unknown as AbortSignal }), TypeError);
  });

  await t.step(
    unless(
      CANNOT.parking,
      "several receives pending at once each get their own message",
      async () => {
        using qs = new TestScope();
        const q = qs.messageQueue();
        let settled = 0;
        const pending = [1, 2, 3, 4, 5].map((type) => q.receive({ type }).finally(() => settled++));
        // Every selection parks a call of its own, up to the budget (the others poll).
        const parked = Math.min(pending.length, CALL_BUDGET);
        await until(
          () => ownThreadsOn("msgrcv", q.id).length === parked,
          `${parked} parked receives`,
        );
        assert.equal(settled, 0);
        for (const type of [5, 3, 1, 4, 2]) q.sendSync(`#${type}`, { type });
        const got = await within(Promise.all(pending), "receives");
        assert.deepEqual(got.map(text), ["#1", "#2", "#3", "#4", "#5"]);
      },
    ),
  );

  await t.step("several sends pending on a full queue each deliver their own message", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    q.setMaxBytes(4);
    q.sendSync("full", { type: 9 });
    const pending = [
      q.send("A", { type: 1 }),
      q.send("BB", { type: 2 }),
      q.send("CCC", {
        type: 3,
      }),
    ];
    const got: string[] = [];
    while (got.length < 4) {
      const m = await within(q.receive(), "receive");
      got.push(`${m.type}:${text(m)}`);
    }
    await within(Promise.all(pending), "sends");
    assert.deepEqual(got.sort(), ["1:A", "2:BB", "3:CCC", "9:full"]);
  });

  await t.step(
    "pending receives keep their own selection and buffer while later calls go on",
    async () => {
      // The first try of every form shares the handle's selection and receive buffer: a receive
      // that has to wait must go on with its own, whatever the calls after it select.
      using qs = new TestScope();
      const q = qs.messageQueue();
      const five = q.receive({ type: 5 });
      const into = new Uint8Array(8);
      const six = q.receiveInto(into, { type: 6, maxSize: 3 });
      q.sendSync("1", { type: 1 });
      assert.equal(q.receiveSync({ type: -2, noError: true }).type, 1);
      q.sendSync("six", { type: 6 });
      q.sendSync("five", { type: 5 });
      const [m, info] = await within(Promise.all([five, six]), "receives");
      assert.deepEqual([m.type, text(m)], [5, "five"]);
      assert.deepEqual(info, { type: 6, size: 3 });
      assert.equal(new TextDecoder().decode(into.subarray(0, 3)), "six");
    },
  );
});

Deno.test("MessageQueue.close() ends the handle, never the queue", async (t) => {
  await t.step("a pending receive rejects with BadResource", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    const pending = q.receive();
    pending.catch(() => {});
    await ownWaitPending({ syscall: "msgrcv", arg0: q.id });
    q.close();
    await assert.rejects(
      within(pending, "receive"),
      systemError(Deno.errors.BadResource, "EBADF", "msgrcv", `id ${q.id}`),
    );
    assert.deepEqual(ownThreadsOn("msgrcv", q.id), [], "the parked msgrcv was cancelled");
    assert.ok(sysvQueues().has(q.id), "the queue lives on");
    q.close();
  });

  await t.step("a pending send on a full queue rejects with BadResource", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    q.setMaxBytes(1);
    q.sendSync("1");
    const pending = q.send("2");
    q.close();
    await assert.rejects(within(pending, "send"), Deno.errors.BadResource);
  });

  await t.step("every use after close is BadResource; close twice does nothing", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    q.sendSync("kept", { type: 2 });
    q.close();
    q.close();
    q[Symbol.dispose]();
    const closed = (e: unknown) => {
      assert.ok(e instanceof Deno.errors.BadResource);
      assert.match((e as Error).message, new RegExp(`message queue ${q.id}`));
      return true;
    };
    assert.throws(() => q.sendSync("x"), closed);
    assert.throws(() => q.receiveSync(), closed);
    assert.throws(() => q.stat(), closed);
    assert.throws(() => q.setMaxBytes(100), closed);
    assert.throws(() => q.remove(), closed);
    await assert.rejects(q.send("x"), closed);
    await assert.rejects(q.receive(), closed);
    // The queue itself lives on, message and all.
    using again = MessageQueue.fromId(q.id);
    assert.equal(text(again.tryReceive()), "kept");
  });

  await t.step("`using` closes the handle at the end of the block", () => {
    using qs = new TestScope();
    let kept: MessageQueue;
    {
      using q = qs.messageQueue();
      kept = q;
    }
    assert.throws(() => kept.stat(), Deno.errors.BadResource);
    assert.ok(sysvQueues().has(kept.id));
  });
});

Deno.test("MessageQueue.messages() yields until the loop breaks or the handle closes", async (t) => {
  await t.step("in order, with the options given; break stops it", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    for (const type of [3, 1, 2, 1]) q.sendSync(`#${type}`, { type });
    const got: string[] = [];
    for await (const m of q.messages({ type: 1 })) {
      got.push(text(m));
      if (got.length === 2) break;
    }
    assert.deepEqual(got, ["#1", "#1"]);
    assert.equal(q.stat().messages, 2);
  });

  await t.step("it waits for messages and ends when the handle is closed", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    const got: string[] = [];
    const loop = (async () => {
      for await (const m of q.messages()) got.push(text(m));
    })();
    loop.catch(() => {});
    // Each message is sent once the loop has taken the one before and waits in msgrcv again.
    for (const [i, s] of ["a", "b", "c"].entries()) {
      await until(() => got.length === i, `message ${i} taken`);
      await ownWaitPending({ syscall: "msgrcv", arg0: q.id });
      q.sendSync(s);
    }
    await until(() => got.length === 3, "the last message taken");
    await ownWaitPending({ syscall: "msgrcv", arg0: q.id });
    q.close(); // while the loop waits
    await within(loop, "the loop to end");
    assert.deepEqual(got, ["a", "b", "c"]);
  });

  for (const when of ["open", "closed at once", "full by then"] as const) {
    await t.step(
      unless(
        CANNOT.parking,
        `left after its msgrcv took a message, the handle ${
          when === "full by then"
            ? "closed at once and the queue full by then: it goes back once there is room"
            : `${when}: it goes back to the queue before return() settles`
        }`,
        async () => {
          // It went to the next() the iteration left, which a cancelled ReadableStream drops.
          using qs = new TestScope();
          const q = qs.messageQueue();
          using other = MessageQueue.fromId(q.id);
          other.setMaxBytes(5);
          const it = q.messages()[Symbol.asyncIterator]();
          const next = it.next();
          await ownWaitPending({ syscall: "msgrcv", arg0: q.id });
          other.sendSync("taken", { type: 4 });
          // The parked msgrcv takes it on its thread; no turn of the event loop has told us yet.
          const end = performance.now() + HANG_MS;
          while (other.stat().messages !== 0) {
            if (performance.now() > end) assert.fail("the parked msgrcv never took the message");
          }
          if (when === "full by then") other.sendSync("full!");
          const leaving = it.return!();
          if (when !== "open") q.close();
          assert.deepEqual(await within(leaving, "return()"), { value: undefined, done: true });
          assert.deepEqual(await within(next, "the left next()"), { value: undefined, done: true });
          if (when === "full by then") {
            assert.equal(text(other.receiveSync({ timeout: 0 })), "full!");
          } else {
            assert.equal(other.stat().messages, 1, "back before return() settled");
          }
          const back = other.receiveSync({ timeout: HANG_MS });
          assert.deepEqual([back.type, text(back)], [4, "taken"]);
        },
      ),
    );
  }

  await t.step("bad options are refused at the call, before any receive", () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    assert.throws(() => q.messages({ type: 1.5 }), RangeError);
    assert.throws(() => q.messages({ except: true }), /except needs a type > 0/);
    assert.throws(() => q.messages({ signal: "no" as unknown as AbortSignal }), TypeError);
  });

  await t.step("errors other than closing end the loop with that error", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    q.sendSync(new Uint8Array(50));
    await assert.rejects(
      (async () => {
        for await (const _ of q.messages({ maxSize: 10 })) { /* never */ }
      })(),
      systemError(IpcError, "E2BIG", "msgrcv"),
    );
  });
});

Deno.test("MessageQueue.stat() reports counts, pids, times, owner and capacity", async (t) => {
  await using s = new TestScope();

  await t.step("in one process, checked against /proc/sysvipc/msg", async (t) => {
    using qs = new TestScope();
    const created = Date.now();
    const q = qs.messageQueue("private", { mode: 0o640 });
    let st = q.stat();
    assert.equal(st.messages, 0);
    assert.equal(st.bytes, 0);
    assert.equal(st.lastSendPid, 0);
    assert.equal(st.lastReceivePid, 0);
    assert.equal(st.lastSend, null);
    assert.equal(st.lastReceive, null);
    assertAround(st.lastChange, created, Date.now());
    assert.equal(st.maxBytes, kernelInt("msgmnb"));
    assert.equal(st.uid, Deno.uid());
    assert.equal(st.gid, Deno.gid());
    assert.equal(st.creatorUid, Deno.uid());
    assert.equal(st.creatorGid, Deno.gid());
    assert.equal(st.mode, 0o640);

    const sent = Date.now();
    q.sendSync(new Uint8Array(10), { type: 1 });
    await q.send("abc", { type: 2 });
    q.sendSync(new Uint8Array(0), { type: 3 });
    st = q.stat();
    assert.equal(st.messages, 3);
    assert.equal(st.bytes, 13);
    assert.equal(st.lastSendPid, Deno.pid);
    assert.equal(st.lastReceivePid, 0);
    assertAround(st.lastSend, sent, Date.now());
    assert.equal(st.lastReceive, null);
    const proc = sysvQueue(q.id);
    assert.deepEqual(
      [proc.messages, proc.bytes, proc.lastSendPid, proc.lastReceivePid, proc.uid, proc.gid],
      [3, 13, Deno.pid, 0, st.uid, st.gid],
    );

    const received = Date.now();
    q.receiveSync({ type: 2 });
    st = q.stat();
    assert.equal(st.messages, 2);
    assert.equal(st.bytes, 10);
    assert.equal(st.lastSendPid, Deno.pid);
    assertAround(st.lastReceive, received, Date.now());
    assert.equal(sysvQueue(q.id).lastReceivePid, Deno.pid);
    await t.step(unless(CANNOT.msgReceivePid, "lastReceivePid is the receiver's", () => {
      assert.equal(st.lastReceivePid, Deno.pid);
    }));
  });

  await t.step("a child's pid, when a child sent and received", async (t) => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    const sender = new Peer(s, ["send", "sync", `${q.id}`, "2", "hi"]);
    assert.deepEqual(await sender.events(), [{ sent: true }]);
    assert.equal(q.stat().lastSendPid, sender.pid);
    assert.equal(q.stat().lastReceivePid, 0);
    const receiver = new Peer(s, ["drain", "sync", `${q.id}`, "1"]);
    assert.deepEqual(await receiver.events(), [{ type: 2, text: "hi" }]);
    const st = q.stat();
    assert.equal(st.lastSendPid, sender.pid);
    assert.equal(sysvQueue(q.id).lastReceivePid, receiver.pid);
    await t.step(unless(CANNOT.msgReceivePid, "lastReceivePid is the receiver's", () => {
      assert.equal(st.lastReceivePid, receiver.pid);
    }));
  });
});

Deno.test("MessageQueue.setMaxBytes() and the kernel's limits", async (t) => {
  await t.step("a smaller capacity: a message that can never fit is a RangeError", () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    q.setMaxBytes(64);
    assert.equal(q.stat().maxBytes, 64);
    assert.throws(() => q.sendSync(new Uint8Array(65)), {
      name: "RangeError",
      message: /can never fit/,
    });
    assert.throws(() => q.trySend(new Uint8Array(65)), {
      message: /can never fit/,
    });
    assert.equal(q.stat().messages, 0);
    q.sendSync(new Uint8Array(64));
    assert.equal(q.stat().bytes, 64);
  });

  await t.step(
    "a capacity lowered through another handle: RangeError, not a wait for good",
    async () => {
      // The kernel lets a send of more than the queue holds wait forever; this handle read the
      // capacity before the other one lowered it.
      using qs = new TestScope();
      const q = qs.messageQueue();
      q.sendSync("x");
      q.receiveSync();
      using other = MessageQueue.fromId(q.id);
      other.setMaxBytes(100);
      const big = new Uint8Array(200);
      const never = { name: "RangeError", message: /200 bytes can never fit: the queue holds 100/ };
      assert.throws(() => q.trySend(big), never);
      assert.throws(() => q.sendSync(big), never);
      await assert.rejects(q.send(big), never);
      assert.equal(q.stat().messages, 0);
      q.sendSync(new Uint8Array(100)); // what fits still goes
      assert.equal(q.stat().bytes, 100);
    },
  );

  await t.step("a capacity raised through another handle is seen", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    q.setMaxBytes(64);
    using other = MessageQueue.fromId(q.id);
    other.setMaxBytes(128);
    q.sendSync(new Uint8Array(100));
    await q.send(new Uint8Array(20));
    assert.equal(q.stat().bytes, 120);
  });

  await t.step("bad values are RangeErrors (TypeError for a non-number)", () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    // 2^32 and above once reached the kernel's int as their low 32 bits: 2^32 set 0.
    for (const bytes of [0, -1, 1.5, NaN, Infinity, 2 ** 31, 2 ** 32, 2 ** 32 + 7, 2 ** 53]) {
      assert.throws(() => q.setMaxBytes(bytes), RangeError, String(bytes));
    }
    assert.throws(() => q.setMaxBytes("100" as never), TypeError);
    assert.equal(q.stat().maxBytes, kernelInt("msgmnb"));
  });

  await t.step("above msgmnb: a RangeError, unless privileged (CAP_SYS_RESOURCE)", () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    const msgmnb = kernelInt("msgmnb");
    if (hasCapability(CAP_SYS_RESOURCE)) {
      q.setMaxBytes(msgmnb + 1); // the kernel lets this process exceed msgmnb
      assert.equal(q.stat().maxBytes, msgmnb + 1);
    } else {
      assert.throws(() => q.setMaxBytes(msgmnb + 1), { name: "RangeError", message: /msgmnb/ });
      assert.equal(q.stat().maxBytes, msgmnb);
    }
  });

  await t.step("a message above msgmax is a RangeError naming msgmax", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    const msgmax = kernelInt("msgmax");
    const big = new Uint8Array(msgmax + 1);
    assert.throws(() => q.sendSync(big), { name: "RangeError", message: /msgmax/ });
    await assert.rejects(q.send(big), { name: "RangeError", message: /msgmax/ });
    assert.throws(() => q.sendSync("x".repeat(msgmax + 1)), { message: /msgmax/ });
    assert.equal(q.stat().messages, 0);
    if (msgmax <= q.stat().maxBytes) {
      q.sendSync(new Uint8Array(msgmax));
      assert.equal(q.receiveSync().data.byteLength, msgmax);
    }
  });
});

Deno.test("MessageQueue send on a full queue completes when a receiver drains it", async (t) => {
  await using s = new TestScope();

  await t.step("sendSync() blocked in a child; the parent drains with receive()", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    q.setMaxBytes(32);
    q.sendSync("x".repeat(32), { type: 1 });
    const peer = new Peer(s, ["send", "sync", `${q.id}`, "2", "from child"]);
    await peer.waiting();
    // The sync form blocks the child's main thread in msgsnd.
    assert.equal(await blockedOn(peer.pid, "msgsnd", q.id), peer.pid);
    assert.equal(text(await q.receive({ timeout: HANG_MS })), "x".repeat(32));
    const m = await peer.fixture.check(() => q.receive({ type: 2, timeout: HANG_MS }));
    assert.equal(text(m), "from child");
    assert.deepEqual(await peer.events(), [{ sent: true }]);
  });

  await t.step("send() pending in the parent; a child drains with receiveSync()", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    q.setMaxBytes(32);
    q.sendSync("y".repeat(32), { type: 1 });
    const pending = q.send("from parent", { type: 2 });
    await ownWaitPending({ syscall: "msgsnd", arg0: q.id }); // pending
    const peer = new Peer(s, ["drain", "sync", `${q.id}`, "2"]);
    await peer.fixture.check(() => within(pending, "send"));
    assert.deepEqual(await peer.events(), [
      { type: 1, text: "y".repeat(32) },
      { type: 2, text: "from parent" },
    ]);
  });

  await t.step(
    unless(CANNOT.parking, "a send() in a child waits while the queue is full", async () => {
      using qs = new TestScope();
      const q = qs.messageQueue();
      q.setMaxBytes(16);
      q.sendSync("z".repeat(16), { type: 1 });
      const peer = new Peer(s, ["send", "async", `${q.id}`, "3", "async child"]);
      await peer.waiting();
      // The async form parks msgsnd on a pool thread of the child: it waits, nothing is sent.
      assert.notEqual(await blockedOn(peer.pid, "msgsnd", q.id), peer.pid);
      assert.equal(sysvQueue(q.id).messages, 1);
      q.receiveSync();
      assert.equal(text(await q.receive({ type: 3, timeout: HANG_MS })), "async child");
      assert.deepEqual(await peer.events(), [{ sent: true }]);
    }),
  );
});

Deno.test("MessageQueue.remove() wakes waiters in other processes with EIDRM", async (t) => {
  await using s = new TestScope();
  const removed = { error: "IpcError", code: "EIDRM" };
  const pick = (events: unknown[]) =>
    events.map((e) => {
      const { error, code } = e as { error?: string; code?: string };
      return { error, code };
    });

  await t.step("a receiveSync() blocked in the kernel", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    const peer = new Peer(s, ["receive", "sync", `${q.id}`]);
    await peer.waiting();
    assert.equal(await blockedOn(peer.pid, "msgrcv", q.id), peer.pid, "on its main thread");
    q.remove();
    assert.deepEqual(pick(await peer.events()), [removed]);
    assert.ok(!sysvQueues().has(q.id));
  });

  await t.step(unless(CANNOT.parking, "a receive() parked on a pool thread", async () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    const peer = new Peer(s, ["receive", "async", `${q.id}`]);
    await peer.waiting();
    assert.notEqual(await blockedOn(peer.pid, "msgrcv", q.id), peer.pid, "not its main thread");
    q.remove();
    assert.deepEqual(pick(await peer.events()), [removed]);
  }));

  await t.step(
    unless(CANNOT.parking, "a sendSync() and a send() blocked on a full queue", async () => {
      using qs = new TestScope();
      const q = qs.messageQueue();
      q.setMaxBytes(4);
      q.sendSync("full");
      const blocked = new Peer(s, ["send", "sync", `${q.id}`, "1", "nope"]);
      const waiting = new Peer(s, ["send", "async", `${q.id}`, "1", "nope"]);
      await blocked.waiting();
      await waiting.waiting();
      assert.equal(await blockedOn(blocked.pid, "msgsnd", q.id), blocked.pid);
      assert.notEqual(await blockedOn(waiting.pid, "msgsnd", q.id), waiting.pid);
      q.remove();
      assert.deepEqual(pick(await blocked.events()), [removed]);
      assert.deepEqual(pick(await waiting.events()), [removed]);
    }),
  );

  await t.step("remove() closes the handle; removing twice is refused", () => {
    using qs = new TestScope();
    const q = qs.messageQueue();
    using other = MessageQueue.fromId(q.id);
    q.remove();
    assert.throws(() => q.stat(), Deno.errors.BadResource);
    // Every call through a handle whose queue was removed says EIDRM, whatever the kernel said.
    assert.throws(() => other.remove(), systemError(IpcError, "EIDRM", "msgctl"));
    assert.throws(() => other.stat(), systemError(IpcError, "EIDRM", "msgctl"));
    assert.throws(() => other.receiveSync(), systemError(IpcError, "EIDRM", "msgrcv"));
    assert.throws(() => other.sendSync("x"), systemError(IpcError, "EIDRM", "msgsnd"));
    assert.throws(() => other.setMaxBytes(100), systemError(IpcError, "EIDRM", "msgctl"));
  });
});
