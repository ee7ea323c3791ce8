/**
 * Many operations at once on ONE handle: concurrent writes keep each chunk
 * whole and in call order, concurrent receives get each message once,
 * sends into a full queue are neither lost nor doubled, lock waits are each
 * granted as their range frees, an abort or a `close()` ends only what it
 * concerns, and a closed handle's operations never reach a new handle that
 * got its descriptor number.
 */
import assert from "node:assert/strict";
import {
  type Connection,
  type FdReader,
  PosixSemaphore,
  RecordLocks,
  Semaphore,
  socketpair,
} from "../mod.ts";
import { C } from "../ffi/platform.ts";
import {
  bytesQueued,
  EPOLLIN,
  EPOLLOUT,
  HANG_MS,
  ownWaitPending,
  systemError,
  TestScope,
  threadsBlockedIn,
  until,
  waitedOn,
} from "./_kernel.ts";

const decoder = new TextDecoder();

/** `size` bytes of `byte`. */
function filled(size: number, byte: number): Uint8Array {
  return new Uint8Array(size).fill(byte);
}

/** Takes whatever the handle holds now, without waiting; the bytes taken. */
function drainNow(h: FdReader | Connection): number[] {
  const out: number[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    try {
      const n = h.tryRead(buf);
      if (n === null) return out;
      for (let i = 0; i < n; i++) out.push(buf[i]);
    } catch (e) {
      if (e instanceof Deno.errors.WouldBlock) return out;
      throw e;
    }
  }
}

/** Reads `total` bytes (awaiting as needed) after the ones already `got`. */
async function readBytes(
  h: FdReader | Connection,
  got: number[],
  total: number,
): Promise<number[]> {
  const buf = new Uint8Array(65536);
  while (got.length < total) {
    // Never past `total`: what follows may be a message with descriptors.
    const n = await h.read(buf.subarray(0, total - got.length), { timeout: HANG_MS });
    assert.notEqual(n, null, `end of stream after ${got.length} of ${total} bytes`);
    for (let i = 0; i < n!; i++) got.push(buf[i]);
  }
  return got;
}

/** The stream as runs of one byte value: `[[value, length], ...]`. */
function runs(bytes: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const b of bytes) {
    const last = out[out.length - 1];
    if (last !== undefined && last[0] === b) last[1]++;
    else out.push([b, 1]);
  }
  return out;
}

type Ends = {
  out: { write(d: Uint8Array): Promise<number>; fd: number };
  in: FdReader | Connection;
};

/**
 * A write that waits for room, then room made while it is still parked, then
 * a second write: the second must not slip into the room before the rest of
 * the first (it would have on its first try).
 */
async function assertWritesInTurn(ends: Ends): Promise<void> {
  const big = 300_000;
  const first = ends.out.write(filled(big, 0x41));
  await waitedOn(ends.out.fd, EPOLLOUT);
  const got = drainNow(ends.in);
  assert.ok(got.length > 0 && got.length < big);
  const second = ends.out.write(filled(10, 0x42));
  const third = ends.out.write(filled(10, 0x43));
  await readBytes(ends.in, got, big + 20);
  assert.deepEqual(await Promise.all([first, second, third]), [big, 10, 10]);
  assert.deepEqual(runs(got), [[0x41, big], [0x42, 10], [0x43, 10]]);
}

