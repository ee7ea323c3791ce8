/**
 * System V semaphore sets (src/sem/semaphore_set.ts) against the kernel:
 * /proc/sysvipc/sem, the threads asleep in `semtimedop`, and children that
 * open, wait on and remove the same sets.
 */
import assert from "node:assert/strict";
import { IpcError, SemaphoreSet } from "../mod.ts";
import {
  assertAround,
  blockedIn,
  CANNOT,
  EMULATED,
  errno,
  HANG_MS,
  libc,
  ownWaitPending,
  readProcFile,
  syscallNumbers,
  systemError,
  sysvSemaphoreSets,
  TestScope,
  threadsBlockedIn,
  unless,
  until,
  within,
} from "./_kernel.ts";
import { keyText, mainThreadIn, Peer, unusedKey } from "./fixtures/sem_common.ts";

const IPC_CREAT = 0o1000;
const IPC_EXCL = 0o2000;

// Every set a test makes is registered with a TestScope (`semaphoreSet()`):
// removed at its end even when it fails, with the tests' own semctl, and then
// checked gone from /proc/sysvipc/sem.

/** A new private set of `count` members, removed at the end of the scope. */
function privateSet(s: TestScope, count: number, values?: number | number[]): SemaphoreSet {
  return s.semaphoreSet(SemaphoreSet.open("private", { count, values }));
}

/** `p`, marked handled: a wait a failed assertion leaves pending rejects later, not as uncaught. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/** Threads of this process asleep in `semtimedop` on set `id` (glibc's semop enters it too). */
const parkedOn = (id: number) => threadsBlockedIn(Deno.pid, { syscall: "semtimedop", arg0: id });

/** Waits until a thread of process `pid` sleeps in `semtimedop` on set `id`. */
const blockedOn = (pid: number, id: number) => blockedIn(pid, { syscall: "semtimedop", arg0: id });

/** Makes a set with the tests' own semget, as a creator between `semget` and its first `semop`. */
function rawSet(s: TestScope, key: number, count: number): number {
  const id = libc.semget(key, count, IPC_CREAT | IPC_EXCL | 0o600);
  assert.ok(id >= 0, `semget failed, errno ${errno()}`);
  return s.semaphoreSet(id);
}

/** Performs `+values[i]` on every member with the tests' own semop (no IPC_NOWAIT needed). */
function rawInitialise(id: number, values: number[]): void {
  const ops = new Int16Array(values.length * 3);
  values.forEach((v, i) => ops.set([i, v, 0], i * 3));
  assert.equal(libc.semop(id, new Uint8Array(ops.buffer), values.length), 0, `errno ${errno()}`);
}

/** Whether a promise has settled, seen after the turns of the event loop that it needed. */
function settledFlag(p: Promise<unknown>): () => boolean {
  let settled = false;
  p.then(() => settled = true, () => settled = true);
  return () => settled;
}

