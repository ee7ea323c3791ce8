/**
 * Record locks (`RecordLocks`, `fcntl(2)` open file description locks): who
 * excludes whom, in one process and across processes (C's classic locks
 * too); waits that park, wake, and end by abort, timeout or close holding
 * nothing; a holder's death; bad input refused before any call; and two
 * processes counting in one file under the lock.
 */
import assert from "node:assert/strict";
import { C } from "../ffi/platform.ts";
import { Fifo, type RecordLock, RecordLocks, spawnProgram } from "../mod.ts";
import {
  blockedIn,
  CANNOT,
  HANG_MS,
  isOpen,
  ownWaitPending,
  TestScope,
  threadsBlockedIn,
  until,
  within,
} from "./_kernel.ts";
import { Lines } from "./fixtures/socket_common.ts";

/** A new empty file in a directory the scope removes, and `n` handles of it the scope closes. */
async function lockFile(s: TestScope, n: number): Promise<[string, ...RecordLocks[]]> {
  const path = `${await s.tempDir()}/file`;
  Deno.writeFileSync(path, new Uint8Array());
  return [path, ...Array.from({ length: n }, () => s.handle(RecordLocks.open(path)))];
}

/** This process's threads asleep in a lock wait (`F_OFD_SETLKW`) on `fd`. */
const lockWaiters = (fd: number) =>
  threadsBlockedIn(Deno.pid, { syscall: "fcntl", arg0: fd, args: { 1: C.F_OFD_SETLKW } });

/** Until no thread of this process waits for a lock on `fd` any more (a hang guard). */
const noLockWaiter = (fd: number) =>
  until(() => lockWaiters(fd).length === 0, `no thread waiting for a lock on fd ${fd}`);

Deno.test("RecordLocks: two opens of a file exclude each other; shared locks coexist", async (t) => {
  await using s = new TestScope();
  const [path, a, b] = await lockFile(s, 2);

  await t.step("an exclusive lock stops every other, and tryLock says whose it is", () => {
    const lock = a.tryLock({ start: 10, length: 10 });
    assert.throws(
      () => b.tryLock({ start: 19, length: 5 }),
      (e: Error & Record<string, unknown>) => {
        assert.ok(e instanceof Deno.errors.WouldBlock);
        assert.equal(e.code, "EAGAIN");
        assert.equal(e.syscall, "fcntl");
        assert.equal(e.path, path);
        assert.match(
          e.message,
          /bytes 19\.\.23 are locked by another open of the file \(an exclusive lock of bytes 10\.\.19\)/,
        );
        return true;
      },
    );
    assert.throws(() => b.tryLock({ start: 0, length: 11, shared: true }), Deno.errors.WouldBlock);
    assert.deepEqual(b.holder(), { start: 10, length: 10, shared: false });
    // Bytes either side are free.
    b.tryLock({ start: 0, length: 10 }).unlock();
    b.tryLock({ start: 20 }).unlock();
    lock.unlock();
    assert.equal(lock.released, true);
    assert.equal(b.holder(), null);
    b.tryLock().unlock();
  });

  await t.step("shared locks coexist; an exclusive one waits for all of them", () => {
    const ra = a.tryLock({ shared: true });
    const rb = b.tryLock({ shared: true });
    assert.throws(() => a.tryLock({ start: 0, length: 1 }), Deno.errors.Busy); // its own
    using c = s.handle(RecordLocks.open(path));
    assert.throws(() => c.tryLock(), Deno.errors.WouldBlock);
    c.tryLock({ shared: true }).unlock();
    ra.unlock();
    assert.throws(() => c.tryLock(), Deno.errors.WouldBlock); // b still reads
    rb.unlock();
    c.tryLock().unlock();
  });

  await t.step("held lists the locks of the handle; close() releases them all", () => {
    const first = a.tryLock({ start: 0, length: 1 });
    const second = a.tryLock({ start: 5, length: 1, shared: true });
    assert.deepEqual(a.held, [first, second]);
    first.unlock();
    assert.deepEqual(a.held, [second]);
    second.unlock();
    second.unlock(); // twice does nothing
    const c = RecordLocks.open(path);
    const kept = c.tryLock();
    const fd = c.fd;
    c.close();
    assert.equal(kept.released, true);
    kept.unlock(); // released by close: nothing to do
    assert.equal(isOpen(fd), false);
    b.tryLock().unlock();
  });

  await t.step(
    "flock(2) locks (Deno's FsFile.lock) neither stop these nor are stopped by them",
    async () => {
      using file = await Deno.open(path, { read: true, write: true });
      await file.lock(true);
      using lock = a.tryLock();
      using other = await Deno.open(path, { read: true });
      file.unlockSync();
      await other.lock(true); // flock's own exclusive lock, while a holds its record lock
      other.unlockSync();
      assert.equal(lock.released, false);
    },
  );

  await t.step("reading the file through another descriptor does not release them", () => {
    using lock = a.tryLock();
    // C's classic F_SETLK locks would go here: closing any descriptor of the file releases them.
    Deno.readFileSync(path);
    Deno.writeFileSync(path, new Uint8Array([1]));
    assert.throws(() => b.tryLock(), Deno.errors.WouldBlock);
    assert.equal(lock.released, false);
  });
});