Deno.test("concurrent write()s on one handle go out whole, in call order", async (t) => {
  await t.step("pipe", async () => {
    using s = new TestScope();
    const p = s.pipe();
    await assertWritesInTurn({ out: p.writer, in: p.reader });
  });

  await t.step("stream socket", async () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    await assertWritesInTurn({ out: a, in: b });
  });

  await t.step("a socket's sendFds() waits its turn after a pending write()", async () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    const p = s.pipe();
    const big = 300_000;
    const first = a.write(filled(big, 0x41));
    await waitedOn(a.fd, EPOLLOUT);
    const got = drainNow(b);
    const sent = a.sendFds([p.writer], "BB");
    await readBytes(b, got, big);
    assert.deepEqual(runs(got), [[0x41, big]]);
    using received = (await b.receiveFds({ timeout: HANG_MS }))!;
    assert.equal(decoder.decode(received.data), "BB");
    assert.equal(received.fds.length, 1);
    assert.deepEqual(await Promise.all([first, sent]), [big, 2]);
  });

  await t.step("the writable stream and write() share the order", async () => {
    using s = new TestScope();
    const p = s.pipe();
    const sink = p.writer.writable.getWriter();
    const big = 300_000;
    const first = sink.write(filled(big, 0x41));
    await waitedOn(p.writer.fd, EPOLLOUT);
    const got = drainNow(p.reader);
    const second = p.writer.write(filled(10, 0x42));
    await readBytes(p.reader, got, big + 10);
    await Promise.all([first, second]);
    assert.deepEqual(runs(got), [[0x41, big], [0x42, 10]]);
    sink.releaseLock();
  });
});

/**
 * A write that waits for room, then the reaction of a caller awaiting it
 * writes again: the turn of the first has ended, so the second sends in the
 * call itself (a turn left pending one reaction longer queued every write
 * that followed a write that waited).
 */
async function assertNextWriteAtOnce(
  out: Ends["out"] & { tryWrite(d: Uint8Array): number },
  from: Ends["in"],
): Promise<void> {
  const chunk = filled(4096, 0x30);
  try {
    for (;;) out.tryWrite(chunk);
  } catch (e) {
    if (!(e instanceof Deno.errors.WouldBlock)) throw e;
  }
  const first = out.write(filled(100, 0x41));
  await waitedOn(out.fd, EPOLLOUT);
  drainNow(from);
  let second: Promise<number> | undefined;
  const added = await first.then(() => {
    const before = bytesQueued(from.fd);
    second = out.write(filled(10, 0x42));
    return bytesQueued(from.fd) - before;
  });
  assert.equal(added, 10);
  assert.equal(await second, 10);
  assert.deepEqual(runs(drainNow(from)), [[0x41, 100], [0x42, 10]]);
}

Deno.test("after a write that waited has ended, the next write() sends in the call", async (t) => {
  await t.step("pipe", async () => {
    using s = new TestScope();
    const p = s.pipe();
    await assertNextWriteAtOnce(p.writer, p.reader);
  });

  await t.step("stream socket", async () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    await assertNextWriteAtOnce(a, b);
  });
});