Deno.test("SemaphoreSet.open() makes private and keyed sets, owner-only by default", async (t) => {
  await t.step('"private": a new set each time, key 0, mode 0600, values 0 by default', () => {
    using s = new TestScope();
    const a = privateSet(s, 3);
    const b = privateSet(s, 1);
    assert.notEqual(a.id, b.id);
    assert.deepEqual([a.key, a.count, b.count], [0, 3, 1]);
    assert.deepEqual(a.values(), [0, 0, 0]);
    const row = sysvSemaphoreSets().get(a.id);
    assert.deepEqual([row?.key, row?.mode, row?.members], [0, 0o600, 3]);
    assert.equal(a.stat().mode, 0o600);
  });

  await t.step("initial values: one for all, or one each", () => {
    using s = new TestScope();
    assert.deepEqual(privateSet(s, 3, 4).values(), [4, 4, 4]);
    assert.deepEqual(privateSet(s, 3, [0, 32767, 2]).values(), [0, 32767, 2]);
    // More non-zero members than one semop takes: SETALL, then a semop that changes nothing.
    const n = SemaphoreSet.limits().maxOpsPerCall + 1;
    for (const first of [0, 5]) {
      const values = Array.from({ length: n }, (_, i) => i === 0 ? first : 1 + (i % 7));
      const big = privateSet(s, n, values);
      assert.deepEqual(big.values(), values);
      assert.notEqual(sysvSemaphoreSets().get(big.id)?.otime, 0, "marked initialised");
    }
  });

  await t.step("an explicit mode is applied exactly", () => {
    using s = new TestScope();
    for (const mode of [0o640, 0o604, 0o400, 0o666]) {
      const set = s.semaphoreSet(SemaphoreSet.open("private", { count: 1, mode }));
      assert.equal(set.stat().mode, mode);
      assert.equal(sysvSemaphoreSets().get(set.id)?.mode, mode);
    }
  });

  await t.step("by key: create, open again, create again, exclusive refused", () => {
    using s = new TestScope();
    const key = unusedKey();
    const set = s.semaphoreSet(
      SemaphoreSet.open(key, { create: true, exclusive: true, count: 2, values: [1, 2] }),
    );
    assert.equal(set.key, key);
    assert.equal(sysvSemaphoreSets().get(set.id)?.key, key);
    set.setValues([5, 6]);
    using same = SemaphoreSet.open(key);
    assert.deepEqual([same.id, same.count, same.key], [set.id, 2, key]);
    // create without exclusive finds it: the creator's values stay, these are not applied.
    using again = SemaphoreSet.open(key, { create: true, count: 2, values: [0, 0] });
    assert.equal(again.id, set.id);
    assert.deepEqual(again.values(), [5, 6]);
    using fewer = SemaphoreSet.open(key, { count: 1 });
    assert.equal(fewer.count, 2);
    assert.throws(
      () => SemaphoreSet.open(key, { create: true, exclusive: true, count: 2 }),
      systemError(Deno.errors.AlreadyExists, "EEXIST", "semget", keyText(key)),
    );
    assert.throws(
      () => SemaphoreSet.open(key, { count: 3 }),
      systemError(IpcError, "EINVAL", "semget", "fewer than 3 members"),
    );
    // As every other open: exclusive means nothing without create, and was dropped silently.
    assert.throws(() => SemaphoreSet.open(key, { exclusive: true }), /exclusive needs create/);
  });

  await t.step("a key without a set is NotFound, naming the key", () => {
    const key = unusedKey();
    assert.throws(
      () => SemaphoreSet.open(key),
      systemError(Deno.errors.NotFound, "ENOENT", "semget", { key }),
    );
  });

  await t.step("bad keys and options are refused before any syscall", () => {
    const key = unusedKey();
    const before = sysvSemaphoreSets().size;
    assert.throws(() => SemaphoreSet.open(0, { create: true, count: 1 }), RangeError);
    for (const k of [1.5, 2 ** 32, NaN, "1", null]) {
      const Class = typeof k === "number" ? RangeError : TypeError;
      assert.throws(() => SemaphoreSet.open(k as number, { count: 1 }), Class, String(k));
    }
    assert.throws(() => SemaphoreSet.open("private"), TypeError, "count is needed");
    assert.throws(() => SemaphoreSet.open(key, { create: true }), TypeError, "count is needed");
    const max = SemaphoreSet.limits().maxMembers;
    for (const count of [0, -1, 1.5, max + 1]) {
      assert.throws(() => SemaphoreSet.open("private", { count }), RangeError, "SEMMSL");
    }
    assert.throws(
      () => SemaphoreSet.open("private", { count: "2" as unknown as number }),
      TypeError,
    );
    for (const values of [-1, 32768, 1.5, [1], [1, 2, 3], [0, 40000]]) {
      assert.throws(() => SemaphoreSet.open("private", { count: 2, values }), RangeError);
    }
    assert.throws(
      () => SemaphoreSet.open("private", { count: 2, values: "1" as unknown as number }),
      TypeError,
    );
    for (const mode of [0o1000, -1, 1.5]) {
      assert.throws(() => SemaphoreSet.open("private", { count: 1, mode }), RangeError);
    }
    for (const initTimeout of [-1, NaN]) {
      assert.throws(() => SemaphoreSet.open("private", { count: 1, initTimeout }), RangeError);
    }
    assert.throws(
      () => SemaphoreSet.open("private", { count: 1, initTimeout: "5" as never }),
      /got "5" \(a string\)/,
    );
    assert.throws(
      () => SemaphoreSet.open(key, { create: "yes" as unknown as boolean, count: 1 }),
      TypeError,
    );
    assert.equal(sysvSemaphoreSets().size, before, "a set was made");
  });

  await t.step("opening an existing set asks for no permission bits", async () => {
    await using s = new TestScope();
    const key = unusedKey();
    // Owner may read, not alter: C's semget(key, 0, 0) opens it; asking for 0600 would be EACCES.
    s.semaphoreSet(SemaphoreSet.open(key, { create: true, count: 1, values: 1, mode: 0o400 }));
    const p = s.pipe();
    const child = s.fixture("sem_nocap.ts", { args: [String(key)], fds: { 1: p.writer } });
    p.writer.close();
    const out = await s.check(async () => {
      const text = await within(new Response(p.reader.readable).text(), "the child's report");
      await child.exits(0, text);
      return JSON.parse(text);
    });
    assert.deepEqual(out, {
      open: "ok",
      values: [1],
      take: { name: "PermissionDenied", code: "EACCES", syscall: "semop" },
      openCreate: "ok",
    });
  });
});

