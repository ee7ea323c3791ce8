/**
 * One System V semaphore as a lock or counter (src/sem/semaphore.ts) against
 * the kernel: values through the tests' own semctl, children that hold it,
 * die holding it, or contend for it.
 */
import assert from "node:assert/strict";
import { IpcError, Semaphore, SemaphoreSet } from "../mod.ts";
import {
  blockedIn,
  CANNOT,
  libc,
  ownWaitPending,
  systemError,
  sysvSemaphoreSets,
  TestScope,
  threadsBlockedIn,
  unless,
  until,
  within,
} from "./_kernel.ts";
import { mapShared, sharedFd, unmap } from "./fixtures/wait_futex_common.ts";
import { keyText, Peer, unusedKey } from "./fixtures/sem_common.ts";

const GETVAL = 12;

/** The value of member 0 of set `id`, read with the tests' own semctl. */
function kernelValue(id: number): number {
  return libc.semctl(id, 0, GETVAL, null);
}

/** A new private semaphore, removed at the end of the scope. */
function privateSemaphore(s: TestScope, value?: number): Semaphore {
  return s.semaphoreSet(Semaphore.open("private", { value }));
}

/** `p`, marked handled: a wait a failed assertion leaves pending rejects later, not as uncaught. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/** Threads of this process asleep in `semtimedop` on set `id`. */
const parkedOn = (id: number) => threadsBlockedIn(Deno.pid, { syscall: "semtimedop", arg0: id });

Deno.test("Semaphore.open() and fromId()", async (t) => {
  await t.step('"private": value 1 (a free lock), one member, mode 0600', () => {
    using s = new TestScope();
    const sem = privateSemaphore(s);
    assert.deepEqual([sem.value, kernelValue(sem.id), sem.key, sem.set.count], [1, 1, 0, 1]);
    assert.equal(sem.id, sem.set.id);
    const row = sysvSemaphoreSets().get(sem.id);
    assert.deepEqual([row?.mode, row?.members], [0o600, 1]);
    assert.notEqual(row?.otime, 0, "initialised by a semop");
  });

  await t.step("value: the initial count", () => {
    using s = new TestScope();
    assert.equal(privateSemaphore(s, 0).value, 0);
    assert.equal(kernelValue(privateSemaphore(s, 32767).id), 32767);
    for (const value of [-1, 32768, 1.5]) {
      assert.throws(() => Semaphore.open("private", { value }), RangeError, "SEMVMX");
    }
    assert.throws(() => Semaphore.open("private", { value: "1" as unknown as number }), TypeError);
  });

  await t.step("by key: create, open, exclusive refused, missing NotFound", () => {
    using s = new TestScope();
    const key = unusedKey();
    assert.throws(
      () => Semaphore.open(key),
      systemError(Deno.errors.NotFound, "ENOENT", "semget", keyText(key)),
    );
    const sem = s.semaphoreSet(Semaphore.open(key, { create: true, exclusive: true, value: 2 }));
    assert.equal(sem.key, key);
    using same = Semaphore.open(key);
    assert.deepEqual([same.id, same.value], [sem.id, 2]);
    using created = Semaphore.open(key, { create: true, value: 9 });
    assert.deepEqual([created.id, created.value], [sem.id, 2]);
    assert.throws(
      () => Semaphore.open(key, { create: true, exclusive: true }),
      systemError(Deno.errors.AlreadyExists, "EEXIST", "semget", keyText(key)),
    );
    assert.throws(() => Semaphore.open(key, { exclusive: true }), /exclusive needs create/);
  });

  await t.step("fromId: member 0 of an existing set", () => {
    using s = new TestScope();
    const set = s.semaphoreSet(SemaphoreSet.open("private", { count: 2, values: [4, 5] }));
    using sem = Semaphore.fromId(set.id);
    assert.deepEqual([sem.value, sem.key, sem.set.count], [4, 0, 2]);
    assert.throws(() => Semaphore.fromId(-1), RangeError);
    assert.throws(() => Semaphore.fromId("3" as unknown as number), TypeError);
  });
});