Deno.test("a queued write that is aborted, times out or sees close() writes nothing", async (t) => {
  await t.step(
    "abort and timeout while queued; the next write still goes after the first",
    async () => {
      using s = new TestScope();
      const p = s.pipe();
      const big = 300_000;
      const first = p.writer.write(filled(big, 0x41));
      await waitedOn(p.writer.fd, EPOLLOUT);
      const stop = new AbortController();
      const aborted = p.writer.write(filled(10, 0x58), { signal: stop.signal });
      const timedOut = p.writer.write(filled(10, 0x59), { timeout: 1 });
      const last = p.writer.write(filled(10, 0x42));
      const reason = new Error("changed my mind");
      stop.abort(reason);
      await assert.rejects(aborted, (e) => e === reason);
      await assert.rejects(timedOut, (e: unknown) => {
        systemError(Deno.errors.TimedOut, "ETIMEDOUT", "write")(e);
        assert.equal((e as { bytesWritten: number }).bytesWritten, 0);
        return true;
      });
      const got = await readBytes(p.reader, [], big + 10);
      assert.deepEqual(await Promise.all([first, last]), [big, 10]);
      assert.deepEqual(runs(got), [[0x41, big], [0x42, 10]]);
    },
  );

  await t.step(
    "a write queued behind one cancelled in the queue waits for the write before both",
    async () => {
      // The first goes out in many parts; the last, freed early by the cancelled one,
      // would put its byte between two of them.
      const big = 8 << 20;
      for (const kind of ["pipe", "stream socket"]) {
        using s = new TestScope();
        const [writer, reader] = kind === "pipe"
          ? (({ writer, reader }) => [writer, reader] as const)(s.pipe())
          : s.handle(socketpair());
        const first = writer.write(filled(big, 0x41));
        const cancelled = writer.write(filled(10, 0x58), { signal: AbortSignal.abort() });
        const last = writer.write(filled(1, 0x43));
        // Read at once: the first's parts are then taken while the last waits for its turn.
        const reason = await cancelled.then(() => "written", (e: unknown) => e);
        assert.equal((reason as Error).name, "AbortError", kind);
        const got = new Uint8Array(big + 1);
        for (let at = 0; at < got.length;) {
          const n = await reader.read(got.subarray(at), { timeout: HANG_MS });
          assert.notEqual(n, null, `end of stream after ${at} bytes`);
          at += n!;
        }
        assert.deepEqual(await Promise.all([first, last]), [big, 1]);
        assert.deepEqual([got.indexOf(0x43), got.lastIndexOf(0x41)], [big, big - 1], kind);
      }
    },
  );

  await t.step("a write whose turn came times out naming the caller's timeout", async () => {
    using s = new TestScope();
    const p = s.pipe();
    const first = p.writer.write(filled(200_000, 0x41));
    await waitedOn(p.writer.fd, EPOLLOUT);
    const second = p.writer.write(filled(200_000, 0x42), { timeout: 3_000 });
    // The first completes; the second fills the pipe and waits for a reader that never comes.
    await readBytes(p.reader, [], 200_000);
    assert.equal(await first, 200_000);
    await assert.rejects(second, (e: unknown) => {
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", "write")(e);
      assert.match((e as Error).message, /after 3000 ms/);
      return true;
    });
  });

  await t.step(
    "close(): every pending and queued operation rejects with its own error",
    async () => {
      using s = new TestScope();
      const [a, b] = s.handle(socketpair());
      const first = a.write(filled(4_000_000, 0x41));
      await waitedOn(a.fd, EPOLLOUT);
      const queued = a.write("late");
      const queuedFds = a.sendFds([0], "fd");
      const read = a.read(new Uint8Array(8));
      const fds = a.receiveFds();
      await waitedOn(a.fd, EPOLLIN);
      const fd = a.fd;
      a.close();
      const results = await Promise.allSettled([first, queued, queuedFds, read, fds]);
      const calls = ["send", "send", "sendmsg", "recv", "recvmsg"];
      results.forEach((r, i) => {
        assert.equal(r.status, "rejected");
        systemError(Deno.errors.BadResource, "EBADF", calls[i], { fd })(
          (r as PromiseRejectedResult).reason,
        );
      });
      assert.equal((results[1] as PromiseRejectedResult).reason.bytesWritten, 0);
      // A new handle that gets the number never sees the old handle's operations.
      const fresh = s.pipe();
      const reused = [fresh.reader.fd, fresh.writer.fd].includes(fd);
      await fresh.writer.write("fresh");
      fresh.writer.close();
      const tail = drainNow(b); // what reached the peer: the first write's bytes only
      assert.ok(tail.every((x) => x === 0x41));
      const buf = new Uint8Array(16);
      assert.equal(await fresh.reader.read(buf), 5, `fd ${fd} reused: ${reused}`);
      assert.equal(decoder.decode(buf.subarray(0, 5)), "fresh");
      assert.equal(await fresh.reader.read(buf), null);
    },
  );
});

