/**
 * The public cross-process wait/notify (src/shm/futex.ts): `wait`,
 * `waitSync` and `notify` on words of shared memory, between this process,
 * Deno children (tests/fixtures/futex_peer.ts) and Workers. Every wait is
 * observed in the kernel (a thread asleep in `futex`/`futex_waitv` on the
 * word's address, read from /proc) before anything wakes it.
 */
import assert from "node:assert/strict";
import { type FdReader, notify, PosixSharedMemory, spawn, wait, waitSync } from "../mod.ts";
import { useFutexFallback } from "../src/_wait/futex.ts";
import { threadsHeld } from "../src/_wait/budget.ts";
import { wordsKept } from "../src/shm/futex.ts";
import {
  blockedIn,
  CANNOT,
  cstr,
  errno,
  type Fixture,
  fixtureUrl,
  HANG_MS,
  libc,
  readAll,
  runCollect,
  systemError,
  TestScope,
  threadsBlockedIn,
  threadStates,
  unless,
  until,
  within,
} from "./_kernel.ts";
import { COUNTING } from "./fixtures/futex_lock.ts";

const SIZE = 4096;
/** FUTEX_WAIT as the kernel shows it in a blocked thread's arguments: shared, not private. */
const FUTEX_WAIT = 0;
/** Values no other waiter of the machine uses, to find our sleepers by their arguments. */
const TAG = 0x5eed;
const F_DUPFD_CLOEXEC = 1030;

// ------------------------------------------------------------------ helpers

/** The address of `view[index]`, as the kernel sees it in a futex call's arguments. */
function addressOf(view: Int32Array, index: number): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view))) + BigInt(index * 4);
}

/** `struct futex_waitv` (kernel ABI): u64 val, u64 uaddr, u32 flags, u32 reserved. */
const WAITV_ENTRY = 24;
const WAITV_UADDR = 8;

/**
 * The words each thread of this process asleep in `futex_waitv` waits on:
 * the addresses in its list, read from /proc/self/mem at the call's first
 * argument.
 */
function waitvLists(): Map<number, bigint[]> {
  const lists = new Map<number, bigint[]>();
  const numbers = [449]; // futex_waitv, the same on x86_64 and aarch64
  const mem = libc.open(cstr("/proc/self/mem"), 0o2000000, 0);
  if (mem < 0) throw new Error(`cannot open /proc/self/mem, errno ${errno()}`);
  try {
    for (const s of threadStates(Deno.pid) ?? []) {
      if (s.syscall === undefined || !numbers.includes(s.syscall) || s.wchan === "0") continue;
      const [list, count] = s.args;
      const buf = new Uint8Array(WAITV_ENTRY * Number(count));
      if (libc.pread(mem, buf, buf.length, list) !== buf.length) continue;
      const view = new DataView(buf.buffer);
      lists.set(
        s.tid,
        Array.from(
          { length: Number(count) },
          (_, i) => view.getBigUint64(i * WAITV_ENTRY + WAITV_UADDR, true),
        ),
      );
    }
  } finally {
    libc.close(mem);
  }
  return lists;
}

/** The threads of this process asleep in `futex_waitv` on any of `addresses`. */
function waitvThreadsOn(addresses: bigint[]): Map<number, bigint[]> {
  return new Map([...waitvLists()].filter(([, list]) => addresses.some((a) => list.includes(a))));
}

/** Waits until every one of `addresses` is in the list of a thread asleep in `futex_waitv`. */
function parkedOn(addresses: bigint[], what: string): Promise<Map<number, bigint[]>> {
  return until(() => {
    const threads = waitvThreadsOn(addresses);
    const all = [...threads.values()].flat();
    return addresses.every((a) => all.includes(a)) && threads;
  }, `${what}: a futex_waitv over the words`);
}

/** Waits until no thread of this process sleeps in `futex_waitv` on any of `addresses`. */
function notParkedOn(addresses: bigint[], what: string): Promise<true> {
  return until(() => waitvThreadsOn(addresses).size === 0, `${what}: no futex_waitv on the words`);
}