Deno.test("Semaphore acquire and release", async (t) => {
  await t.step("using: held for the block, released at its end", async () => {
    using s = new TestScope();
    const sem = privateSemaphore(s);
    {
      using _held = await sem.acquire();
      assert.equal(kernelValue(sem.id), 0);
    }
    assert.equal(kernelValue(sem.id), 1);
    {
      using _held = sem.acquireSync();
      assert.equal(kernelValue(sem.id), 0);
    }
    {
      using _held = sem.tryAcquire();
      assert.equal(kernelValue(sem.id), 0);
    }
    assert.equal(kernelValue(sem.id), 1);
  });

  await t.step("disposing twice releases once", () => {
    using s = new TestScope();
    const sem = privateSemaphore(s);
    const held = sem.tryAcquire();
    held[Symbol.dispose]();
    held[Symbol.dispose]();
    assert.equal(kernelValue(sem.id), 1);
  });

  await t.step("a counting semaphore: value 3 lets three in, the fourth waits", async () => {
    using s = new TestScope();
    const sem = privateSemaphore(s, 3);
    const held = [sem.tryAcquire(), sem.acquireSync(), await sem.acquire()];
    assert.equal(sem.value, 0);
    assert.throws(
      () => sem.tryAcquire(),
      systemError(Deno.errors.WouldBlock, "EAGAIN", "semop", { id: sem.id }),
    );
    assert.throws(
      () => sem.acquireSync({ timeout: 5 }),
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", "semop", { id: sem.id }),
    );
    await assert.rejects(
      sem.acquire({ timeout: 5 }),
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", "semop", { id: sem.id }),
    );
    for (const h of held) h[Symbol.dispose]();
    assert.equal(sem.value, 3);
  });

  await t.step(
    unless(CANNOT.parking, "an async acquire waits until another handle releases", async () => {
      using s = new TestScope();
      const sem = privateSemaphore(s, 0);
      const pending = quiet(sem.acquire({ undo: false }));
      await until(() => parkedOn(sem.id).length === 1, "the acquire to park");
      assert.equal(sem.set.waitingForIncrease(0), 1);
      using other = Semaphore.fromId(sem.id);
      other.release({ undo: false });
      const held = await within(pending, "the acquire");
      assert.equal(kernelValue(sem.id), 0);
      held[Symbol.dispose]();
      assert.equal(kernelValue(sem.id), 1);
    }),
  );

  await t.step("release() adds one; past SEMVMX it is ERANGE", () => {
    using s = new TestScope();
    const sem = privateSemaphore(s, 32766);
    sem.release({ undo: false });
    assert.equal(kernelValue(sem.id), 32767);
    assert.throws(
      () => sem.release({ undo: false }),
      systemError(IpcError, "ERANGE", "semop", { id: sem.id }),
    );
  });

  await t.step("count: several units at once, given back as many", async () => {
    // As sysv_ipc's acquire(delta=n) and release(n): one semop, all or nothing.
    using s = new TestScope();
    const sem = privateSemaphore(s, 5);
    const three = sem.tryAcquire({ count: 3 });
    assert.equal(kernelValue(sem.id), 2);
    assert.throws(() => sem.tryAcquire({ count: 3 }), Deno.errors.WouldBlock);
    assert.throws(() => sem.acquireSync({ count: 3, timeout: 5 }), Deno.errors.TimedOut);
    assert.equal(kernelValue(sem.id), 2, "nothing taken by the refused ones");
    const pending = sem.acquire({ count: 4, undo: false });
    three[Symbol.dispose]();
    const four = await within(pending, "the acquire of 4");
    assert.equal(kernelValue(sem.id), 1);
    four[Symbol.dispose]();
    assert.equal(kernelValue(sem.id), 5);
    sem.release({ count: 10, undo: false });
    assert.equal(kernelValue(sem.id), 15);
    using _held = sem.acquireSync({ count: 15 });
    assert.equal(kernelValue(sem.id), 0);
    for (const count of [0, -1, 1.5, 32768]) {
      assert.throws(() => sem.release({ count }), RangeError);
      assert.throws(() => sem.tryAcquire({ count }), RangeError);
      await assert.rejects(sem.acquire({ count }), RangeError);
    }
    assert.throws(() => sem.release({ count: "2" as never }), TypeError);
  });

  await t.step("bad undo flags are TypeErrors before any syscall", async () => {
    using s = new TestScope();
    const sem = privateSemaphore(s);
    const undo = "yes" as unknown as boolean;
    await assert.rejects(sem.acquire({ undo }), TypeError);
    assert.throws(() => sem.acquireSync({ undo }), TypeError);
    assert.throws(() => sem.tryAcquire({ undo }), TypeError);
    assert.throws(() => sem.release({ undo }), TypeError);
    assert.equal(kernelValue(sem.id), 1);
  });
});