Deno.test("SemaphoreSet: creation and initialisation without a race", async (t) => {
  await t.step("an opener waits for the creator's first semop: TimedOut naming the key", () => {
    using s = new TestScope();
    const key = unusedKey();
    const id = rawSet(s, key, 2);
    assert.equal(sysvSemaphoreSets().get(id)?.otime, 0);
    for (const options of [{ initTimeout: 20 }, { create: true, count: 2, initTimeout: 0 }]) {
      assert.throws(
        () => SemaphoreSet.open(key, options),
        systemError(Deno.errors.TimedOut, "ETIMEDOUT", "semget", keyText(key)),
      );
    }
  });

  await t.step(
    "a set another program made: ready at its first semop, or 2 s after it was made or last set",
    async () => {
      // The classic protocol sets values one SETVAL at a time, then marks the set with a semop.
      // A set counted as ready at its first non-zero value: an opener saw [1, 0, 0] of [1, 5, 7].
      using s = new TestScope();
      const key = unusedKey();
      const id = rawSet(s, key, 3);
      SemaphoreSet.fromId(id).setValue(0, 1);
      assert.equal(sysvSemaphoreSets().get(id)?.otime, 0);
      assert.throws(
        () => SemaphoreSet.open(key, { initTimeout: 20 }),
        systemError(Deno.errors.TimedOut, "ETIMEDOUT", "semget", keyText(key)),
      );
      SemaphoreSet.fromId(id).setValue(1, 5);
      SemaphoreSet.fromId(id).tryOp([{ index: 2, delta: 7 }]); // the creator's last step
      using set = SemaphoreSet.open(key, { initTimeout: 0 });
      assert.deepEqual(set.values(), [1, 5, 7]);

      // Never marked by a semop: taken as it is once 2 s have passed since it was made or set.
      const setKey = unusedKey();
      const setOnly = rawSet(s, setKey, 2);
      SemaphoreSet.fromId(setOnly).setValue(1, 4);
      const zeroKey = unusedKey();
      const zero = rawSet(s, zeroKey, 2);
      const last = Math.max(
        sysvSemaphoreSets().get(setOnly)!.ctime,
        sysvSemaphoreSets().get(zero)!.ctime,
      );
      await until(() => Math.floor(Date.now() / 1000) - last >= 2, "the sets to be 2 s old");
      using old = SemaphoreSet.open(setKey, { initTimeout: 0 });
      assert.deepEqual(old.values(), [0, 4]);
      using zeros = SemaphoreSet.open(zeroKey, { initTimeout: 0 });
      assert.deepEqual([zeros.count, zeros.values()], [2, [0, 0]]);
    },
  );

  await t.step(
    "an opener that came before the initialisation sees the initial values",
    async () => {
      await using s = new TestScope();
      const key = unusedKey();
      // The set is made once the opener has started: a set left all 0 for 2 s counts as made so.
      const go = s.pipe();
      const late = new Peer(s, ["late", String(key)], { 3: go.reader.fd });
      await late.said("ready");
      const id = rawSet(s, key, 3);
      go.writer.close();
      await late.said("opening");
      const events = late.events();
      // Its main thread sleeps between polls of sem_otime: it has opened the set and waits.
      const [futex] = syscallNumbers("futex");
      let ended = false;
      events.then(() => ended = true, () => ended = true);
      await s.check(() =>
        until(
          () => ended || mainThreadIn(late.pid, futex),
          "the opener to wait for the initialisation",
        )
      );
      if (ended) assert.fail(`the opener did not wait: ${JSON.stringify(await events)}`);
      rawInitialise(id, [3, 0, 9]);
      assert.deepEqual(await events, [{ values: [3, 0, 9] }]);
    },
  );

  await t.step("a creator and openers started at once: all see the initial values", async () => {
    // Under emulation a round takes half a minute: six Deno processes start.
    for (let round = 0; round < (EMULATED ? 1 : 3); round++) {
      await using s = new TestScope();
      const key = unusedKey();
      try {
        // All start at once when the parent closes the pipe on their fd 3. The openers spin
        // on semget while the set does not exist, so they find it the moment a creator
        // makes it, before it has initialised it.
        const go = s.pipe();
        const peers = ["open", "open", "open", "open", "create", "create"].map((how) =>
          new Peer(s, ["open", String(key), how, "3", "5,6,7"], { 3: go.reader.fd })
        );
        for (const peer of peers) await peer.said("ready");
        go.writer.close();
        for (const peer of peers) assert.deepEqual(await peer.events(), [{ values: [5, 6, 7] }]);
        const sets = [...sysvSemaphoreSets().values()].filter((x) => x.key === key);
        assert.equal(sets.length, 1);
        assert.notEqual(sets[0].otime, 0);
      } finally {
        for (const set of sysvSemaphoreSets().values()) {
          if (set.key === key) s.semaphoreSet(set.id);
        }
      }
    }
  });
});