Deno.test("RecordLocks: refuses bad input and misuse before any call", async (t) => {
  await using s = new TestScope();
  const [path, a] = await lockFile(s, 1);

  await t.step("options", () => {
    const cases: [unknown, ErrorConstructor | typeof Deno.errors.Busy, RegExp][] = [
      [{ start: -1 }, RangeError, /start must be an integer 0\.\./],
      [{ start: "0" }, TypeError, /start must be an integer .* got "0" \(a string\)/],
      [{ start: 1.5 }, RangeError, /start/],
      [{ length: 0 }, RangeError, /length must be an integer 1\.\..* or Infinity, got 0/],
      [{ length: -1 }, RangeError, /length/],
      [{ start: Number.MAX_SAFE_INTEGER, length: 2 }, RangeError, /length/],
      [{ shared: "yes" }, TypeError, /shared/],
      [{ exclusive: true }, TypeError, /unknown option 'exclusive'/],
      [null, TypeError, /options must be an object/],
    ];
    for (const [options, Class, message] of cases) {
      const o = options as Parameters<RecordLocks["tryLock"]>[0];
      assert.throws(() => a.tryLock(o), { constructor: Class, message }, JSON.stringify(options));
      assert.throws(() => a.lockSync(o), { constructor: Class, message });
      assert.throws(() => a.holder(o), { constructor: Class, message });
    }
    assert.throws(
      () => a.lockSync({ signal: AbortSignal.timeout(1) } as never),
      /a sync form takes no signal/,
    );
    assert.equal(a.held.length, 0);
  });

  await t.step("lock() rejects, never throws", async () => {
    const pending = a.lock({ start: -1 });
    await assert.rejects(pending, RangeError);
    await assert.rejects(a.lock({ timeout: -1 }), RangeError);
    await assert.rejects(a.lock({ signal: "no" } as never), TypeError);
  });

  await t.step("a range that overlaps one held or pending through the handle is Busy", async () => {
    using b = s.handle(RecordLocks.open(path));
    const held = a.tryLock({ start: 0, length: 10 });
    assert.throws(() => a.tryLock({ start: 9, length: 1 }), {
      name: "Busy",
      message: /bytes 9\.\.9 of '.*' overlap bytes 0\.\.9, already locked through this RecordLocks/,
    });
    // b waits for byte 0..9 (a holds it); a second wait of b on the same bytes is refused.
    const waiting = b.lock({ start: 5, length: 1 });
    assert.throws(() => b.lockSync({ start: 0 }), {
      name: "Busy",
      message: /already being locked/,
    });
    await assert.rejects(b.lock({ start: 5, length: 1 }), Deno.errors.Busy);
    held.unlock();
    (await waiting).unlock();
  });

  await t.step("an exclusive lock through a read-only open", () => {
    using r = s.handle(RecordLocks.open(path, { access: "read" }));
    assert.throws(() => r.tryLock(), { name: "TypeError", message: /access "read".*shared: true/ });
    r.tryLock({ shared: true }).unlock();
  });

  await t.step("after close(): BadResource with EBADF and the fd", async () => {
    const c = RecordLocks.open(path);
    const fd = c.fd;
    c.close();
    c.close();
    for (const f of [() => c.tryLock(), () => c.lockSync(), () => c.holder()]) {
      assert.throws(f, { name: "BadResource", code: "EBADF", fd, path });
    }
    await assert.rejects(c.lock(), { name: "BadResource", code: "EBADF", fd });
  });

  await t.step("open: a symbolic link to nothing is refused, even with create", async () => {
    const dir = await s.tempDir();
    Deno.symlinkSync(`${dir}/target`, `${dir}/link`);
    Deno.symlinkSync(`${dir}/no/such/dir/target`, `${dir}/deep`);
    for (const link of [`${dir}/link`, `${dir}/deep`]) {
      assert.throws(() => RecordLocks.open(link, { create: true }), {
        name: "NotFound",
        code: "ENOENT",
        message: /a symbolic link to nothing/,
      });
    }
    // A link to a file is followed.
    Deno.writeFileSync(`${dir}/target`, new Uint8Array());
    using locks = s.handle(RecordLocks.open(`${dir}/link`, { create: true }));
    using direct = s.handle(RecordLocks.open(`${dir}/target`));
    using _lock = locks.tryLock();
    assert.throws(() => direct.tryLock(), Deno.errors.WouldBlock);
  });

  await t.step(
    "open: a FIFO is refused without being opened (a writer waiting on it waits on)",
    async () => {
      const fifo = `${await s.tempDir()}/fifo`;
      Fifo.create(fifo);
      const stop = new AbortController();
      const writer = Fifo.open(fifo, "write", { signal: stop.signal });
      assert.throws(() => RecordLocks.open(fifo), /is not a regular file \(it is a FIFO\)/);
      const opened = await Promise.race([writer.then(() => true), Promise.resolve(false)]);
      assert.equal(opened, false);
      stop.abort();
      await assert.rejects(writer, { name: "AbortError" });
    },
  );

  await t.step("open: paths, kinds, modes", async () => {
    const dir = await s.tempDir();
    assert.throws(() => RecordLocks.open(`${dir}/absent`), {
      name: "NotFound",
      code: "ENOENT",
      syscall: "open",
    });
    assert.throws(() => RecordLocks.open(dir, { access: "read" }), {
      name: "TypeError",
      message: /is not a regular file \(it is a directory\)/,
    });
    const fifo = `${dir}/fifo`;
    Fifo.create(fifo);
    assert.throws(
      () => RecordLocks.open(fifo, { access: "read" }),
      /is not a regular file \(it is a FIFO\)/,
    );
    assert.throws(() => RecordLocks.open(""), TypeError);
    assert.throws(() => RecordLocks.open(path, { mode: 0o1000 }), RangeError);
    assert.throws(() => RecordLocks.open(path, { access: "write" } as never), TypeError);
    assert.throws(
      () => RecordLocks.open(path, { truncate: true } as never),
      /unknown option 'truncate'/,
    );
    // Created exactly 0600 by default, and exactly what is asked whatever the umask.
    const made = RecordLocks.open(new URL(`file://${dir}/made`), { create: true });
    made.close();
    assert.equal(Deno.statSync(`${dir}/made`).mode! & 0o777, 0o600);
    const open = RecordLocks.open(`${dir}/shared`, { create: true, mode: 0o666 });
    open.close();
    assert.equal(Deno.statSync(`${dir}/shared`).mode! & 0o777, 0o666);
    // An existing file is opened as it is, never truncated nor re-moded.
    Deno.writeTextFileSync(`${dir}/made`, "data");
    Deno.chmodSync(`${dir}/made`, 0o640);
    RecordLocks.open(`${dir}/made`, { create: true }).close();
    assert.equal(Deno.readTextFileSync(`${dir}/made`), "data");
    assert.equal(Deno.statSync(`${dir}/made`).mode! & 0o777, 0o640);
  });
});