Deno.test("Semaphore: a holder that dies gives it back with undo, not without", async (t) => {
  await t.step("undo (the default): SIGKILL while holding, the value comes back", async () => {
    await using s = new TestScope();
    const sem = privateSemaphore(s);
    const holder = new Peer(s, ["hold", String(sem.id), "undo"]);
    await s.check(() => until(() => kernelValue(sem.id) === 0, "the child to hold it"));
    holder.fixture.child.kill("SIGKILL");
    await s.check(() => until(() => kernelValue(sem.id) === 1, "the kernel to undo it"));
    await holder.fixture.status();
  });

  await t.step("undo: false: the value stays taken after the holder is gone", async () => {
    await using s = new TestScope();
    const sem = privateSemaphore(s);
    const holder = new Peer(s, ["hold", String(sem.id), "noundo"]);
    await holder.said("held");
    assert.equal(kernelValue(sem.id), 0);
    holder.fixture.child.kill("SIGKILL");
    const status = await holder.fixture.status();
    assert.equal(status.signal, "SIGKILL");
    // The child is reaped: its exit, undo included, is complete.
    assert.equal(kernelValue(sem.id), 0);
  });

  await t.step("acquire and release with undo balance: nothing to undo at exit", async () => {
    await using s = new TestScope();
    const sem = privateSemaphore(s);
    const peer = new Peer(s, ["balanced", String(sem.id)]);
    assert.deepEqual(await peer.events(), [{ done: true }]);
    assert.equal(kernelValue(sem.id), 1);
  });
});

Deno.test("Semaphore as a lock: critical sections of two processes never overlap", async () => {
  await using s = new TestScope();
  const sem = privateSemaphore(s);
  const fd = s.fd(sharedFd(4096));
  const view = mapShared(fd, 4096);
  try {
    const n = 3000;
    const child = new Peer(s, ["count", String(sem.id), String(n)], { 3: fd });
    for (let i = 0; i < n; i++) {
      using _held = await sem.acquire();
      assert.equal(Atomics.exchange(view, 2, 1), 0, "two processes in the critical section");
      // Not atomic on purpose: only the lock keeps the other side out.
      view[1] = view[1] + 1;
      Atomics.store(view, 2, 0);
    }
    assert.deepEqual(await child.events(), [{ done: true }]);
    assert.equal(view[1], 2 * n);
    assert.equal(kernelValue(sem.id), 1);
  } finally {
    unmap(view);
  }
});