Deno.test("SemaphoreSet.fromId(), ftok() and limits()", async (t) => {
  await t.step("fromId: the same set through another handle; a bad or stale id refused", () => {
    using s = new TestScope();
    const set = privateSet(s, 2, [1, 2]);
    using other = SemaphoreSet.fromId(set.id);
    assert.deepEqual([other.id, other.key, other.count], [set.id, 0, 2]);
    other.tryOp([{ index: 1, delta: 1 }]);
    assert.deepEqual(set.values(), [1, 3]);
    for (const id of [-1, 1.5, 2 ** 31, NaN, "3"]) {
      const Class = typeof id === "number" ? RangeError : TypeError;
      assert.throws(() => SemaphoreSet.fromId(id as number), Class, String(id));
    }
    const gone = SemaphoreSet.open("private", { count: 1 });
    gone.remove();
    assert.throws(
      () => SemaphoreSet.fromId(gone.id),
      systemError(IpcError, "EINVAL", "semctl", { id: gone.id }),
    );
  });

  await t.step("ftok: the same key from the same file and projId", async () => {
    await using s = new TestScope();
    const dir = await s.tempDir("libc-ipc-sem-");
    assert.equal(SemaphoreSet.ftok(dir, 9), SemaphoreSet.ftok(new URL(`file://${dir}`), 9));
    assert.equal(SemaphoreSet.ftok(dir, 9) >>> 24, 9);
    assert.throws(() => SemaphoreSet.ftok(dir, 0), RangeError);
    assert.throws(
      () => SemaphoreSet.ftok(`${dir}/missing`, 1),
      systemError(Deno.errors.NotFound, "ENOENT", "ftok"),
    );
  });

  await t.step("limits: the kernel's figures", () => {
    const [semmsl, , semopm, semmni] = readProcFile("/proc/sys/kernel/sem").trim().split(/\s+/)
      .map(Number);
    assert.deepEqual(SemaphoreSet.limits(), {
      maxValue: 32767,
      maxUndo: 32767,
      maxOpsPerCall: semopm,
      maxMembers: semmsl,
      maxSets: semmni,
    });
    assert.equal(SemaphoreSet.limits(), SemaphoreSet.limits(), "read once");
  });
});