Deno.test("RecordLocks: lock() parks until the holder unlocks; abort, timeout and close leave nothing locked", async (t) => {
  await using s = new TestScope();
  const [path, holder, waiter] = await lockFile(s, 2);

  await t.step("it parks on a pool thread and wakes at the unlock", async () => {
    const lock = holder.tryLock({ start: 0, length: 1 });
    const pending = waiter.lock({ start: 0, length: 1 });
    await ownWaitPending({ syscall: "fcntl", arg0: waiter.fd, args: { 1: C.F_OFD_SETLKW } });
    lock.unlock();
    using got = await pending;
    assert.deepEqual([got.start, got.length, got.released], [0, 1, false]);
    assert.deepEqual(waiter.held, [got]);
    assert.throws(() => holder.tryLock({ start: 0, length: 1 }), Deno.errors.WouldBlock);
  });

  /** The three ways a wait ends early: its options, and what ends it once it waits. */
  const ends: { what: string; options: () => object; end(h: RecordLocks): void; error: object }[] =
    [
      {
        what: "an abort",
        options: () => ({ signal: (aborter = new AbortController()).signal }),
        end: () => aborter.abort(new Error("given up")),
        error: { message: "given up" },
      },
      {
        what: "a timeout",
        options: () => ({ timeout: 1000 }),
        end: () => {},
        error: { code: "ETIMEDOUT" },
      },
      { what: "close()", options: () => ({}), end: (h) => h.close(), error: { code: "EBADF" } },
    ];
  let aborter = new AbortController();
  for (const { what, options, end, error } of ends) {
    await t.step(`${what} rejects it, and it holds nothing after`, async () => {
      using own = s.handle(RecordLocks.open(path));
      const lock = holder.tryLock();
      const fd = own.fd;
      const pending = own.lock(options());
      await ownWaitPending({ syscall: "fcntl", arg0: fd, args: { 1: C.F_OFD_SETLKW } });
      end(own);
      await within(assert.rejects(pending, error), `the wait to end by ${what}`);
      await noLockWaiter(fd);
      lock.unlock();
      if (!own.closed) assert.equal(own.held.length, 0);
      // Nobody holds it: not the cancelled wait, not the holder.
      waiter.tryLock().unlock();
    });
  }

  await t.step("a lock granted as the wait is aborted is released, never left held", async () => {
    // Abort and unlock together, many times: whichever the kernel sees first, nothing stays locked.
    for (let i = 0; i < 50; i++) {
      using own = s.handle(RecordLocks.open(path));
      const lock = holder.tryLock();
      const c = new AbortController();
      const fd = own.fd;
      const pending = own.lock({ signal: c.signal });
      if (i % 2 === 0) await ownWaitPending({ syscall: "fcntl", arg0: fd });
      lock.unlock();
      c.abort(new Error("late"));
      const got: RecordLock | Error = await pending.catch((e) => e);
      if (got instanceof Error) {
        assert.equal(got.message, "late");
        assert.equal(own.held.length, 0);
        await noLockWaiter(fd);
        waiter.tryLock().unlock();
      } else {
        got.unlock();
      }
    }
  });

  await t.step("an unref'd handle's wait still completes", async () => {
    const lock = holder.tryLock();
    waiter.unref();
    const pending = waiter.lock();
    lock.unlock();
    (await pending).unlock();
    waiter.ref();
  });

  await t.step({
    name: "unref() and ref() while it is parked: it stops waiting on a thread, then parks again",
    ignore: CANNOT.parking !== undefined,
    fn: async () => {
      const lock = holder.tryLock();
      const pending = waiter.lock();
      const fd = waiter.fd;
      await until(() => lockWaiters(fd).length === 1, "the wait parked");
      waiter.unref(); // an unref'd wait polls: its parked call is cancelled
      await noLockWaiter(fd);
      waiter.ref(); // and parks again, on a struct flock of its own made anew
      await until(() => lockWaiters(fd).length === 1, "the wait parked again");
      lock.unlock();
      (await pending).unlock();
    },
  });
});