Deno.test("Semaphore waits end by abort, close and removal", async (t) => {
  await t.step("abort: rejects with the reason; nothing taken", async () => {
    using s = new TestScope();
    const sem = privateSemaphore(s, 0);
    const ac = new AbortController();
    const pending = quiet(sem.acquire({ signal: ac.signal }));
    await ownWaitPending({ syscall: "semtimedop", arg0: sem.id });
    ac.abort(new Error("enough"));
    await assert.rejects(within(pending, "the aborted acquire"), /enough/);
    await until(() => parkedOn(sem.id).length === 0, "the parked semop to end");
    sem.release({ undo: false });
    assert.equal(kernelValue(sem.id), 1);
  });

  await t.step(
    "close(): a pending acquire rejects with BadResource; closing twice is nothing",
    async () => {
      using s = new TestScope();
      const sem = privateSemaphore(s, 0);
      const pending = quiet(sem.acquire());
      await ownWaitPending({ syscall: "semtimedop", arg0: sem.id });
      sem.close();
      sem.close();
      assert.equal(sem.closed, true);
      const closed = systemError(Deno.errors.BadResource, "EBADF", "semop", { id: sem.id });
      await assert.rejects(within(pending, "the cancelled acquire"), closed);
      assert.throws(() => sem.tryAcquire(), closed);
      assert.throws(() => sem.release(), closed);
      assert.throws(() => sem.value, systemError(Deno.errors.BadResource, "EBADF", "semctl"));
      assert.ok(sysvSemaphoreSets().has(sem.id), "the semaphore outlives the handle");
    },
  );

  await t.step(
    "a token held when its set is removed: disposing it does nothing, throws nothing",
    async () => {
      // It threw EINVAL naming a semctl the caller never made (removed through this handle), or
      // EIDRM (another one), and a SuppressedError put that in place of the block's own error.
      using s = new TestScope();
      const sem = privateSemaphore(s, 1);
      {
        using _held = await sem.acquire();
        sem.remove();
      }
      const again = privateSemaphore(s, 1);
      assert.throws(() => {
        using _held = again.acquireSync();
        SemaphoreSet.fromId(again.id).remove();
        throw new Error("the block's own");
      }, { message: "the block's own" });
    },
  );

  await t.step(
    unless(
      CANNOT.parking,
      "an acquire that completed as close() came resolves, and its release still gives back",
      async () => {
        // Its Disposable released through the closed handle: BadResource, the token kept taken.
        using s = new TestScope();
        const sem = privateSemaphore(s, 0);
        using other = Semaphore.fromId(sem.id);
        const pending = quiet(sem.acquire({ undo: false }));
        await ownWaitPending({ syscall: "semtimedop", arg0: sem.id });
        // The kernel performs the parked semop within this release, before close() comes.
        other.release({ undo: false });
        sem.close();
        const held = await within(pending, "the acquire that close() came after");
        assert.equal(other.value, 0);
        held[Symbol.dispose]();
        held[Symbol.dispose]();
        assert.equal(other.value, 1);
        // The same for a token held when its handle closes.
        const kept = other.acquireSync({ undo: false });
        other.close();
        kept[Symbol.dispose]();
        using third = Semaphore.fromId(sem.id);
        assert.equal(third.value, 1);
      },
    ),
  );

  await t.step("using closes the handle at the end of the block", () => {
    using s = new TestScope();
    let outer: Semaphore;
    {
      using sem = Semaphore.open("private");
      s.semaphoreSet(sem.id);
      outer = sem;
    }
    assert.equal(outer.closed, true);
  });

  await t.step(
    unless(CANNOT.parking, "remove(): a waiter in another process wakes with EIDRM", async () => {
      await using s = new TestScope();
      const sem = privateSemaphore(s, 0);
      const taker = new Peer(s, ["op", "async", String(sem.id), "0", "-1"]);
      await s.check(() => blockedIn(taker.pid, { syscall: "semtimedop", arg0: sem.id }));
      sem.remove();
      assert.equal(sem.closed, true);
      const events = await taker.events() as Array<Record<string, unknown>>;
      assert.deepEqual(
        events.map(({ error, code }) => ({ error, code })),
        [{ error: "IpcError", code: "EIDRM" }],
      );
      assert.equal(sysvSemaphoreSets().has(sem.id), false);
    }),
  );
});