Deno.test("concurrent reads and receives on one handle: each byte or message once", async (t) => {
  await t.step(
    "pipe: pending reads are served in call order; an aborted one takes nothing",
    async () => {
      using s = new TestScope();
      const p = s.pipe();
      const bufs = [0, 1, 2, 3].map(() => new Uint8Array(1));
      const stop = new AbortController();
      const reads = bufs.map((b, i) => p.reader.read(b, i === 1 ? { signal: stop.signal } : {}));
      await waitedOn(p.reader.fd, EPOLLIN);
      stop.abort(new Error("no"));
      await assert.rejects(reads[1], { message: "no" });
      for (const [i, c] of [[0, "a"], [2, "b"], [3, "c"]] as const) {
        p.writer.writeSync(c);
        assert.equal(await reads[i], 1);
        assert.equal(String.fromCharCode(bufs[i][0]), c);
      }
    },
  );

  await t.step(
    "System V queue: receives sharing one parked call, the parked one aborted",
    async () => {
      using s = new TestScope();
      const q = s.messageQueue();
      const stop = new AbortController();
      const owner = q.receive({ type: 1, signal: stop.signal });
      await ownWaitPending({ syscall: "msgrcv", arg0: q.id });
      const others = [0, 1, 2, 3, 4].map(() => q.receive({ type: 1, timeout: HANG_MS }));
      const reason = new Error("stop");
      stop.abort(reason);
      // Nothing was sent yet: the parked call took nothing.
      await assert.rejects(owner, (e) => e === reason);
      for (let i = 0; i < 5; i++) q.sendSync(`m${i}`, { type: 1 });
      const got = (await Promise.all(others)).map((m) => decoder.decode(m.data));
      assert.deepEqual(got.sort(), ["m0", "m1", "m2", "m3", "m4"]);
      assert.equal(q.stat().messages, 0);
    },
  );

  await t.step("System V queue: 20 sends into a full queue, none lost or doubled", async () => {
    using s = new TestScope();
    const q = s.messageQueue();
    q.setMaxBytes(64);
    const sends = Array.from({ length: 20 }, (_, i) => q.send(filled(16, i), { type: 1 }));
    await ownWaitPending({ syscall: "msgsnd", arg0: q.id });
    const got: number[] = [];
    while (got.length < 20) got.push((await q.receive({ timeout: HANG_MS })).data[0]);
    await Promise.all(sends);
    assert.deepEqual(got.sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i));
    assert.equal(q.stat().messages, 0);
  });

  await t.step("POSIX queue: concurrent receives and sends into a full queue", async () => {
    using s = new TestScope();
    const { PosixMessageQueue } = await import("../mod.ts");
    const q = s.handle(
      PosixMessageQueue.open(s.posixName(), { create: true, maxMessages: 2, messageSize: 8 }),
    );
    const receives = Array.from({ length: 4 }, () => q.receive({ timeout: HANG_MS }));
    await waitedOn(q.fd, EPOLLIN);
    const sends = Array.from({ length: 24 }, (_, i) => q.send(new Uint8Array([i])));
    const got: number[] = (await Promise.all(receives)).map((m) => m.data[0]);
    while (got.length < 24) got.push((await q.receive({ timeout: HANG_MS })).data[0]);
    await Promise.all(sends);
    assert.deepEqual(got.sort((x, y) => x - y), Array.from({ length: 24 }, (_, i) => i));
    assert.equal(q.attributes().currentMessages, 0);
  });

  await t.step("seqpacket socket: concurrent receives, one message each", async () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair("seqpacket"));
    const receives = Array.from({ length: 5 }, () => b.receive({ timeout: HANG_MS }));
    await waitedOn(b.fd, EPOLLIN);
    for (let i = 0; i < 5; i++) a.sendSync(`s${i}`);
    const got = (await Promise.all(receives)).map((m) => decoder.decode(m!));
    assert.deepEqual(got.sort(), ["s0", "s1", "s2", "s3", "s4"]);
  });

  await t.step("for await over a System V queue while receive() runs too", async () => {
    using s = new TestScope();
    const q = s.messageQueue();
    const iterated: string[] = [];
    const loop = (async () => {
      for await (const m of q) iterated.push(decoder.decode(m.data));
    })();
    const received: string[] = [];
    const receives: Promise<void>[] = [];
    for (let i = 0; i < 6; i++) {
      // The loop may take both messages (it does when waits poll): this receive then
      // stays pending and takes a later one, or is ended by close().
      receives.push(q.receive().then((m) => void received.push(decoder.decode(m.data))));
      q.sendSync(`a${i}`);
      q.sendSync(`b${i}`);
      await until(() => iterated.length + received.length === 2 * (i + 1), "both messages taken");
    }
    q.close();
    await loop;
    for (const r of await Promise.allSettled(receives)) {
      if (r.status === "rejected") assert.ok(r.reason instanceof Deno.errors.BadResource, r.reason);
    }
    const all = [...iterated, ...received].sort();
    assert.equal(new Set(all).size, 12);
    assert.equal(all.length, 12);
  });
});