Deno.test("RecordLocks: across processes", async (t) => {
  await using s = new TestScope();
  const [path, mine] = await lockFile(s, 1);

  const holding = async (kind: "ofd" | "classic") => {
    const out = s.pipe();
    const go = s.pipe();
    const child = s.fixture("record_lock_child.ts", {
      args: ["hold", path, kind],
      fds: { 1: out.writer, 3: go.reader },
    });
    out.writer.close();
    go.reader.close();
    const line = await new Lines(out.reader, child).next("the lock taken");
    assert.deepEqual(line, { locked: child.pid });
    return { child, release: () => go.writer.close() };
  };

  await t.step("another process's lock: waited for until it unlocks", async () => {
    const { child, release } = await holding("ofd");
    assert.deepEqual(mine.holder(), { start: 0, length: Infinity, shared: false });
    assert.throws(() => mine.tryLock(), /another open of the file/);
    const pending = mine.lock({ timeout: HANG_MS });
    release();
    (await pending).unlock();
    await child.exits(0);
  });

  await t.step("close() releases the locks even where a child shares the open file", async () => {
    const shared = RecordLocks.open(path);
    const lock = shared.tryLock({ start: 0, length: 10 });
    const child = s.child(
      spawnProgram(Deno.execPath(), ["eval", "setInterval(() => {}, 1000)"], {
        fds: { 3: shared.fd },
      }),
    );
    shared.close();
    assert.equal(lock.released, true);
    mine.tryLock({ start: 0, length: 10 }).unlock();
    child.kill("SIGKILL");
    await child.status;
  });

  await t.step("a holder that dies releases its lock", async () => {
    const { child } = await holding("ofd");
    const pending = mine.lock({ timeout: HANG_MS });
    child.child.kill("SIGKILL");
    (await pending).unlock();
    assert.equal((await child.status()).signal, "SIGKILL");
  });

  await t.step(
    "C's classic locks (F_SETLK) and these exclude each other; holder() names its process",
    async () => {
      const { child, release } = await holding("classic");
      assert.deepEqual(mine.holder({ start: 3, length: 1, shared: true }), {
        start: 0,
        length: Infinity,
        shared: false,
        pid: child.pid,
      });
      assert.throws(() => mine.tryLock(), new RegExp(`locked by process ${child.pid}`));
      const pending = mine.lock({ timeout: HANG_MS });
      release();
      (await pending).unlock();
      await child.exits(0);
    },
  );

  await t.step("lockSync blocks the thread until the other process unlocks", async () => {
    const out = s.pipe();
    const child = s.fixture("record_lock_child.ts", {
      args: ["release-when-waited", path],
      fds: { 1: out.writer },
    });
    out.writer.close();
    assert.deepEqual(await new Lines(out.reader, child).next("the lock taken"), {
      locked: child.pid,
    });
    // The child sees this thread block in the wait, then unlocks.
    mine.lockSync().unlock();
    await child.exits(0);
  });

  await t.step(
    "two processes count to 2 × 200 in the file, one with lock(), one with lockSync()",
    async () => {
      const n = 200;
      Deno.writeTextFileSync(path, "0");
      const children = (["async", "sync"] as const).map((form) => {
        const out = s.pipe();
        const child = s.fixture("record_lock_child.ts", {
          args: ["count", path, String(n), form],
          fds: { 1: out.writer },
          flags: ["--allow-ffi", "--allow-read", "--allow-write"],
        });
        out.writer.close();
        return { child, lines: new Lines(out.reader, child) };
      });
      for (const { child, lines } of children) {
        assert.deepEqual(await lines.next("the count done"), { counted: n });
        await child.exits(0);
      }
      assert.equal(Deno.readTextFileSync(path), String(2 * n));
    },
  );
});