Deno.test("SemaphoreSet values, waiters and pids through semctl", async (t) => {
  await t.step("value, values, setValue, setValues; bad ones refused before any syscall", () => {
    using s = new TestScope();
    const set = privateSet(s, 3);
    set.setValue(1, 7);
    assert.deepEqual([set.value(0), set.value(1)], [0, 7]);
    set.setValues([1, 2, 32767]);
    assert.deepEqual(set.values(), [1, 2, 32767]);
    for (const index of [-1, 3, 1.5]) {
      assert.throws(() => set.value(index), RangeError);
      assert.throws(() => set.setValue(index, 1), RangeError);
      assert.throws(() => set.pid(index), RangeError);
      assert.throws(() => set.waitingForIncrease(index), RangeError);
      assert.throws(() => set.waitingForZero(index), RangeError);
    }
    assert.throws(() => set.value("0" as unknown as number), TypeError);
    for (const value of [-1, 32768, 0.5]) {
      assert.throws(() => set.setValue(0, value), RangeError, "SEMVMX");
    }
    for (const values of [[1, 2], [1, 2, 3, 4], [0, 0, 32768]]) {
      assert.throws(() => set.setValues(values), RangeError);
    }
    assert.throws(() => set.setValues(7 as unknown as number[]), TypeError);
    assert.deepEqual(set.values(), [1, 2, 32767]);
  });

  await t.step("pid: the last process that operated on a member", async () => {
    await using s = new TestScope();
    const set = privateSet(s, 2, [1, 0]);
    assert.equal(set.pid(0), Deno.pid); // the creator's initialising semop
    const peer = new Peer(s, ["op", "sync", String(set.id), "1", "2"]);
    assert.deepEqual(await peer.events(), [{ done: true }]);
    assert.deepEqual([set.pid(0), set.pid(1)], [Deno.pid, peer.pid]);
    assert.equal(set.value(1), 2);
  });

  await t.step(
    unless(
      CANNOT.parking,
      "waitingForIncrease and waitingForZero count the processes asleep",
      async () => {
        await using s = new TestScope();
        const set = privateSet(s, 2, [0, 1]);
        assert.deepEqual([set.waitingForIncrease(0), set.waitingForZero(1)], [0, 0]);
        const taker = new Peer(s, ["op", "sync", String(set.id), "0", "-1"]);
        const zero = new Peer(s, ["op", "async", String(set.id), "1", "0"]);
        await s.check(() => blockedOn(taker.pid, set.id));
        await s.check(() => blockedOn(zero.pid, set.id));
        assert.deepEqual([set.waitingForIncrease(0), set.waitingForZero(1)], [1, 1]);
        assert.deepEqual([set.waitingForIncrease(1), set.waitingForZero(0)], [0, 0]);
        // This process's own parked wait counts too.
        const mine = quiet(set.op([{ index: 0, delta: -1 }]));
        await until(() => parkedOn(set.id).length === 1, "this process's semop to park");
        assert.equal(set.waitingForIncrease(0), 2);
        set.tryOp([{ index: 0, delta: 2 }, { index: 1, delta: -1 }]);
        await within(mine, "the parked semop");
        assert.deepEqual(await taker.events(), [{ done: true }]);
        assert.deepEqual(await zero.events(), [{ done: true }]);
        assert.deepEqual(set.values(), [0, 0]);
        assert.deepEqual([set.waitingForIncrease(0), set.waitingForZero(1)], [0, 0]);
      },
    ),
  );
});