/** Shared memory for one test, closed by the scope, and the words over it. */
function sharedWords(s: TestScope): { shm: PosixSharedMemory; words: Int32Array } {
  const shm = s.handle(PosixSharedMemory.anonymous(SIZE));
  return { shm, words: new Int32Array(shm.bytes.buffer) };
}

/** A child running futex_peer.ts on `shm` (as its fd 3), its stdout collected. */
class Peer {
  readonly fixture: Fixture;
  readonly #out: FdReader;

  constructor(s: TestScope, shm: PosixSharedMemory, ...args: Array<string | number>) {
    const p = s.pipe();
    this.fixture = s.fixture("futex_peer.ts", {
      args: args.map(String),
      fds: { 1: p.writer, 3: shm },
    });
    p.writer.close();
    this.#out = p.reader;
  }

  get pid(): number {
    return this.fixture.pid;
  }

  /** What it printed, once it has exited with 0. */
  async output(): Promise<string> {
    const text = await this.fixture.check(() => readAll(this.#out));
    await this.fixture.exits(0, `stdout: ${text}`);
    return text.trim();
  }
}

/** Waits until a thread of `pid` sleeps in FUTEX_WAIT (shared) for `value`. */
function sleepsFor(pid: number, value: number): Promise<number> {
  return blockedIn(pid, { syscall: "futex", args: { 1: FUTEX_WAIT, 2: value } });
}

// ------------------------------------------------------------------ tests

Deno.test("wait/notify: bad arguments are refused before any call", async (t) => {
  await t.step("memory that is not the library's shared memory: TypeError", async () => {
    using s = new TestScope();
    const { words } = sharedWords(s);
    const ordinary = new Int32Array(16);
    const sab = new Int32Array(new SharedArrayBuffer(64));
    for (const view of [ordinary, sab]) {
      await assert.rejects(wait(view, 0, 0), TypeError);
      assert.throws(() => waitSync(view, 0, 1), TypeError);
      assert.throws(() => notify(view, 0), TypeError);
    }
    // Over shared memory, but not an Int32Array.
    const wrong = [
      new Uint32Array(words.buffer),
      new BigInt64Array(words.buffer),
      new DataView(words.buffer),
      words.buffer,
      null,
      undefined,
      0,
    ] as unknown as Int32Array[];
    for (const view of wrong) {
      await assert.rejects(wait(view, 0, 0), { name: "TypeError", message: /Int32Array/ });
      assert.throws(() => waitSync(view, 0, 0), { name: "TypeError", message: /Int32Array/ });
      assert.throws(() => notify(view, 0), { name: "TypeError", message: /Int32Array/ });
    }
  });

  await t.step("indices, values, counts and options out of range: RangeError", async () => {
    using s = new TestScope();
    const { words } = sharedWords(s);
    // A subarray: its indices count from its own start.
    const part = words.subarray(8, 12);
    for (const index of [-1, 4, 1.5, NaN, Infinity]) {
      await assert.rejects(wait(part, index, 0), { name: "RangeError", message: /index/ });
      assert.throws(() => waitSync(part, index, 0), { name: "RangeError", message: /index/ });
      assert.throws(() => notify(part, index), { name: "RangeError", message: /index/ });
    }
    for (const expected of [2 ** 32, -(2 ** 31) - 1, 0.5, NaN]) {
      await assert.rejects(wait(words, 0, expected), { name: "RangeError", message: /expected/ });
      assert.throws(() => waitSync(words, 0, expected), {
        name: "RangeError",
        message: /expected/,
      });
    }
    for (const count of [-1, 1.5, NaN, -Infinity]) {
      assert.throws(() => notify(words, 0, count), { name: "RangeError", message: /count/ });
    }
    // Not numbers at all: TypeErrors that show what they were.
    const index = "0" as unknown as number;
    await assert.rejects(wait(part, index, 0), { name: "TypeError", message: /index.*"0"/ });
    assert.throws(() => waitSync(part, index, 0), { name: "TypeError", message: /index.*"0"/ });
    assert.throws(() => notify(part, index), { name: "TypeError", message: /index.*"0"/ });
    const expected = 1n as unknown as number;
    await assert.rejects(wait(words, 0, expected), { name: "TypeError", message: /expected.*1n/ });
    assert.throws(() => waitSync(words, 0, expected), {
      name: "TypeError",
      message: /expected.*1n/,
    });
    assert.throws(() => notify(words, 0, "1" as unknown as number), {
      name: "TypeError",
      message: /count/,
    });
    await assert.rejects(wait(words, 0, 0, { timeout: -1 }), RangeError);
    assert.throws(() => waitSync(words, 0, 0, { timeout: -1 }), RangeError);
    // The options are checked even when the word does not hold the value.
    assert.throws(() => waitSync(words, 0, 1, { timeout: NaN }), RangeError);
    await assert.rejects(
      wait(words, 0, 0, { signal: "stop" as unknown as AbortSignal }),
      TypeError,
    );
  });

  await t.step("a view of closed shared memory: TypeError, never a crash", async () => {
    const shm = PosixSharedMemory.anonymous(SIZE);
    const words = new Int32Array(shm.bytes.buffer);
    shm.close();
    await assert.rejects(wait(words, 0, 0), { name: "TypeError", message: /closed/ });
    assert.throws(() => waitSync(words, 0, 0), { name: "TypeError", message: /closed/ });
    assert.throws(() => notify(words, 0), { name: "TypeError", message: /closed/ });
  });
});

Deno.test("wait/notify on shared memory, across processes", async (t) => {
  await t.step("a word that does not hold the value: not-equal at once", async () => {
    using s = new TestScope();
    const { words } = sharedWords(s);
    Atomics.store(words, 0, 5);
    assert.equal(await wait(words, 0, 4), "not-equal");
    assert.equal(waitSync(words, 0, 4), "not-equal");
    // Unsigned and signed spellings of one 32-bit value are the same value.
    Atomics.store(words, 1, -1);
    assert.equal(waitSync(words, 1, 0xfffffffe), "not-equal");
    assert.throws(() => waitSync(words, 1, 0xffffffff, { timeout: 1 }), Deno.errors.TimedOut);
    assert.equal(waitvThreadsOn([addressOf(words, 0), addressOf(words, 1)]).size, 0);
  });

  await t.step(
    unless(
      CANNOT.futexWaitv,
      "an async wait sleeps until another process notifies, value unchanged",
      async () => {
        await using s = new TestScope();
        const { shm, words } = sharedWords(s);
        const woken = wait(words, 7, 0);
        await parkedOn([addressOf(words, 7)], "the wait");
        const peer = new Peer(s, shm, "notify", 7);
        // The kernel woke one waiter: this process's futex_waitv.
        assert.equal(await peer.output(), "1");
        assert.equal(await within(woken, "the wait"), "ok");
        assert.equal(Atomics.load(words, 7), 0);
        await notParkedOn([addressOf(words, 7)], "after the wake");
      },
    ),
  );

  await t.step(
    unless(CANNOT.futexWaitv, "100 waits on 100 words share one parked futex_waitv", async () => {
      await using s = new TestScope();
      const { shm, words } = sharedWords(s);
      const indices = Array.from({ length: 100 }, (_, i) => 100 + i);
      const addresses = indices.map((i) => addressOf(words, i));
      const waits = indices.map((i) => wait(words, i, 0));
      const threads = await parkedOn(addresses, "100 waits");
      assert.equal(threads.size, 1, `one thread waits for all 100: ${[...threads.keys()]}`);
      assert.deepEqual(
        addresses.filter((a) =>
          threadsBlockedIn(Deno.pid, { syscall: "futex", arg0: a }).length > 0
        ),
        [],
        "no word has a FUTEX_WAIT of its own",
      );
      const peer = new Peer(s, shm, "notify-each", 100, 100, 1);
      assert.equal(await peer.output(), "");
      assert.deepEqual(await within(Promise.all(waits), "100 waits"), waits.map(() => "ok"));
      // Nothing waits any more: the call ended and was not made again.
      await notParkedOn(addresses, "after the wakes");
    }),
  );

  await t.step(
    unless(
      CANNOT.futexWaitv,
      "one notify wakes every wait of a process on the word; it counts once",
      async () => {
        await using s = new TestScope();
        const { shm, words } = sharedWords(s);
        const waits = Array.from({ length: 5 }, () => wait(words, 3, 0));
        const threads = await parkedOn([addressOf(words, 3)], "5 waits on one word");
        assert.equal(
          [...threads.values()].flat().filter((a) => a === addressOf(words, 3)).length,
          1,
        );
        const peer = new Peer(s, shm, "notify", 3);
        assert.equal(await peer.output(), "1");
        assert.deepEqual(await within(Promise.all(waits), "5 waits"), waits.map(() => "ok"));
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.futexWaitv,
      "abort and timeout end a sleeping wait; the others keep sleeping",
      async () => {
        await using s = new TestScope();
        const { shm, words } = sharedWords(s);
        const ac = new AbortController();
        const aborted = wait(words, 0, 0, { signal: ac.signal });
        const timed = wait(words, 1, 0, { timeout: 30 });
        const staying = wait(words, 2, 0);
        const [a0, a1, a2] = [0, 1, 2].map((i) => addressOf(words, i));
        await parkedOn([a0, a2], "three waits");
        const reason = new Error("stop");
        ac.abort(reason);
        await assert.rejects(within(aborted, "aborted wait"), (e) => e === reason);
        await assert.rejects(
          within(timed, "timed wait"),
          systemError(Deno.errors.TimedOut, "ETIMEDOUT", "futex", "after 30 ms"),
        );
        // The error names the memory waited on.
        await assert.rejects(wait(words, 1, 0, { timeout: 1 }), { fd: shm.fd });
        assert.throws(() => waitSync(words, 1, 0, { timeout: 1 }), { fd: shm.fd });
        // The ended waits are out of the kernel's list; the one left is still in it.
        await until(() => {
          const all = [...waitvThreadsOn([a0, a1, a2]).values()].flat();
          return !all.includes(a0) && !all.includes(a1) && all.includes(a2);
        }, "only the staying wait in futex_waitv");
        // An already aborted signal: rejected at once, nothing waits.
        await assert.rejects(
          wait(words, 4, 0, { signal: AbortSignal.abort(reason) }),
          (e) => e === reason,
        );
        const peer = new Peer(s, shm, "notify", 2, 9);
        assert.equal(await peer.output(), "1");
        assert.equal(await within(staying, "staying wait"), "ok");
        await notParkedOn([a0, a1, a2], "after the wake");
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.futexWaitv,
      "closing the memory rejects its waits (EBADF) and stops waiting on it",
      async () => {
        await using s = new TestScope();
        const a = sharedWords(s);
        const b = sharedWords(s);
        const onA = [wait(a.words, 0, 0), wait(a.words, 1, 0, { timeout: 60_000 })];
        const onB = wait(b.words, 0, 0);
        const addressesA = [addressOf(a.words, 0), addressOf(a.words, 1)];
        const addressB = addressOf(b.words, 0);
        await parkedOn([...addressesA, addressB], "waits on two memories");
        const fd = a.shm.fd;
        a.shm.close();
        for (const closed of onA) {
          await assert.rejects(
            within(closed, "wait on closed memory"),
            systemError(Deno.errors.BadResource, "EBADF", "futex", { fd }),
          );
        }
        // The call sleeps on again, on the words of the open memory only.
        await until(() => {
          const all = [...waitvLists().values()].flat();
          return addressesA.every((x) => !all.includes(x)) && all.includes(addressB);
        }, "futex_waitv without the closed memory's words");
        assert.throws(() => notify(a.words, 0), TypeError);
        const peer = new Peer(s, b.shm, "notify", 0, 1);
        assert.equal(await peer.output(), "1");
        assert.equal(await within(onB, "wait on open memory"), "ok");
      },
    ),
  );

  await t.step("waitSync sleeps until another process notifies", async () => {
    await using s = new TestScope();
    const { shm, words } = sharedWords(s);
    Atomics.store(words, 5, TAG);
    // The child wakes this process once it sees it asleep in FUTEX_WAIT for TAG.
    const peer = new Peer(s, shm, "wake", Deno.pid, 5, TAG, 6);
    assert.equal(waitSync(words, 5, TAG, { timeout: HANG_MS }), "ok");
    assert.equal(Atomics.load(words, 5), 6);
    assert.equal(await peer.output(), "1");
  });

  await t.step("waitSync in another process times out: TimedOut", async () => {
    await using s = new TestScope();
    const { shm, words } = sharedWords(s);
    const peer = new Peer(s, shm, "wait", 9, 0, 50);
    assert.equal(await peer.output(), "TimedOut ETIMEDOUT futex");
    assert.equal(Atomics.load(words, 9), 0);
  });

  await t.step("notify returns how many it woke: 3 processes asleep on one word", async () => {
    await using s = new TestScope();
    const { shm, words } = sharedWords(s);
    Atomics.store(words, 11, TAG);
    const peers = [0, 1, 2].map(() => new Peer(s, shm, "wait", 11, TAG));
    for (const p of peers) await p.fixture.check(() => sleepsFor(p.pid, TAG));
    assert.equal(notify(words, 11, 0), 0);
    assert.equal(notify(words, 11, 1), 1);
    const first = await within(
      Promise.race(peers.map((p) => p.fixture.child.status.then(() => p))),
      "the woken child to end",
    );
    const rest = peers.filter((p) => p !== first);
    for (const p of rest) {
      assert.equal(threadsBlockedIn(p.pid, { syscall: "futex", args: { 2: TAG } }).length, 1);
    }
    assert.equal(notify(words, 11), 2);
    // Woken without a change of the word: "ok" all the same.
    for (const p of peers) assert.equal(await p.output(), "ok");
    assert.equal(notify(words, 11), 0);
  });

  await t.step(
    "without futex_waitv: a parked FUTEX_WAIT per wait, woken across processes",
    async () => {
      await using s = new TestScope();
      const { shm, words } = sharedWords(s);
      useFutexFallback(true);
      try {
        const address = addressOf(words, 13);
        const woken = wait(words, 13, 0);
        await blockedIn(Deno.pid, { syscall: "futex", arg0: address, args: { 1: FUTEX_WAIT } });
        assert.equal(waitvThreadsOn([address]).size, 0);
        const peer = new Peer(s, shm, "notify", 13, 2);
        assert.equal(await peer.output(), "1");
        assert.equal(await within(woken, "fallback wait"), "ok");
      } finally {
        useFutexFallback(false);
      }
    },
  );

  await t.step(
    "without futex_waitv: unref() moves a parked FUTEX_WAIT to polling without waking it",
    async () => {
      await using s = new TestScope();
      const { shm, words } = sharedWords(s);
      useFutexFallback(true);
      try {
        const address = addressOf(words, 14);
        let settled = false;
        const woken = wait(words, 14, 0).finally(() => settled = true);
        await blockedIn(Deno.pid, { syscall: "futex", arg0: address, args: { 1: FUTEX_WAIT } });
        // Leaving the call wakes the word: that wake is the library's own, not a notify.
        shm.unref();
        await until(() => threadsHeld() === 0, "the parked FUTEX_WAIT returned to JavaScript");
        assert.equal(settled, false, "the wait ended on the library's own wake");
        Atomics.store(words, 14, 1);
        assert.equal(await within(woken, "unref'd fallback wait"), "ok");
      } finally {
        shm.ref();
        useFutexFallback(false);
      }
    },
  );

  await t.step(
    "without futex_waitv: close() unmaps only once the cancelled FUTEX_WAIT has returned",
    async () => {
      // Unmapped sooner, a FUTEX_WAIT that enters the kernel after the cancel's wake
      // sleeps on the memory's object where no wake can reach it, and the wait never ends.
      useFutexFallback(true);
      try {
        const shm = PosixSharedMemory.anonymous(SIZE);
        const words = new Int32Array(shm.bytes.buffer);
        const start = addressOf(words, 0);
        const woken = wait(words, 15, 0);
        await blockedIn(Deno.pid, { syscall: "futex", arg0: start + 60n, args: { 1: FUTEX_WAIT } });
        shm.close();
        // The call has not returned to JavaScript yet: it cannot before this turn ends.
        assert.equal(isMapped(start), true);
        await assert.rejects(within(woken, "cancelled fallback wait"), Deno.errors.BadResource);
        await until(() => !isMapped(start), "the memory unmapped");

        // The race itself: closes at once, or a few µs after the call starts.
        for (let i = 0; i < 400; i++) {
          const shm = PosixSharedMemory.anonymous(64);
          const p = wait(new Int32Array(shm.bytes.buffer), 0, 0);
          const end = performance.now() + (i % 5) * 0.01;
          while (performance.now() < end);
          shm.close();
          await assert.rejects(within(p, `cancelled fallback wait ${i}`), Deno.errors.BadResource);
        }
      } finally {
        useFutexFallback(false);
      }
    },
  );
});

/** Whether a mapping of this process starts at `address`. */
function isMapped(address: bigint): boolean {
  const start = address.toString(16);
  return Deno.readTextFileSync("/proc/self/maps").split("\n").some((l) =>
    l.startsWith(`${start}-`)
  );
}

Deno.test("a lock built on wait/notify keeps a shared counter exact", async (t) => {
  /** Children counting together under the lock; each one's form ("sync" or "async"). */
  async function countTogether(forms: Array<"sync" | "async">, n: number): Promise<void> {
    await using s = new TestScope();
    const { shm, words } = sharedWords(s);
    // The start gate is the lock itself, held here until every child sleeps in it:
    // they start together, and each has slept at least once.
    Atomics.store(words, COUNTING.lock, 1);
    const children = forms.map((form) =>
      s.fixture("futex_peer.ts", { args: ["count", form, String(n)], fds: { 3: shm } })
    );
    for (const [i, child] of children.entries()) {
      // Without futex_waitv, an async wait parks a FUTEX_WAIT of its own, as a sync one sleeps.
      await child.check(() =>
        forms[i] === "sync" || CANNOT.futexWaitv !== undefined
          ? sleepsFor(child.pid, 2)
          : blockedIn(child.pid, { syscall: "futex_waitv" })
      );
    }
    assert.equal(Atomics.exchange(words, COUNTING.lock, 0), 2, "marked as contended");
    notify(words, COUNTING.lock, 1);
    for (const child of children) await child.exits(0);
    assert.equal(Atomics.load(words, COUNTING.counter), forms.length * n);
    assert.equal(Atomics.load(words, COUNTING.lock), 0, "the lock is free at the end");
    assert.ok(Atomics.load(words, COUNTING.sleeps) >= forms.length, "each child slept");
  }

  await t.step("2 processes, waitSync, 100 000 each: 200 000", () => {
    return countTogether(["sync", "sync"], 100_000);
  });
  await t.step("4 processes, waitSync, 100 000 each: 400 000", () => {
    return countTogether(["sync", "sync", "sync", "sync"], 100_000);
  });
  await t.step("2 processes, async wait, 20 000 each: 40 000", () => {
    return countTogether(["async", "async"], 20_000);
  });
  await t.step("4 processes, 2 with waitSync and 2 with wait, 20 000 each: 80 000", () => {
    return countTogether(["sync", "async", "sync", "async"], 20_000);
  });
});

Deno.test("a process whose waits have ended exits by itself", async (t) => {
  const how: Record<string, string> = {
    "woken": "resolved ok",
    "not-equal": "resolved not-equal",
    "abort": "rejected Error: stop",
    "timeout": "rejected TimedOut: ",
    "close": "rejected BadResource: ",
  };
  for (const engine of ["futex_waitv", "fallback"]) {
    for (const [mode, expected] of Object.entries(how)) {
      await t.step(
        unless(
          engine === "futex_waitv" ? CANNOT.futexWaitv : undefined,
          `${mode} (${engine})`,
          async () => {
            const { status, stdout, stderr } = await runCollect((w, e) =>
              spawn(fixtureUrl("futex_exit.ts"), { args: [mode, engine], fds: { 1: w, 2: e } })
            );
            const context = `stdout:\n${stdout}\nstderr:\n${stderr}`;
            assert.deepEqual(status, { success: true, code: 0, signal: null }, context);
            assert.ok(stdout.startsWith(expected), context);
            assert.equal(stdout.trimEnd().split("\n").length, 1, context);
          },
        ),
      );
    }
  }
});

Deno.test(
  unless(
    CANNOT.futexWaitv,
    "wait and waitSync in a Worker, woken from the main thread",
    async () => {
      await using s = new TestScope();
      const { shm, words } = sharedWords(s);
      // The Worker adopts a descriptor of its own for the same memory and maps it again.
      const fd = libc.fcntl(shm.fd, F_DUPFD_CLOEXEC, 0);
      assert.ok(fd >= 0, `fcntl(F_DUPFD_CLOEXEC): errno ${errno()}`);
      let adopted = false;
      const worker = new Worker(fixtureUrl("futex_worker.ts"), { type: "module" });
      try {
        const messages: unknown[] = [];
        let wake: () => void = () => {};
        worker.onmessage = (e) => {
          messages.push(e.data);
          wake();
        };
        const next = async <T>(): Promise<T> => {
          if (messages.length === 0) {
            await within(new Promise<void>((r) => wake = r), "a message from the worker");
          }
          return messages.shift() as T;
        };
        Atomics.store(words, 20, TAG + 1);
        worker.postMessage({ fd, syncIndex: 20, syncExpected: TAG + 1, asyncIndex: 21 });
        const base = await next<bigint>();
        adopted = true;
        // Its waitSync blocks its own thread in FUTEX_WAIT on its own mapping of the word.
        await blockedIn(Deno.pid, {
          syscall: "futex",
          arg0: base + 20n * 4n,
          args: { 2: TAG + 1 },
        });
        Atomics.store(words, 20, 0);
        assert.equal(notify(words, 20), 1);
        assert.equal(await next(), "sync ok");
        // Its async wait sleeps in its own futex_waitv.
        await parkedOn([base + 21n * 4n], "the worker's async wait");
        assert.equal(notify(words, 21), 1);
        assert.equal(await next(), "async ok");
        assert.equal(await next(), "closed");
      } finally {
        worker.terminate();
        // Until the worker adopted it, the descriptor is still ours to close.
        if (!adopted) libc.close(fd);
      }
    },
  ),
);

Deno.test("a view whose byteOffset is redefined does not mix up which word a wait is on", () => {
  using shm = PosixSharedMemory.anonymous(4096);
  const spoof = new Int32Array(shm.bytes.buffer, 0, 1); // word 0
  Object.defineProperty(spoof, "byteOffset", { value: 16 }); // says word 4
  assert.throws(() => waitSync(spoof, 0, 0, { timeout: 1 }), Deno.errors.TimedOut);
  const honest = new Int32Array(shm.bytes.buffer, 16, 1); // word 4
  Atomics.store(honest, 0, 7);
  // Word 4 holds 7: a wait for 7 waits (here until its timeout), it is not "not-equal".
  assert.throws(() => waitSync(honest, 0, 7, { timeout: 1 }), Deno.errors.TimedOut);
  assert.equal(waitSync(spoof, 0, 1), "not-equal"); // word 0 holds 0
});

Deno.test("what is kept of each word is bounded: a large table notified word by word", async (t) => {
  // Each word notified once kept a few hundred bytes for as long as its memory was mapped:
  // a 32 MiB table of words grew the heap to 1.7 GiB.
  using shm = PosixSharedMemory.anonymous(1 << 20);
  const words = new Int32Array(shm.bytes.buffer);
  for (let i = 0; i < 20_000; i++) notify(words, i, 1);
  for (let i = 20_000; i < 22_000; i++) waitSync(words, i, 1); // "not-equal": kept all the same
  assert.ok(wordsKept(words) <= 1024, `${wordsKept(words)} words kept`);
  await t.step(
    unless(CANNOT.futexWaitv, "a wait whose entry went is still woken by a notify", async () => {
      const woken = wait(words, 5, 0);
      await parkedOn([addressOf(words, 5)], "the wait");
      for (let i = 30_000; i < 32_000; i++) notify(words, i, 1);
      assert.equal(notify(words, 5), 1);
      assert.equal(await woken, "ok");
    }),
  );
});