Deno.test({
  name: "RecordLocks: the parked wait is found and cancelled where calls park",
  ignore: CANNOT.parking !== undefined,
  async fn() {
    await using s = new TestScope();
    const [, holder, waiter] = await lockFile(s, 2);
    using _lock = holder.tryLock();
    const c = new AbortController();
    const pending = waiter.lock({ signal: c.signal });
    await blockedIn(Deno.pid, { syscall: "fcntl", arg0: waiter.fd });
    c.abort();
    await within(assert.rejects(pending, { name: "AbortError" }), "the aborted wait to end");
    await noLockWaiter(waiter.fd);
  },
});

Deno.test("RecordLock: conversion between shared and exclusive, in place", async (t) => {
  await using s = new TestScope();
  const [path, mine, theirs] = await lockFile(s, 2);

  await t.step(
    "try and sync forms: a shared lock becomes exclusive once it is the only one",
    () => {
      const lock = mine.tryLock({ shared: true });
      const reader = theirs.tryLock({ start: 5, length: 1, shared: true });
      assert.throws(() => lock.tryConvert({ shared: false }), {
        name: "WouldBlock",
        code: "EAGAIN",
        message: /locked by another open of the file \(a shared lock of bytes 5\.\.5\)/,
      });
      assert.throws(() => lock.convertSync({ shared: false, timeout: 0 }), { code: "ETIMEDOUT" });
      assert.equal(lock.shared, true);
      theirs.tryLock({ start: 6, shared: true }).unlock(); // still shared: readers may come
      reader.unlock();
      lock.tryConvert({ shared: false });
      assert.equal(lock.shared, false);
      assert.throws(() => theirs.tryLock({ start: 6, shared: true }), Deno.errors.WouldBlock);
      lock.convertSync({ shared: true }); // becoming shared never waits
      assert.equal(lock.shared, true);
      lock.tryConvert({ shared: true }); // already so: nothing to do
      theirs.tryLock({ shared: true }).unlock();
      assert.deepEqual(mine.held, [lock]);
      lock.unlock();
    },
  );

  await t.step(
    "convert() waits, parked, while staying shared, until the other reader goes",
    async () => {
      const lock = mine.tryLock({ shared: true });
      const reader = theirs.tryLock({ shared: true });
      const converting = lock.convert({ shared: false });
      await ownWaitPending({ syscall: "fcntl", arg0: mine.fd, args: { 1: C.F_OFD_SETLKW } });
      assert.equal(lock.shared, true);
      assert.throws(() => lock.tryConvert({ shared: false }), { name: "Busy" });
      reader.unlock();
      await converting;
      assert.equal(lock.shared, false);
      assert.throws(() => theirs.tryLock({ shared: true }), Deno.errors.WouldBlock);
      lock.unlock();
    },
  );

  /** The ways a pending conversion ends early, and what the lock is after. */
  const ends: { what: string; end(c: AbortController, l: RecordLock): void; error: object }[] = [
    { what: "an abort", end: (c) => c.abort(new Error("no")), error: { message: "no" } },
    { what: "unlock()", end: (_, l) => l.unlock(), error: { name: "Interrupted" } },
  ];
  for (const { what, end, error } of ends) {
    await t.step(`${what} rejects a pending conversion; the lock stays as it was`, async () => {
      const lock = mine.tryLock({ shared: true });
      const reader = theirs.tryLock({ shared: true });
      const c = new AbortController();
      const converting = lock.convert({ shared: false, signal: c.signal });
      await ownWaitPending({ syscall: "fcntl", arg0: mine.fd, args: { 1: C.F_OFD_SETLKW } });
      end(c, lock);
      await within(assert.rejects(converting, error), `the conversion to end by ${what}`);
      await noLockWaiter(mine.fd);
      reader.unlock();
      if (lock.released) {
        theirs.tryLock().unlock(); // nothing held at all
      } else {
        assert.equal(lock.shared, true);
        theirs.tryLock({ shared: true }).unlock();
        assert.throws(() => theirs.tryLock(), Deno.errors.WouldBlock);
        lock.unlock();
      }
    });
  }

  await t.step("close() rejects a pending conversion", async () => {
    using own = s.handle(RecordLocks.open(path));
    const lock = own.tryLock({ shared: true });
    const reader = theirs.tryLock({ shared: true });
    const converting = lock.convert({ shared: false });
    await ownWaitPending({ syscall: "fcntl", arg0: own.fd, args: { 1: C.F_OFD_SETLKW } });
    own.close();
    await within(assert.rejects(converting, { code: "EBADF" }), "the conversion to end");
    assert.equal(lock.released, true);
    reader.unlock();
    theirs.tryLock().unlock();
  });

  await t.step(
    "a conversion granted as it is aborted is taken back: as it was, or done",
    async () => {
      for (let i = 0; i < 50; i++) {
        const lock = mine.tryLock({ shared: true });
        const reader = theirs.tryLock({ shared: true });
        const c = new AbortController();
        const converting = lock.convert({ shared: false, signal: c.signal });
        if (i % 2 === 0) await ownWaitPending({ syscall: "fcntl", arg0: mine.fd });
        reader.unlock();
        c.abort(new Error("late"));
        const failed = await converting.then(() => false, () => true);
        await noLockWaiter(mine.fd);
        assert.equal(lock.shared, failed);
        // What the kernel holds is what the lock says.
        if (failed) theirs.tryLock({ shared: true }).unlock();
        else assert.throws(() => theirs.tryLock({ shared: true }), Deno.errors.WouldBlock);
        lock.unlock();
      }
    },
  );

  await t.step({
    name: "a conversion granted before unlock() ended it keeps its range claimed until it settles",
    ignore: CANNOT.parking !== undefined,
    fn: async () => {
      const lock = mine.tryLock({ shared: true });
      const reader = theirs.tryLock({ shared: true });
      const converting = lock.convert({ shared: false });
      await ownWaitPending({ syscall: "fcntl", arg0: mine.fd, args: { 1: C.F_OFD_SETLKW } });
      reader.unlock();
      // Without a turn of the event loop, so that this thread does not hear of it yet: the
      // kernel grants the conversion, and its pool thread returns.
      const deadline = performance.now() + HANG_MS;
      while (lockWaiters(mine.fd).length > 0) {
        if (performance.now() > deadline) throw new Error("the conversion was never granted");
      }
      lock.unlock();
      // The conversion's undo is still to come: a new lock of the range would lose it.
      assert.throws(() => mine.tryLock({ shared: false }), { name: "Busy" });
      await assert.rejects(converting, { name: "Interrupted" });
      using again = mine.tryLock();
      assert.throws(() => theirs.tryLock(), Deno.errors.WouldBlock);
      assert.deepEqual(theirs.holder(), { start: 0, length: Infinity, shared: false });
      assert.equal(again.released, false);
    },
  });

  await t.step("refused before any call", async () => {
    const lock = mine.tryLock({ shared: true });
    assert.throws(() => lock.tryConvert({} as never), /shared must be a boolean, got undefined/);
    assert.throws(() => lock.tryConvert(undefined as never), /shared must be a boolean/);
    assert.throws(
      () => lock.convertSync({ shared: false, signal: new AbortController().signal } as never),
      /a sync form takes no signal/,
    );
    await assert.rejects(lock.convert({ shared: "no" } as never), TypeError);
    await assert.rejects(lock.convert({ shared: false, timeout: -1 }), RangeError);
    lock.unlock();
    assert.throws(() => lock.tryConvert({ shared: false }), {
      name: "BadResource",
      message: /no longer locked/,
    });
    await assert.rejects(lock.convert({ shared: false }), Deno.errors.BadResource);
    using r = s.handle(RecordLocks.open(path, { access: "read" }));
    const read = r.tryLock({ shared: true });
    assert.throws(() => read.tryConvert({ shared: false }), /access "read"/);
    read.unlock();
  });
});