Deno.test("SemaphoreSet operations are atomic, in three forms", async (t) => {
  await t.step("tryOp: all the operations or none", () => {
    using s = new TestScope();
    const set = privateSet(s, 2, [1, 0]);
    assert.throws(
      () => set.tryOp([{ index: 0, delta: -1 }, { index: 1, delta: -1 }]),
      systemError(Deno.errors.WouldBlock, "EAGAIN", "semop", { id: set.id }),
    );
    assert.deepEqual(set.values(), [1, 0]);
    set.tryOp([{ index: 0, delta: -1 }, { index: 1, delta: 3 }, { index: 1, delta: -1 }]);
    assert.deepEqual(set.values(), [0, 2]);
    set.tryOp([{ index: 0, delta: 0 }]); // zero: passes
    assert.throws(() => set.tryOp([{ index: 1, delta: 0 }]), Deno.errors.WouldBlock);
  });

  await t.step(
    unless(
      CANNOT.parking,
      "op(): waits until every operation can proceed, then does all at once",
      async () => {
        using s = new TestScope();
        const set = privateSet(s, 2);
        using other = SemaphoreSet.fromId(set.id);
        const both = quiet(set.op([{ index: 0, delta: -1 }, { index: 1, delta: -1 }]));
        const settled = settledFlag(both);
        await until(() => parkedOn(set.id).length === 1, "the semop to park");
        other.tryOp([{ index: 0, delta: 1 }]);
        // Member 0 alone could be taken: it is not, the call still sleeps in the kernel.
        assert.equal(set.value(0), 1);
        assert.equal(set.waitingForIncrease(1), 1);
        assert.equal(settled(), false);
        other.tryOp([{ index: 1, delta: 1 }]);
        await within(both, "the semop on both members");
        assert.deepEqual(set.values(), [0, 0]);
      },
    ),
  );

  await t.step("opSync(): blocks until another process makes room", async () => {
    await using s = new TestScope();
    const set = privateSet(s, 1);
    const giver = new Peer(s, ["op", "sync", String(set.id), "0", "3"]);
    set.opSync([{ index: 0, delta: -3 }], { timeout: HANG_MS });
    assert.deepEqual(await giver.events(), [{ done: true }]);
    assert.equal(set.value(0), 0);
  });

  await t.step(
    unless(CANNOT.parking, "a child's async op wakes when this process adds", async () => {
      await using s = new TestScope();
      const set = privateSet(s, 1);
      const taker = new Peer(s, ["op", "async", String(set.id), "0", "-2"]);
      await s.check(() => blockedOn(taker.pid, set.id));
      set.opSync([{ index: 0, delta: 2 }]);
      assert.deepEqual(await taker.events(), [{ done: true }]);
      assert.equal(set.value(0), 0);
    }),
  );

  await t.step(
    unless(CANNOT.parking, "waits with the same operations share one parked call", async () => {
      using s = new TestScope();
      const set = privateSet(s, 1);
      const waits = [1, 2, 3].map(() => quiet(set.op([{ index: 0, delta: -1 }])));
      await until(() => parkedOn(set.id).length > 0, "a semop to park");
      assert.equal(parkedOn(set.id).length, 1);
      assert.equal(set.waitingForIncrease(0), 1);
      set.setValue(0, 3);
      await within(Promise.all(waits), "every wait");
      assert.equal(set.value(0), 0);
    }),
  );

  await t.step("undo: the kernel gives back what a process took when it ends", async () => {
    await using s = new TestScope();
    const set = privateSet(s, 1, 2);
    const holder = new Peer(s, ["hold", String(set.id), "undo"]);
    await holder.said("held");
    assert.equal(set.value(0), 1);
    holder.fixture.child.kill("SIGKILL");
    await holder.fixture.status();
    assert.equal(set.value(0), 2);
  });

  await t.step("ERANGE past SEMVMX, with the id", () => {
    using s = new TestScope();
    const set = privateSet(s, 1, 32767);
    assert.throws(
      () => set.tryOp([{ index: 0, delta: 1 }]),
      systemError(IpcError, "ERANGE", "semop", { id: set.id }),
    );
    assert.throws(() => set.tryOp([{ index: 0, delta: 1 }]), /would pass SEMVMX/);
    assert.equal(set.value(0), 32767);
  });

  await t.step("bad operations are refused before any syscall", async () => {
    using s = new TestScope();
    const set = privateSet(s, 2, 1);
    const { maxOpsPerCall } = SemaphoreSet.limits();
    const bad: Array<[unknown, new (...args: never[]) => Error, string?]> = [
      [[], RangeError, "SEMOPM"],
      [Array(maxOpsPerCall + 1).fill({ index: 0, delta: 0 }), RangeError, "SEMOPM"],
      [{ index: 0, delta: 1 }, TypeError],
      [[null], TypeError],
      [[{ index: 0, delta: 1 }, 5], TypeError],
      [[{ index: 2, delta: 1 }], RangeError, "0..1"],
      [[{ index: -1, delta: 1 }], RangeError],
      [[{ index: 0.5, delta: 1 }], RangeError],
      [[{ index: "0", delta: 1 }], TypeError],
      [[{ index: 0, delta: 32768 }], RangeError, "SEMVMX"],
      [[{ index: 0, delta: -32768 }], RangeError, "SEMVMX"],
      [[{ index: 0, delta: 0.5 }], RangeError],
      [[{ index: 0 }], TypeError],
      [[{ index: 0, delta: 1, undo: 1 }], TypeError],
      [[{ index: 0, delta: 1, wait: "no" }], TypeError],
      // A good operation first: nothing is done either.
      [[{ index: 0, delta: 1 }, { index: 9, delta: 1 }], RangeError],
    ];
    for (const [ops, Class, text] of bad) {
      const o = ops as { index: number; delta: number }[];
      assert.throws(() => set.tryOp(o), Class, text);
      assert.throws(() => set.opSync(o), Class, text);
      await assert.rejects(set.op(o), Class, text);
    }
    assert.deepEqual(set.values(), [1, 1]);
  });
});