Deno.test("semaphores: concurrent waits on one handle, each post taken once", async (t) => {
  await t.step("Semaphore (System V): 5 acquires, 3 releases, close ends the other 2", async () => {
    using s = new TestScope();
    const sem = s.semaphoreSet(Semaphore.open("private", { value: 0 }));
    const taken: number[] = [];
    const acquires = Array.from({ length: 5 }, (_, i) => sem.acquire().then(() => taken.push(i)));
    await ownWaitPending({ syscall: "semtimedop", arg0: sem.id });
    for (let i = 0; i < 3; i++) sem.release();
    await until(() => taken.length === 3, "three acquisitions");
    const id = sem.id;
    sem.close();
    const settled = await Promise.allSettled(acquires);
    const rejected = settled.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    assert.equal(rejected.length, 2);
    for (const r of rejected) {
      systemError(Deno.errors.BadResource, "EBADF", "semop", { id })(r.reason);
    }
    assert.equal(taken.length, 3);
    using again = Semaphore.fromId(id);
    assert.equal(again.value, 0);
  });

  await t.step("PosixSemaphore (named): 5 waits, 3 posts, close ends the other 2", async () => {
    using s = new TestScope();
    const sem = s.handle(PosixSemaphore.open(s.semName(), { create: true, value: 0 }));
    const taken: number[] = [];
    const waits = Array.from({ length: 5 }, (_, i) => sem.wait().then(() => taken.push(i)));
    for (let i = 0; i < 3; i++) sem.post();
    await until(() => taken.length === 3, "three waits done");
    assert.equal(sem.value, 0);
    sem.close();
    const settled = await Promise.allSettled(waits);
    const rejected = settled.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    assert.equal(rejected.length, 2);
    for (const r of rejected) systemError(Deno.errors.BadResource, "EBADF", "sem_wait")(r.reason);
  });
});

Deno.test("record locks: concurrent waits on one handle, each granted as its range frees", async (t) => {
  await t.step(
    "5 waits, 3 ranges freed, an abort and close() end the other 2; nothing reaches the fd's next owner",
    async () => {
      await using s = new TestScope();
      const dir = await s.tempDir();
      const path = `${dir}/file`;
      const holder = s.handle(RecordLocks.open(path, { create: true }));
      const held = [0, 1, 2, 3, 4].map((start) => holder.tryLock({ start, length: 1 }));
      const locks = s.handle(RecordLocks.open(path));
      const stop = new AbortController();
      const taken: number[] = [];
      const waits = held.map((_, start) =>
        locks.lock({ start, length: 1, signal: start === 3 ? stop.signal : undefined })
          .then((lock) => void taken.push(lock.start))
      );
      const fd = locks.fd;
      await ownWaitPending({ syscall: "fcntl", arg0: fd, args: { 1: C.F_OFD_SETLKW } });
      for (const i of [0, 2, 1]) held[i].unlock();
      await until(() => taken.length === 3, "three locks granted");
      const reason = new Error("stop");
      stop.abort(reason);
      await assert.rejects(waits[3], (e) => e === reason);
      locks.close();
      await assert.rejects(
        waits[4],
        systemError(Deno.errors.BadResource, "EBADF", "fcntl", { fd, path }),
      );
      assert.deepEqual(taken.sort(), [0, 1, 2]);
      // A new open that may get the number: the ended waits lock neither its file nor the first.
      const other = s.handle(RecordLocks.open(`${dir}/other`, { create: true }));
      const watcher = s.handle(RecordLocks.open(`${dir}/other`));
      held[3].unlock();
      held[4].unlock();
      const waiting = { syscall: "fcntl", arg0: fd, args: { 1: C.F_OFD_SETLKW } } as const;
      await until(() => threadsBlockedIn(Deno.pid, waiting).length === 0, "no lock wait left");
      assert.equal(watcher.holder(), null, `fd ${fd} reused: ${other.fd === fd}`);
      assert.equal(holder.holder(), null, "the closed handle holds nothing");
    },
  );
});