Deno.test("SemaphoreSet: wait: false fails the call instead of waiting", async (t) => {
  await t.step(
    "the operation that stops the call has wait: false: WouldBlock at once",
    async () => {
      using s = new TestScope();
      const set = privateSet(s, 2, [1, 0]);
      const ops = [{ index: 0, delta: -1 }, { index: 1, delta: -1, wait: false }];
      const wouldBlock = systemError(Deno.errors.WouldBlock, "EAGAIN", "semop", "wait: false");
      assert.throws(() => set.tryOp(ops), wouldBlock);
      assert.throws(() => set.opSync(ops), wouldBlock);
      await assert.rejects(set.op(ops), wouldBlock);
      assert.deepEqual(set.values(), [1, 0]);
    },
  );

  await t.step("an earlier operation that waits makes the call wait", async () => {
    using s = new TestScope();
    const set = privateSet(s, 2);
    const ops = [{ index: 0, delta: -1 }, { index: 1, delta: -1, wait: false }];
    assert.throws(() => set.opSync(ops, { timeout: 5 }), Deno.errors.TimedOut);
    await assert.rejects(set.op(ops, { timeout: 5 }), Deno.errors.TimedOut);
    assert.throws(() => set.tryOp(ops), (e) => {
      assert.ok(e instanceof Deno.errors.WouldBlock);
      assert.ok(!(e as Error).message.includes("wait: false"));
      return true;
    });
  });

  await t.step(
    unless(
      CANNOT.parking,
      "a parked call whose wait: false operation stops it after a wake fails",
      async () => {
        using s = new TestScope();
        const set = privateSet(s, 2, [0, 1]);
        const pending = quiet(
          set.op([{ index: 0, delta: -1 }, { index: 1, delta: -1, wait: false }]),
        );
        await until(() => parkedOn(set.id).length === 1, "the semop to park");
        set.setValues([1, 0]);
        await assert.rejects(
          within(pending, "the parked semop"),
          systemError(Deno.errors.WouldBlock, "EAGAIN", "semop", "wait: false"),
        );
        assert.deepEqual(set.values(), [1, 0]);
      },
    ),
  );
});

Deno.test("SemaphoreSet waits end by timeout, abort, close and removal", async (t) => {
  await t.step("timeouts: TimedOut, ETIMEDOUT, naming the id", async () => {
    using s = new TestScope();
    const set = privateSet(s, 1);
    const timedOut = systemError(Deno.errors.TimedOut, "ETIMEDOUT", "semop", { id: set.id });
    const ops = [{ index: 0, delta: -1 }];
    await assert.rejects(set.op(ops, { timeout: 10 }), timedOut);
    assert.throws(() => set.opSync(ops, { timeout: 10 }), timedOut);
    await assert.rejects(set.op(ops, { timeout: 0 }), timedOut);
    assert.throws(() => set.opSync(ops, { timeout: 0 }), timedOut);
    await until(() => parkedOn(set.id).length === 0, "the parked semop to end");
    assert.equal(set.waitingForIncrease(0), 0);
    for (const timeout of [-1, NaN]) {
      await assert.rejects(set.op(ops, { timeout }), RangeError);
      assert.throws(() => set.opSync(ops, { timeout }), RangeError);
    }
  });

  await t.step("abort: rejects with the reason, frees the thread, takes nothing", async () => {
    using s = new TestScope();
    const set = privateSet(s, 1);
    const ac = new AbortController();
    const pending = quiet(set.op([{ index: 0, delta: -1 }], { signal: ac.signal }));
    await ownWaitPending({ syscall: "semtimedop", arg0: set.id });
    const reason = new Error("stop");
    ac.abort(reason);
    await assert.rejects(within(pending, "the aborted semop"), (e) => e === reason);
    await until(() => parkedOn(set.id).length === 0, "the parked semop to end");
    assert.equal(set.waitingForIncrease(0), 0);
    set.setValue(0, 1);
    assert.equal(set.value(0), 1);
    await assert.rejects(
      set.op([{ index: 0, delta: -2 }], { signal: ac.signal }),
      (e) => e === reason,
    );
    await assert.rejects(
      set.op([{ index: 0, delta: -1 }], { signal: {} as AbortSignal }),
      TypeError,
    );
  });

  await t.step(
    "close(): pending and later calls fail with BadResource, EBADF, the id",
    async () => {
      using s = new TestScope();
      const set = privateSet(s, 1);
      const pending = [
        quiet(set.op([{ index: 0, delta: -1 }])),
        quiet(set.op([{ index: 0, delta: -1 }], { timeout: 60_000 })),
      ];
      await ownWaitPending({ syscall: "semtimedop", arg0: set.id });
      set.close();
      set.close(); // twice: nothing
      assert.equal(set.closed, true);
      const closed = systemError(Deno.errors.BadResource, "EBADF", "semop", { id: set.id });
      const errors = await within(
        Promise.all(pending.map((p) => p.then(() => null, (e) => e))),
        "the cancelled semops",
      );
      for (const e of errors) closed(e);
      assert.notEqual(errors[0], errors[1], "each wait gets an error of its own");
      await until(() => parkedOn(set.id).length === 0, "the parked semop to end");
      const ops = [{ index: 0, delta: 1 }];
      await assert.rejects(set.op(ops), closed);
      assert.throws(() => set.opSync(ops), closed);
      assert.throws(() => set.tryOp(ops), closed);
      const closedCtl = systemError(Deno.errors.BadResource, "EBADF", "semctl", { id: set.id });
      assert.throws(() => set.value(0), closedCtl);
      assert.throws(() => set.values(), closedCtl);
      assert.throws(() => set.stat(), closedCtl);
      assert.throws(() => set.remove(), closedCtl);
      assert.ok(sysvSemaphoreSets().has(set.id), "the set outlives the handle");
    },
  );

  await t.step("using closes the handle at the end of the block", () => {
    using s = new TestScope();
    let outer: SemaphoreSet;
    {
      using set = SemaphoreSet.open("private", { count: 1 });
      s.semaphoreSet(set.id);
      outer = set;
      assert.equal(set.closed, false);
    }
    assert.equal(outer.closed, true);
    assert.ok(sysvSemaphoreSets().has(outer.id));
  });

  await t.step(
    unless(
      CANNOT.parking,
      "removal wakes this process's parked op at once with EIDRM",
      async () => {
        using s = new TestScope();
        const set = privateSet(s, 1);
        const pending = quiet(set.op([{ index: 0, delta: -1 }]));
        await until(() => parkedOn(set.id).length === 1, "the semop to park");
        using other = SemaphoreSet.fromId(set.id);
        other.remove();
        await assert.rejects(
          within(pending, "the semop after removal"),
          systemError(IpcError, "EIDRM", "semop", { id: set.id }),
        );
        assert.equal(other.closed, true);
      },
    ),
  );

  await t.step("removal wakes another process's opSync with EIDRM", async () => {
    await using s = new TestScope();
    const set = privateSet(s, 1);
    const taker = new Peer(s, ["op", "sync", String(set.id), "0", "-1"]);
    await s.check(() => blockedOn(taker.pid, set.id));
    set.remove();
    const events = await taker.events() as Array<Record<string, unknown>>;
    assert.deepEqual(
      events.map(({ error, code, syscall }) => ({ error, code, syscall })),
      [{ error: "IpcError", code: "EIDRM", syscall: "semop" }],
    );
  });

  await t.step("every call through a handle whose set was removed says EIDRM", () => {
    using s = new TestScope();
    const set = privateSet(s, 1, 1);
    using other = SemaphoreSet.fromId(set.id);
    set.remove();
    const removed = (syscall: string) => systemError(IpcError, "EIDRM", syscall, { id: set.id });
    assert.throws(() => other.tryOp([{ index: 0, delta: -1 }]), removed("semop"));
    assert.throws(() => other.opSync([{ index: 0, delta: -1 }]), removed("semop"));
    assert.throws(() => other.value(0), removed("semctl"));
    assert.throws(() => other.values(), removed("semctl"));
    assert.throws(() => other.stat(), removed("semctl"));
    assert.throws(() => other.remove(), removed("semctl"));
  });
});

Deno.test("SemaphoreSet.stat() reports what the kernel lists", () => {
  using s = new TestScope();
  const key = unusedKey();
  const before = Date.now();
  const set = s.semaphoreSet(
    SemaphoreSet.open(key, { create: true, exclusive: true, count: 3, values: 1, mode: 0o640 }),
  );
  const after = Date.now();
  const st = set.stat();
  const row = sysvSemaphoreSets().get(set.id)!;
  assert.deepEqual(
    [st.key, st.members, st.mode, st.uid, st.gid, st.creatorUid, st.creatorGid],
    [key, 3, 0o640, Deno.uid(), Deno.gid(), Deno.uid(), Deno.gid()],
  );
  assert.deepEqual([row.key, row.members, row.mode, row.uid, row.gid], [
    key,
    3,
    0o640,
    st.uid,
    st.gid,
  ]);
  for (const date of [st.lastOp, st.lastChange]) assertAround(date, before, after);
  assert.equal(st.lastOp!.getTime() / 1000, row.otime);
});
