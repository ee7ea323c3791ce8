/**
 * One convention for every handle: `x()` / `xSync()` / `tryX()`, the same
 * option names, `timeout: Infinity` and timeouts of any size, TimedOut and
 * closed-handle errors that carry their code and name their object, reads that
 * refuse detached buffers. Checked the same way on every kind of handle.
 */
import assert from "node:assert/strict";
import {
  ChildProcess,
  connect,
  Connection,
  connectSync,
  datagram,
  FdReader,
  FdWriter,
  Fifo,
  listen,
  Listener,
  MessageQueue,
  notify,
  pipe,
  PosixMessageQueue,
  PosixSemaphore,
  PosixSharedMemory,
  ReceivedFds,
  RecordLock,
  RecordLocks,
  Semaphore,
  SemaphoreSet,
  sendSignal,
  SharedMemory,
  signalName,
  SignalReader,
  socketpair,
  spawn,
  spawnProgram,
  wait,
  waitSync,
} from "../mod.ts";
import { C } from "../ffi/platform.ts";
import { futexOperation, futexWake } from "../src/_wait/futex.ts";
import { untilClosed } from "../src/_wait/until_closed.ts";
import {
  bytesQueued,
  commandOutput,
  EPOLLIN,
  libc,
  ownWaitPending,
  rawPipe,
  systemError,
  TestScope,
  threadsBlockedIn,
  until,
  waitedOn,
  within,
} from "./_kernel.ts";

const detached = () => {
  const ab = new ArrayBuffer(64);
  const view = new Uint8Array(ab);
  ab.transfer();
  return view;
};

/** A receiving handle, and how to make data arrive at it. */
interface Receiver {
  name: string;
  syscall: string;
  subject: Record<string, unknown>;
  receive(options?: { signal?: AbortSignal; timeout?: number }): Promise<unknown>;
  receiveSync(options?: { timeout?: number }): unknown;
  tryReceive(): unknown;
  feed(): void;
  /** Resolves once a pending receive waits in the kernel. */
  waiting(): Promise<unknown>;
  handle: {
    closed: boolean;
    close(): void;
    ref(): void;
    unref(): void;
    [Symbol.asyncIterator]?: unknown;
  };
}

/** One handle of each kind, released by `s` at its end. */
function receivers(s: TestScope): Receiver[] {
  const p = s.pipe();
  const buf = new Uint8Array(64);
  const q = s.messageQueue("private");
  const name = s.posixName();
  const pq = s.handle(
    PosixMessageQueue.open(name, { create: true, exclusive: true, messageSize: 64 }),
  );
  return [
    {
      name: "FdReader",
      syscall: "read",
      subject: { fd: p.reader.fd },
      receive: (o) => p.reader.read(buf, o),
      receiveSync: (o) => p.reader.readSync(buf, o),
      tryReceive: () => p.reader.tryRead(buf),
      feed: () => p.writer.writeSync("x"),
      waiting: () => waitedOn(p.reader.fd, EPOLLIN),
      handle: p.reader,
    },
    {
      name: "MessageQueue",
      syscall: "msgrcv",
      subject: { id: q.id },
      receive: (o) => q.receive(o),
      receiveSync: (o) => q.receiveSync(o),
      tryReceive: () => q.tryReceive(),
      feed: () => {
        using other = MessageQueue.fromId(q.id);
        other.sendSync("x");
      },
      waiting: () => ownWaitPending({ syscall: "msgrcv", arg0: q.id }),
      handle: q,
    },
    {
      name: "PosixMessageQueue",
      syscall: "mq_receive",
      subject: { path: name, fd: pq.fd },
      receive: (o) => pq.receive(o),
      receiveSync: (o) => pq.receiveSync(o),
      tryReceive: () => pq.tryReceive(),
      feed: () => {
        using other = PosixMessageQueue.open(name, { access: "write" });
        other.trySend("x");
      },
      waiting: () => waitedOn(pq.fd, EPOLLIN),
      handle: pq,
    },
  ];
}

/**
 * Record locks as a receiving handle: receive number k locks byte k of a
 * file, which another open of it holds until a feed releases it (a feed that
 * no receive waits for leaves the next receive's byte free). What a receive
 * takes it releases at once, so no two of them overlap. Not async-iterable:
 * a lock is held, not taken from a stream of items.
 */
async function lockReceiver(s: TestScope): Promise<Receiver> {
  const path = `${await s.tempDir("libc-ipc-conv-")}/lock`;
  Deno.writeFileSync(path, new Uint8Array());
  const locks = s.handle(RecordLocks.open(path));
  const other = s.handle(RecordLocks.open(path));
  let next = 0;
  let free = 0;
  /** The other open's locks that pending receives wait for, oldest first. */
  const waitedFor = new Set<RecordLock>();
  /** The next receive's byte, and the other open's lock of it (none when a feed left it free). */
  const nextByte = () => {
    const range = { start: next++, length: 1 };
    const blocker = free > 0 ? (free--, undefined) : other.tryLock(range);
    return { range, blocker };
  };
  /** A sync form on the next byte: what it took is released, and the other's lock either way. */
  const sync = (call: (range: { start: number; length: number }) => RecordLock) => {
    const { range, blocker } = nextByte();
    try {
      call(range).unlock();
    } finally {
      blocker?.unlock();
    }
  };
  return {
    name: "RecordLocks",
    syscall: "fcntl",
    subject: { path, fd: locks.fd },
    receive: (o) => {
      const { range, blocker } = nextByte();
      if (blocker !== undefined) waitedFor.add(blocker);
      return locks.lock({ ...range, ...o }).then((lock) => lock.unlock()).finally(() => {
        if (blocker === undefined) return;
        waitedFor.delete(blocker);
        blocker.unlock();
      });
    },
    receiveSync: (o) => sync((range) => locks.lockSync({ ...range, ...o })),
    tryReceive: () => sync((range) => locks.tryLock(range)),
    feed: () => {
      const [first] = waitedFor;
      if (first === undefined) {
        free++;
      } else {
        waitedFor.delete(first);
        first.unlock();
      }
    },
    waiting: () =>
      ownWaitPending({ syscall: "fcntl", arg0: locks.fd, args: { 1: C.F_OFD_SETLKW } }),
    handle: locks,
  };
}

/** The error of the convention: `Class` with `code`, the receiver's call and object. */
function matches(r: Receiver, Class: new (...args: never[]) => Error, code: string) {
  return systemError(Class, code, r.syscall, r.subject as Record<string, number | string>);
}

/**
 * One timer turn. Timers fire in the order of their deadlines: a timer the
 * wait may have set with a delay that overflows setTimeout (2^31 ms or more,
 * which Deno clamps to 1 ms) is due before this one, so it has fired when this
 * resolves. An ordering barrier, not a sleep.
 */
const afterOverflowedTimers = () => new Promise((resolve) => setTimeout(resolve, 1));

Deno.test("every receiving handle follows one convention", async (t) => {
  await using s = new TestScope();
  const all = [...receivers(s), await lockReceiver(s)];

  await t.step(
    "x({ timeout }) and xSync({ timeout }): TimedOut, ETIMEDOUT, the operation and object",
    async () => {
      for (const r of all) {
        await assert.rejects(
          r.receive({ timeout: 5 }),
          matches(r, Deno.errors.TimedOut, "ETIMEDOUT"),
        );
        assert.throws(
          () => r.receiveSync({ timeout: 5 }),
          matches(r, Deno.errors.TimedOut, "ETIMEDOUT"),
        );
        await assert.rejects(r.receive({ timeout: 0 }), Deno.errors.TimedOut);
      }
    },
  );

  await t.step("tryX(): WouldBlock with the call's errno", () => {
    for (const r of all) {
      assert.throws(
        () => r.tryReceive(),
        systemError(Deno.errors.WouldBlock, ["EAGAIN", "ENOMSG"], r.syscall),
      );
    }
  });

  await t.step(
    "timeout: Infinity and timeouts of 2^31 ms or more do not end the wait",
    async () => {
      for (const r of all) {
        for (const timeout of [Infinity, 2 ** 31, 2 ** 31 + 5, 1e15]) {
          const got = r.receive({ timeout });
          let settled = false;
          got.finally(() => settled = true).catch(() => {});
          await r.waiting(); // in the kernel
          await afterOverflowedTimers();
          assert.equal(settled, false, `${r.name} timeout ${timeout} ended early`);
          r.feed();
          await within(got, `${r.name} receive({ timeout: ${timeout} })`);
        }
        // Timespecs of huge timeouts once wrapped (EINVAL from timer_settime or the call).
        for (const timeout of [Infinity, 2 ** 31 + 5, 1e22, 1e300, Number.MAX_VALUE]) {
          r.feed();
          r.receiveSync({ timeout });
        }
      }
    },
  );

  await t.step("bad options: TypeError/RangeError before any wait", async () => {
    for (const r of all) {
      for (const timeout of [-1, NaN]) {
        await assert.rejects(r.receive({ timeout }), RangeError);
        assert.throws(() => r.receiveSync({ timeout }), RangeError);
      }
      // A string that reads as a number is still the wrong type, and the message shows it.
      const text = "5" as unknown as number;
      await assert.rejects(r.receive({ timeout: text }), TypeError);
      assert.throws(() => r.receiveSync({ timeout: text }), /got "5" \(a string\)/);
      await assert.rejects(r.receive({ signal: {} as AbortSignal }), TypeError);
    }
  });

  await t.step("every receiving handle is async-iterable and says whether it is closed", () => {
    for (const r of all) {
      // A lock is held, not taken from a stream of items: RecordLocks has no iteration.
      const iterable = r.name !== "RecordLocks";
      const kind = iterable ? "function" : "undefined";
      assert.equal(typeof r.handle[Symbol.asyncIterator], kind, r.name);
      assert.equal(r.handle.closed, false, r.name);
    }
  });

  await t.step(
    "unref() and ref(), also of a pending wait, leave every receive to complete",
    async () => {
      for (const r of all) {
        const first = r.receive();
        await r.waiting(); // parked, then moved to a wait that keeps nothing alive
        r.handle.unref();
        const second = r.receive();
        // Either may take the first message: one, then the other.
        r.feed();
        await within(Promise.race([first, second]), `${r.name} receives around unref()`);
        r.feed();
        await within(Promise.all([first, second]), `${r.name} receives around unref()`);
        const third = r.receive();
        r.handle.ref();
        r.feed();
        await within(third, `${r.name} receive() pending at ref()`);
      }
    },
  );

  await t.step(
    "close(): pending and later operations fail with BadResource, EBADF, the object",
    async () => {
      for (const r of all) {
        const pending = [r.receive(), r.receive({ timeout: 60_000 })];
        r.handle.close();
        r.handle.close(); // twice: nothing
        assert.equal(r.handle.closed, true);
        const closed = matches(r, Deno.errors.BadResource, "EBADF");
        const errors = await Promise.all(pending.map((p) => p.then(() => null, (e) => e)));
        for (const e of errors) closed(e);
        assert.notEqual(errors[0], errors[1], "each wait gets an error of its own");
        await assert.rejects(r.receive(), closed);
        assert.throws(() => r.receiveSync(), closed);
        assert.throws(() => r.tryReceive(), closed);
      }
    },
  );
});

Deno.test("reads into a view of a detached buffer throw TypeError", async () => {
  await using s = new TestScope();
  const p = s.pipe();
  p.writer.writeSync("data");
  await assert.rejects(p.reader.read(detached()), TypeError);
  assert.throws(() => p.reader.readSync(detached()), TypeError);
  assert.throws(() => p.reader.tryRead(detached()), TypeError);
  assert.equal(p.reader.tryRead(new Uint8Array(8)), 4, "the data is still there");
  const q = s.messageQueue("private");
  q.sendSync("m");
  await assert.rejects(q.receiveInto(detached()), TypeError);
  assert.throws(() => q.receiveIntoSync(detached()), TypeError);
  assert.throws(() => q.tryReceiveInto(detached()), TypeError);
  assert.equal(q.stat().messages, 1);
});

Deno.test("a buffer detached while a receive waits: TypeError, and nothing lost", async (t) => {
  await using s = new TestScope();
  // A message queue's buffer, detached or shrunk (resizable) below the message after the call.
  const spoil = {
    detached: (buf: Uint8Array) => void (buf.buffer as ArrayBuffer).transfer(),
    shrunk: (buf: Uint8Array) => (buf.buffer as ArrayBuffer).resize(4),
  };
  const buffer = () => new Uint8Array(new ArrayBuffer(64, { maxByteLength: 64 }));
  for (const [how, spoiled] of Object.entries(spoil)) {
    await t.step(`System V, ${how}: the message the parked call took is on the error`, async () => {
      const q = s.messageQueue("private");
      const buf = buffer();
      const pending = q.receiveInto(buf);
      await ownWaitPending({ syscall: "msgrcv", arg0: q.id });
      spoiled(buf);
      q.sendSync("precious");
      await assert.rejects(pending, (e) => {
        assert.ok(e instanceof TypeError);
        const { received } = e as TypeError & { received: { type: number; data: Uint8Array } };
        assert.deepEqual([received.type, new TextDecoder().decode(received.data)], [1, "precious"]);
        return true;
      });
    });
    await t.step(`POSIX, ${how}: the message stays in the queue`, async () => {
      const q = s.handle(
        PosixMessageQueue.open(s.posixName(), { create: true, exclusive: true, messageSize: 64 }),
      );
      const buf = buffer();
      const pending = q.receiveInto(buf);
      await waitedOn(q.fd, EPOLLIN);
      spoiled(buf);
      q.sendSync("precious");
      await assert.rejects(pending, TypeError);
      assert.equal(new TextDecoder().decode(q.tryReceive().data), "precious");
    });
  }
  await t.step("POSIX, shrunk but with room for the largest message: received", async () => {
    // mq_receive needs room for messageSize bytes, no more: the receive goes on.
    const q = s.handle(
      PosixMessageQueue.open(s.posixName(), { create: true, exclusive: true, messageSize: 64 }),
    );
    const buf = new Uint8Array(new ArrayBuffer(200, { maxByteLength: 200 }));
    const pending = q.receiveInto(buf);
    await waitedOn(q.fd, EPOLLIN);
    (buf.buffer as ArrayBuffer).resize(100);
    q.sendSync("precious");
    assert.equal((await pending).size, 8);
    assert.equal(new TextDecoder().decode(buf.subarray(0, 8)), "precious");
  });
  /** Starts a receive into a buffer, detaches it once the receive waits, sends; then reads what was sent. */
  const detachedWhileWaiting = async (
    fd: number,
    receive: (buf: Uint8Array) => Promise<unknown>,
    send: () => void,
    left: () => string,
  ) => {
    const buf = new Uint8Array(new ArrayBuffer(64));
    const pending = receive(buf);
    await waitedOn(fd, EPOLLIN);
    buf.buffer.transfer();
    send();
    await assert.rejects(pending, TypeError);
    assert.equal(left(), "precious");
  };
  const text = (bytes: Uint8Array, n: number | null) =>
    new TextDecoder().decode(bytes.subarray(0, n!));
  await t.step("pipe read(): the bytes stay in the pipe", async () => {
    const p = s.pipe();
    const into = new Uint8Array(64);
    await detachedWhileWaiting(
      p.reader.fd,
      (buf) => p.reader.read(buf),
      () => p.writer.writeSync("precious"),
      () => text(into, p.reader.tryRead(into)),
    );
  });
  await t.step("stream read(): the bytes stay, not an end of stream", async () => {
    const [a, b] = s.handle(socketpair());
    const into = new Uint8Array(64);
    await detachedWhileWaiting(
      b.fd,
      (buf) => b.read(buf),
      () => a.writeSync("precious"),
      () => text(into, b.tryRead(into)),
    );
  });
  for (const type of ["seqpacket", "datagram"] as const) {
    await t.step(`${type} receiveInto(): the message stays`, async () => {
      const [a, b] = s.handle(socketpair(type));
      await detachedWhileWaiting(
        b.fd,
        (buf) => b.receiveInto(buf),
        () => a.sendSync("precious"),
        () => new TextDecoder().decode(b.tryReceive()!),
      );
    });
  }
  await t.step("DatagramSocket receiveFromInto(): the datagram stays", async () => {
    const d = s.handle(datagram({ port: 0 }));
    await detachedWhileWaiting(
      d.fd,
      (buf) => d.receiveFromInto(buf),
      () => d.sendToSync("precious", d.addr),
      () => new TextDecoder().decode(d.tryReceiveFrom().data),
    );
  });
});

Deno.test("writes and sends of a view of a detached buffer throw TypeError, and send nothing", async () => {
  await using s = new TestScope();
  const p = s.pipe();
  await assert.rejects(p.writer.write(detached()), TypeError);
  assert.throws(() => p.writer.writeSync(detached()), TypeError);
  assert.throws(() => p.writer.tryWrite(detached()), TypeError);
  assert.throws(() => p.reader.tryRead(new Uint8Array(8)), Deno.errors.WouldBlock);
  const q = s.messageQueue("private");
  await assert.rejects(q.send(detached()), TypeError);
  assert.throws(() => q.sendSync(detached()), TypeError);
  assert.throws(() => q.trySend(detached()), TypeError);
  assert.equal(q.stat().messages, 0);
});

Deno.test("a descriptor an open handle owns is refused by every other adopter, until it closes", async () => {
  // A second owner would close it under the first, which would then close whatever file took
  // the number next.
  await using s = new TestScope();
  const p = s.pipe();
  const [a] = s.handle(socketpair());
  const q = s.handle(PosixMessageQueue.open(s.posixName(), { create: true }));
  const shm = s.handle(PosixSharedMemory.open(s.shmName(), { create: true, size: 64 }));
  const locks = s.handle(
    RecordLocks.open(`${await s.tempDir("libc-ipc-conv-")}/lock`, { create: true }),
  );
  const adopters: Array<(fd: number) => unknown> = [
    (fd) => new FdReader(fd),
    (fd) => new FdWriter(fd),
    (fd) => Connection.fromFd(fd),
    (fd) => Listener.fromFd(fd),
    (fd) => PosixMessageQueue.fromFd(fd),
    (fd) => PosixSharedMemory.fromFd(fd),
  ];
  for (const fd of [p.reader.fd, p.writer.fd, a.fd, q.fd, shm.fd, locks.fd]) {
    for (const adopt of adopters) {
      assert.throws(() => adopt(fd), /belongs to an open .*, which closes it/, String(adopt));
    }
  }
  assert.equal([p.reader, p.writer, a, q, shm, locks].some((h) => h.closed), false);
  // Closed, the number is free for the next owner.
  const [r] = rawPipe().map((n) => s.fd(n));
  const fd = p.reader.fd;
  p.reader.close();
  const F_DUPFD = 0; // the lowest free number from fd on: fd itself, free again
  using again = new FdReader(libc.fcntl(r, F_DUPFD, fd));
  assert.equal(again.fd, fd);
});

Deno.test("readSync({ timeout: Infinity }) blocks until a writer in another process writes", async () => {
  await using s = new TestScope();
  for (const timeout of [Infinity, 2 ** 31 + 5]) {
    const p = s.pipe();
    // The child writes only once this thread waits in the kernel on the reader's fd.
    const child = s.fixture("write_when_waited.ts", {
      args: [String(Deno.pid), String(p.reader.fd)],
      fds: { 3: p.writer },
    });
    p.writer.close();
    await child.check(() => assert.equal(p.reader.readSync(new Uint8Array(8), { timeout }), 1));
    await child.exits(0);
  }
});

Deno.test("FIFO opens: Infinity and huge timeouts wait; TimedOut names the path", async () => {
  await using s = new TestScope();
  const path = `${await s.tempDir("libc-ipc-conv-")}/fifo`;
  Fifo.create(path);
  await assert.rejects(
    Fifo.open(path, "read", { timeout: 5 }),
    systemError(Deno.errors.TimedOut, "ETIMEDOUT", "open", { path }),
  );
  const readOpens = () =>
    threadsBlockedIn(Deno.pid, { syscall: "open", wchan: "wait_for_partner" }).length;
  for (const timeout of [Infinity, 2 ** 31 + 5]) {
    const before = readOpens();
    let settled = false;
    const reading = Fifo.open(path, "read", { timeout }).finally(() => settled = true);
    reading.catch(() => {});
    await until(() => readOpens() > before, "the open for reading to block");
    await afterOverflowedTimers();
    assert.equal(settled, false, `timeout ${timeout} ended the open early`);
    using w = await within(Fifo.open(path, "write", { timeout }), "open for writing");
    using r = await within(reading, "open for reading");
    w.writeSync("x");
    assert.equal(r.readSync(new Uint8Array(4)), 1);
  }
});

Deno.test("MessageQueue.open(key) without create asks for no permission bits", async () => {
  await using s = new TestScope();
  const dir = await s.tempDir("libc-ipc-conv-");
  const key = MessageQueue.ftok(dir, 1);
  // Owner may read, not write: C's msgget(key, 0) opens it; asking for 0600 would be EACCES.
  s.messageQueue(key, { create: true, exclusive: true, mode: 0o400 });
  // Root passes every IPC permission check through CAP_IPC_OWNER: drop it for the child.
  const out = await commandOutput("setpriv", {
    args: [
      "--inh-caps=-ipc_owner",
      "--bounding-set=-ipc_owner",
      "--",
      Deno.execPath(),
      "run",
      "--allow-ffi",
      new URL("./fixtures/open_existing.ts", import.meta.url).pathname,
      String(key),
    ],
  });
  assert.ok(out.success, `child failed: ${out.stderr}`);
  assert.deepEqual(JSON.parse(out.stdout), {
    opened: "ok",
    receive: "WouldBlock",
    send: "PermissionDenied",
  }, `stderr of the child: ${out.stderr}`);
});

Deno.test("a value of the wrong type where an array, a path or an object is wanted: the TypeError shows it", async () => {
  await using s = new TestScope();
  const set = s.semaphoreSet(SemaphoreSet.open("private", { count: 1 }));
  const [a, b] = socketpair();
  s.handle(a);
  s.handle(b);
  const any = (x: unknown) => x as never;
  const calls: [string, () => unknown, RegExp][] = [
    ["spawnProgram(5)", () => spawnProgram(any(5)), /got 5\b/],
    ["spawn(5)", () => spawn(any(5)), /got 5\b/],
    ["spawnProgram args", () => spawnProgram("/bin/true", any("x")), /got "x"/],
    [
      "blockSignals",
      () => spawnProgram("/bin/true", [], any({ blockSignals: "SIGHUP" })),
      /got "SIGHUP"/,
    ],
    ["Fifo.create(5)", () => Fifo.create(any(5)), /got 5\b/],
    ["RecordLocks.open(5)", () => RecordLocks.open(any(5)), /got 5\b/],
    ["trySendFds(5)", () => a.trySendFds(any(5)), /got 5\b/],
    ["connect(5)", () => connectSync(any(5)), /got 5\b/],
    ["tryOp('x')", () => set.tryOp(any("x")), /got "x"/],
    ["tryOp([5])", () => set.tryOp(any([5])), /got 5\b/],
    ["setValues('x')", () => set.setValues(any("x")), /got "x"/],
  ];
  for (const [name, call, shows] of calls) {
    assert.throws(call, (e) => e instanceof TypeError && shows.test(e.message), name);
  }
});

Deno.test("a buffer whose byteLength lies is refused before the kernel gets its size", async () => {
  // The size handed to the kernel is byteLength: 8192 said of 16 bytes let a receive write past
  // them (the heap corrupted, the process aborted).
  await using s = new TestScope();
  const q = s.handle(
    PosixMessageQueue.open(s.posixName(), { create: true, exclusive: true, messageSize: 8192 }),
  );
  q.sendSync(new Uint8Array(8192));
  const ownProperty = new Uint8Array(16);
  Object.defineProperty(ownProperty, "byteLength", { value: 8192 });
  class Lying extends Uint8Array {
    override get byteLength() {
      return 8192;
    }
  }
  const p = s.pipe();
  for (const buffer of [ownProperty, new Lying(16)]) {
    const lies = /byteLength is redefined/;
    assert.throws(() => q.receiveIntoSync(buffer), lies);
    assert.throws(() => p.reader.readSync(buffer), lies);
    assert.throws(() => p.writer.writeSync(buffer), lies);
  }
  assert.equal(q.attributes().currentMessages, 1, "the message stays queued");
});

Deno.test("a wrong type is a TypeError that shows it; a number out of range, a RangeError", async (t) => {
  await using s = new TestScope();
  const p = s.pipe();
  const dir = await s.tempDir("libc-ipc-conv-");
  const path = `${dir}/never.sock`;
  const lockPath = `${dir}/never.lock`;
  const locks = s.handle(RecordLocks.open(`${dir}/lock`, { create: true }));
  const any = (x: unknown) => x as never;
  // Each shared check once, through calls that use it; `name` starts its messages.
  const checks: {
    name: string;
    calls: ((value: unknown) => unknown)[];
    outOfRange: number[];
  }[] = [
    {
      name: "timeout",
      calls: [
        (timeout) => p.reader.read(new Uint8Array(8), { timeout: any(timeout) }),
        (timeout) => p.reader.readSync(new Uint8Array(8), { timeout: any(timeout) }),
        (timeout) => locks.lock({ timeout: any(timeout) }),
        (timeout) => locks.lockSync({ timeout: any(timeout) }),
      ],
      outOfRange: [-1, NaN, -Infinity],
    },
    {
      name: "mode",
      calls: [
        (mode) => listen({ path, mode: any(mode) }),
        (mode) => RecordLocks.open(lockPath, { create: true, mode: any(mode) }),
      ],
      outOfRange: [-1, 1.5, NaN, 0o1000],
    },
    {
      name: "port",
      calls: [
        (port) => connect({ hostname: "127.0.0.1", port: any(port) }),
        (port) => connectSync({ port: any(port) }),
        (port) => listen({ hostname: "127.0.0.1", port: any(port) }),
      ],
      outOfRange: [-1, 1.5, NaN, 65536],
    },
    {
      name: "fds[3]",
      calls: [(fd) => spawnProgram("/bin/true", [], { fds: { 3: any(fd) } })],
      outOfRange: [-1, 1.5, NaN, 2 ** 31],
    },
  ];
  const escaped = (text: string) => text.replace(/[[\]().*+?^$|\\]/g, "\\$&");
  for (const { name, calls, outOfRange } of checks) {
    await t.step(name, async () => {
      const cases: [unknown, typeof TypeError, string][] = [
        // Strings that read as numbers once gave "RangeError: ... got 80", hiding the type.
        ["80", TypeError, `"80" (a string)`],
        [80n, TypeError, "80n (a bigint)"],
        [[80], TypeError, "an array of 1"],
        [new Number(80), TypeError, "[object Number]"],
        ...outOfRange.map((n): [unknown, typeof TypeError, string] => [n, RangeError, String(n)]),
      ];
      for (const call of calls) {
        for (const [value, error, shown] of cases) {
          await assert.rejects(
            async () => await call(value),
            (e: Error) => {
              assert.ok(e instanceof error, `${name} ${String(value)}: ${e}`);
              assert.match(
                e.message,
                new RegExp(`^${escaped(name)} must .*, got ${escaped(shown)}$`),
              );
              return true;
            },
          );
        }
      }
    });
  }
  // Refused before any system call: no socket file nor lock file was made, nothing was locked.
  await assert.rejects(() => Deno.lstat(path), Deno.errors.NotFound);
  await assert.rejects(() => Deno.lstat(lockPath), Deno.errors.NotFound);
  assert.equal(locks.held.length, 0);
});

/** A constructor as JavaScript sees it, where TypeScript's `private` does not exist. */
type Open<T> = new (...args: unknown[]) => T;

Deno.test("one rule for bad arguments everywhere: the class says type or range, the message names the parameter and shows the value", async (t) => {
  await using s = new TestScope();
  const dir = await s.tempDir("libc-ipc-conv-");
  const file = `${dir}/key`;
  Deno.writeTextFileSync(file, "");
  const any = (x: unknown) => x as never;
  let names = 0;
  const abstract = () => `libc-ipc-conv-${Deno.pid}-${++names}`;
  const q = s.messageQueue("private");
  const pq = s.handle(
    PosixMessageQueue.open(s.posixName(), { create: true, exclusive: true, messageSize: 64 }),
  );
  const shm = s.handle(PosixSharedMemory.anonymous(64));
  const words = new Int32Array(shm.bytes.buffer, 0, 4);
  const segment = s.segment(SharedMemory.open("private", { size: 64 }));
  const set = s.semaphoreSet(SemaphoreSet.open("private", { count: 2 }));
  const sem = s.semaphoreSet(Semaphore.open("private"));
  const psem = s.handle(PosixSemaphore.open(s.semName(), { create: true, exclusive: true }));
  const p = s.pipe();
  const [a, b] = socketpair();
  s.handle(a);
  s.handle(b);
  a.sendFdsSync([p.reader], "x");
  const received = s.handle(b.receiveFdsSync()!);
  const [c, d] = socketpair("seqpacket");
  s.handle(c);
  s.handle(d);
  const listener = s.handle(listen({ abstract: abstract() }));
  const socket = s.handle(datagram({ abstract: abstract() }));
  const fifo = `${dir}/fifo`;
  Fifo.create(fifo);
  const lockPath = `${dir}/lock`;
  const locks = s.handle(RecordLocks.open(lockPath, { create: true }));
  const buf = new Uint8Array(64);
  const escaped = (text: string) => text.replace(/[[\]().*+?^$|\\{}]/g, "\\$&");
  /** Settles `call` (a throw or a rejection) into the error, or fails when it succeeds. */
  const errorOf = async (call: () => unknown): Promise<Error> => {
    try {
      const value = await call();
      (value as Partial<Disposable> | undefined)?.[Symbol.dispose]?.();
    } catch (e) {
      return e as Error;
    }
    throw new assert.AssertionError({ message: "it succeeded" });
  };

  await t.step(
    "integers: TypeError for a non-number, RangeError for one out of range",
    async () => {
      // [call, parameter as messages name it, the call, numbers out of range, bigints valid]
      const rows: [string, string, (v: unknown) => unknown, number[], boolean?][] = [
        ["MessageQueue.ftok", "projId", (v) => MessageQueue.ftok(file, any(v)), [0, 256, 1.5, NaN]],
        ["SharedMemory.ftok", "projId", (v) => SharedMemory.ftok(file, any(v)), [256]],
        ["SemaphoreSet.ftok", "projId", (v) => SemaphoreSet.ftok(file, any(v)), [-1]],
        ["MessageQueue.open", "key", (v) => MessageQueue.open(any(v)), [
          2 ** 32,
          -(2 ** 31) - 1,
          1.5,
        ]],
        ["SharedMemory.open", "key", (v) => SharedMemory.open(any(v), { size: 64 }), [2 ** 32]],
        ["SemaphoreSet.open", "key", (v) => SemaphoreSet.open(any(v)), [NaN]],
        ["Semaphore.open", "key", (v) => Semaphore.open(any(v)), [-Infinity]],
        ["MessageQueue.fromId", "id", (v) => MessageQueue.fromId(any(v)), [-1, 2 ** 31, 1.5]],
        ["SharedMemory.fromId", "id", (v) => SharedMemory.fromId(any(v)), [-1]],
        ["SemaphoreSet.fromId", "id", (v) => SemaphoreSet.fromId(any(v)), [2 ** 31]],
        ["Semaphore.fromId", "id", (v) => Semaphore.fromId(any(v)), [NaN]],
        ["MessageQueue.tryReceive", "maxSize", (v) => q.tryReceive({ maxSize: any(v) }), [-1, 1.5]],
        ["MessageQueue.receive", "maxSize", (v) => q.receive({ maxSize: any(v) }), [2 ** 31]],
        [
          "MessageQueue.tryReceiveInto",
          "maxSize",
          (v) => q.tryReceiveInto(buf, { maxSize: any(v) }),
          [-1],
        ],
        ["MessageQueue.trySend", "type", (v) => q.trySend("x", { type: any(v) }), [0, 1.5], true],
        ["MessageQueue.tryReceive", "type", (v) => q.tryReceive({ type: any(v) }), [NaN], true],
        ["PosixSharedMemory.read", "offset", (v) => shm.read(any(v)), [-1, 65, 1.5]],
        ["PosixSharedMemory.read", "length", (v) => shm.read(0, any(v)), [65, -1]],
        ["PosixSharedMemory.readInto", "offset", (v) => shm.readInto(buf, any(v)), [65]],
        ["SharedMemory.read", "offset", (v) => segment.read(any(v)), [65]],
        ["wait", "index", (v) => wait(words, any(v), 0, { timeout: 0 }), [4, -1, 1.5]],
        ["wait", "expected", (v) => wait(words, 0, any(v), { timeout: 0 }), [2 ** 32, 1.5]],
        ["waitSync", "index", (v) => waitSync(words, any(v), 0, { timeout: 0 }), [4]],
        ["waitSync", "expected", (v) => waitSync(words, 0, any(v), { timeout: 0 }), [
          -(2 ** 31) - 1,
        ]],
        ["notify", "index", (v) => notify(words, any(v)), [4]],
        ["notify", "count", (v) => notify(words, 0, any(v)), [-1, 1.5, NaN]],
        // The engine's own checks, behind every futex wait and semaphore.
        ["futexOperation", "index", (v) => futexOperation(words, any(v), 0), [4]],
        ["futexOperation", "expected", (v) => futexOperation(words, 0, any(v)), [2 ** 32]],
        ["futexWake", "count", (v) => futexWake(words, 0, any(v)), [-1]],
        ["ReceivedFds.take", "index", (v) => received.take(any(v)), [1, -1, 1.5]],
        ["ReceivedFds.reader", "index", (v) => received.reader(any(v)), [2]],
        ["Connection.tryReceiveFds", "max", (v) => b.tryReceiveFds({ max: any(v) }), [254, -1]],
        ["Connection.tryReceiveFds", "maxBytes", (v) => b.tryReceiveFds({ maxBytes: any(v) }), [0]],
        ["Connection.trySendFds", "fds[0]", (v) => a.trySendFds([any(v)]), [-1, 2 ** 31, 1.5]],
        ["new FdReader", "fd", (v) => new FdReader(any(v)), [-1, 2 ** 31, 1.5]],
        ["new FdWriter", "fd", (v) => new FdWriter(any(v)), [-1]],
        ["Connection.fromFd", "fd", (v) => Connection.fromFd(any(v)), [-1]],
        ["Listener.fromFd", "fd", (v) => Listener.fromFd(any(v)), [2 ** 31]],
        ["PosixSharedMemory.fromFd", "fd", (v) => PosixSharedMemory.fromFd(any(v)), [-1, 1.5]],
        // Checks that had the classes right but named only the type of a wrong one ("got string").
        ["SemaphoreSet.tryOp", "ops[0].index", (v) => set.tryOp([{ index: any(v), delta: 1 }]), [
          2,
        ]],
        [
          "SemaphoreSet.tryOp",
          "ops[0].delta",
          (v) => set.tryOp([{ index: 0, delta: any(v) }]),
          [1.5, 2 ** 20],
        ],
        ["SemaphoreSet.open", "count", (v) => SemaphoreSet.open("private", { count: any(v) }), [0]],
        ["SemaphoreSet.setValue", "value", (v) => set.setValue(0, any(v)), [-1]],
        [
          "PosixSemaphore.open",
          "value",
          (v) => PosixSemaphore.open(s.semName(), { create: true, value: any(v) }),
          [-1],
        ],
        ["PosixMessageQueue.trySend", "priority", (v) => pq.trySend("x", { priority: any(v) }), [
          -1,
          32768,
        ]],
        [
          "PosixMessageQueue.open",
          "maxMessages",
          (v) => PosixMessageQueue.open(s.posixName(), { create: true, maxMessages: any(v) }),
          [0],
        ],
        ["PosixSharedMemory.anonymous", "size", (v) => PosixSharedMemory.anonymous(any(v)), [
          0,
          1.5,
        ]],
        ["SharedMemory.open", "size", (v) => SharedMemory.open("private", { size: any(v) }), [0]],
        ["signalName", "signal number", (v) => signalName(any(v)), [0, 65]],
        ["sendSignal", "value", (v) => sendSignal(Deno.pid, "SIGCHLD", { value: any(v) }), [
          2 ** 31,
        ]],
        ["sendSignal", "target", (v) => sendSignal(any(v), "SIGCHLD"), [1.5, 2 ** 31]],
        ["RecordLocks.tryLock", "start", (v) => locks.tryLock({ start: any(v) }), [-1, 1.5, NaN]],
        ["RecordLocks.lock", "start", (v) => locks.lock({ start: any(v) }), [2 ** 53, -0.5]],
        ["RecordLocks.lockSync", "length", (v) => locks.lockSync({ length: any(v) }), [0, -1]],
        ["RecordLocks.lock", "length", (v) => locks.lock({ length: any(v) }), [1.5, NaN]],
        [
          "RecordLocks.holder",
          "length",
          (v) => locks.holder({ start: 10, length: any(v) }),
          [2 ** 53 - 10, -Infinity],
        ],
        [
          "listen",
          "allowUids: a user id",
          (v) => listen({ abstract: abstract(), allowUids: [any(v)] }),
          [-1, 2 ** 32],
        ],
      ];
      const wrong: string[] = [];
      for (const [call, name, run, outOfRange, bigints] of rows) {
        const cases: [unknown, typeof TypeError, string][] = [
          // "5" and 5n once read "got 5", hiding the type, and were RangeErrors in many places.
          ["5", TypeError, `"5" (a string)`],
          ...(bigints
            ? []
            : [[5n, TypeError, "5n (a bigint)"] as [unknown, typeof TypeError, string]]),
          [{}, TypeError, "[object Object]"],
          ...outOfRange.map((n): [unknown, typeof TypeError, string] => [n, RangeError, String(n)]),
        ];
        for (const [value, Class, shown] of cases) {
          const e = await errorOf(() => run(value)).catch((e) => e as Error);
          // "must be an integer" where only a number fits, "must be ... or a handle" where more do.
          const message = new RegExp(`\\b${escaped(name)} must be .*, got ${escaped(shown)}$`);
          if (!(e instanceof Class) || !message.test(e.message)) {
            wrong.push(`${call}(${name} = ${shown}): ${e} (expected a ${Class.name})`);
          }
        }
      }
      assert.deepEqual(wrong, []);
    },
  );

  await t.step("boolean options: a TypeError for anything but a boolean or undefined", async () => {
    const rows: [string, string, (v: unknown) => unknown][] = [
      ["MessageQueue.tryReceive", "except", (v) => q.tryReceive({ type: 1, except: any(v) })],
      ["MessageQueue.tryReceive", "noError", (v) => q.tryReceive({ noError: any(v) })],
      ["MessageQueue.receive", "noError", (v) => q.receive({ noError: any(v), timeout: 0 })],
      ["MessageQueue.receiveSync", "except", (v) => q.receiveSync({ except: any(v), timeout: 0 })],
      // "private" creates whatever create says: it is checked all the same.
      ["MessageQueue.open", "create", (v) => MessageQueue.open("private", { create: any(v) })],
      [
        "SharedMemory.open",
        "create",
        (v) => SharedMemory.open("private", { create: any(v), size: 64 }),
      ],
      ["SemaphoreSet.open", "create", (v) => SemaphoreSet.open("private", { create: any(v) })],
      ["Semaphore.open", "create", (v) => Semaphore.open("private", { create: any(v) })],
      ["Semaphore.tryAcquire", "undo", (v) => sem.tryAcquire({ undo: any(v) })],
      ["RecordLocks.open", "create", (v) => RecordLocks.open(lockPath, { create: any(v) })],
      ["RecordLocks.tryLock", "shared", (v) => locks.tryLock({ shared: any(v) })],
      ["RecordLocks.lock", "shared", (v) => locks.lock({ shared: any(v), timeout: 0 })],
      ["RecordLocks.lockSync", "shared", (v) => locks.lockSync({ shared: any(v), timeout: 0 })],
      ["RecordLocks.holder", "shared", (v) => locks.holder({ shared: any(v) })],
    ];
    const wrong: string[] = [];
    for (const [call, name, run] of rows) {
      for (const [value, shown] of [["yes", `"yes" (a string)`], [1, "1"], [null, "null"]]) {
        const e = await errorOf(() => run(value)).catch((e) => e as Error);
        const message = new RegExp(`^${name} must be a boolean, got ${escaped(shown as string)}$`);
        if (!(e instanceof TypeError) || !message.test(e.message)) {
          wrong.push(`${call}(${name} = ${shown}): ${e}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });

  await t.step("options: a TypeError for anything but an object or undefined", async () => {
    const ops = [{ index: 0, delta: 0 }];
    const rows: [string, (o: unknown) => unknown][] = [
      ["MessageQueue.open", (o) => MessageQueue.open("private", any(o))],
      ["MessageQueue.send", (o) => q.send("x", any(o))],
      ["MessageQueue.sendSync", (o) => q.sendSync("x", any(o))],
      ["MessageQueue.trySend", (o) => q.trySend("x", any(o))],
      ["MessageQueue.receive", (o) => q.receive(any(o))],
      ["MessageQueue.receiveSync", (o) => q.receiveSync(any(o))],
      ["MessageQueue.tryReceive", (o) => q.tryReceive(any(o))],
      ["MessageQueue.receiveInto", (o) => q.receiveInto(buf, any(o))],
      ["MessageQueue.receiveIntoSync", (o) => q.receiveIntoSync(buf, any(o))],
      ["MessageQueue.tryReceiveInto", (o) => q.tryReceiveInto(buf, any(o))],
      ["MessageQueue.messages", (o) => q.messages(any(o)).next()],
      ["PosixMessageQueue.open", (o) => PosixMessageQueue.open(s.posixName(), any(o))],
      ["PosixMessageQueue.send", (o) => pq.send("x", any(o))],
      ["PosixMessageQueue.sendSync", (o) => pq.sendSync("x", any(o))],
      ["PosixMessageQueue.trySend", (o) => pq.trySend("x", any(o))],
      ["PosixMessageQueue.receive", (o) => pq.receive(any(o))],
      ["PosixMessageQueue.receiveSync", (o) => pq.receiveSync(any(o))],
      ["PosixMessageQueue.receiveInto", (o) => pq.receiveInto(buf, any(o))],
      ["PosixMessageQueue.receiveIntoSync", (o) => pq.receiveIntoSync(buf, any(o))],
      ["PosixMessageQueue.messages", (o) => pq.messages(any(o)).next()],
      ["SharedMemory.open", (o) => SharedMemory.open("private", any(o))],
      ["SharedMemory.fromId", (o) => SharedMemory.fromId(segment.id, any(o))],
      ["PosixSharedMemory.open", (o) => PosixSharedMemory.open(s.shmName(), any(o))],
      ["PosixSharedMemory.anonymous", (o) => PosixSharedMemory.anonymous(64, any(o))],
      ["PosixSharedMemory.fromFd", (o) => PosixSharedMemory.fromFd(shm.fd, any(o))],
      ["wait", (o) => wait(words, 0, 1, any(o))],
      ["waitSync", (o) => waitSync(words, 0, 1, any(o))],
      ["SemaphoreSet.open", (o) => SemaphoreSet.open("private", any(o))],
      ["SemaphoreSet.op", (o) => set.op(ops, any(o))],
      ["SemaphoreSet.opSync", (o) => set.opSync(ops, any(o))],
      ["Semaphore.open", (o) => Semaphore.open("private", any(o))],
      ["Semaphore.acquire", (o) => sem.acquire(any(o))],
      ["Semaphore.acquireSync", (o) => sem.acquireSync(any(o))],
      ["Semaphore.tryAcquire", (o) => sem.tryAcquire(any(o))],
      ["Semaphore.release", (o) => sem.release(any(o))],
      ["PosixSemaphore.open", (o) => PosixSemaphore.open(s.semName(), any(o))],
      ["PosixSemaphore.wait", (o) => psem.wait(any(o))],
      ["PosixSemaphore.waitSync", (o) => psem.waitSync(any(o))],
      ["Fifo.create", (o) => Fifo.create(`${dir}/other`, any(o))],
      ["Fifo.open", (o) => Fifo.open(fifo, "read", any(o))],
      ["Fifo.openSync", (o) => Fifo.openSync(fifo, "read", any(o))],
      ["RecordLocks.open", (o) => RecordLocks.open(lockPath, any(o))],
      ["RecordLocks.lock", (o) => locks.lock(any(o))],
      ["RecordLocks.lockSync", (o) => locks.lockSync(any(o))],
      ["RecordLocks.tryLock", (o) => locks.tryLock(any(o))],
      ["RecordLocks.holder", (o) => locks.holder(any(o))],
      ["FdReader.read", (o) => p.reader.read(buf, any(o))],
      ["FdReader.readSync", (o) => p.reader.readSync(buf, any(o))],
      ["FdWriter.write", (o) => p.writer.write("x", any(o))],
      ["FdWriter.writeSync", (o) => p.writer.writeSync("x", any(o))],
      ["Connection.read", (o) => a.read(buf, any(o))],
      ["Connection.readSync", (o) => a.readSync(buf, any(o))],
      ["Connection.write", (o) => a.write("x", any(o))],
      ["Connection.writeSync", (o) => a.writeSync("x", any(o))],
      ["Connection.send", (o) => c.send("x", any(o))],
      ["Connection.sendSync", (o) => c.sendSync("x", any(o))],
      ["Connection.receive", (o) => c.receive(any(o))],
      ["Connection.receiveSync", (o) => c.receiveSync(any(o))],
      ["Connection.receiveInto", (o) => c.receiveInto(buf, any(o))],
      ["Connection.receiveIntoSync", (o) => c.receiveIntoSync(buf, any(o))],
      ["Connection.sendFds", (o) => a.sendFds([p.reader], "x", any(o))],
      ["Connection.sendFdsSync", (o) => a.sendFdsSync([p.reader], "x", any(o))],
      ["Connection.receiveFds", (o) => b.receiveFds(any(o))],
      ["Connection.receiveFdsSync", (o) => b.receiveFdsSync(any(o))],
      ["Connection.tryReceiveFds", (o) => b.tryReceiveFds(any(o))],
      ["Listener.fromFd", (o) => Listener.fromFd(listener.fd, any(o))],
      ["Listener.accept", (o) => listener.accept(any(o))],
      ["Listener.acceptSync", (o) => listener.acceptSync(any(o))],
      ["datagram", (o) => datagram(any(o))],
      ["DatagramSocket.sendTo", (o) => socket.sendTo("x", socket.addr as never, any(o))],
      ["DatagramSocket.sendToSync", (o) => socket.sendToSync("x", socket.addr as never, any(o))],
      ["DatagramSocket.receiveFrom", (o) => socket.receiveFrom(any(o))],
      ["DatagramSocket.receiveFromSync", (o) => socket.receiveFromSync(any(o))],
      ["DatagramSocket.receiveFromInto", (o) => socket.receiveFromInto(buf, any(o))],
      ["DatagramSocket.receiveFromIntoSync", (o) => socket.receiveFromIntoSync(buf, any(o))],
      ["spawnProgram", (o) => spawnProgram("/bin/true", [], any(o))],
      ["spawn", (o) => spawn("data:text/javascript,", any(o))],
      ["sendSignal", (o) => sendSignal(Deno.pid, "SIGCHLD", any(o))],
    ];
    const wrong: string[] = [];
    for (const [call, run] of rows) {
      // null is no more "no options" than 5 is: only undefined is.
      for (const value of [5, "x", true, null, () => {}]) {
        const e = await errorOf(() => run(value)).catch((e) => e as Error);
        if (!(e instanceof TypeError) || !/\boptions must be an object\b/.test(e.message)) {
          wrong.push(`${call}(options = ${String(value)}): ${e}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });

  await t.step(
    "ChildProcess, SignalReader, ReceivedFds and RecordLock cannot be constructed by user code",
    async () => {
      const child = s.child(spawnProgram("/bin/sleep", ["60"]));
      const fd = p.reader.fd;
      const OpenChild = ChildProcess as unknown as Open<ChildProcess>;
      class Subclass extends OpenChild {
        constructor() {
          super(-1, fd);
        }
      }
      const calls: [string, () => unknown][] = [
        ["new ChildProcess(pid, fd)", () => new OpenChild(child.pid, fd)],
        ["new ChildProcess(-1, fd)", () => new OpenChild(-1, fd)],
        ["a subclass of ChildProcess", () => new Subclass()],
        [
          "new SignalReader(fd, [10])",
          () => new (SignalReader as unknown as Open<unknown>)(fd, [10]),
        ],
        [
          "new ReceivedFds([fd], data, false)",
          () => new (ReceivedFds as unknown as Open<unknown>)([fd], new Uint8Array(0), false),
        ],
        [
          "new RecordLock(range, unlock)",
          () =>
            new (RecordLock as unknown as Open<unknown>)(
              { start: 0, length: 1, shared: false },
              () => {},
            ),
        ],
      ];
      for (const [what, call] of calls) {
        assert.throws(
          call,
          (e: Error) => e instanceof TypeError && /cannot be constructed/.test(e.message),
          what,
        );
      }
      // Nothing was taken over: the pipe still works, and the child is still ours to reap.
      p.writer.writeSync("y");
      assert.equal(new TextDecoder().decode(buf.subarray(0, p.reader.tryRead(buf)!)), "y");
      child.kill();
      assert.equal((await within(child.status, "the child's status")).signal, "SIGTERM");
    },
  );
});

Deno.test("a buffer, data or view of the wrong type: the TypeError shows the value", () => {
  using p = pipe();
  const bad: [() => unknown, string][] = [
    [() => p.writer.writeSync(42 as never), "got 42"],
    [() => p.reader.readSync("x" as never), `got "x" (a string)`],
    [() => waitSync(7 as never, 0, 0), "got 7"],
    [() => PosixSemaphore.at(null as never), "got null"],
  ];
  for (const [call, shown] of bad) {
    assert.throws(call, (e: Error) => e instanceof TypeError && e.message.endsWith(shown));
  }
});

Deno.test("a sync form given a signal: a TypeError before any call, not an abort ignored", async () => {
  await using s = new TestScope();
  const p = s.pipe();
  const q = s.messageQueue("private");
  const signal = AbortSignal.abort();
  const o = { signal, timeout: 10 } as never;
  using listener = listen({ hostname: "127.0.0.1", port: 0 });
  using shm = PosixSharedMemory.anonymous(64);
  const locks = s.handle(
    RecordLocks.open(`${await s.tempDir("libc-ipc-conv-")}/lock`, { create: true }),
  );
  const calls: [string, () => unknown][] = [
    ["readSync", () => p.reader.readSync(new Uint8Array(1), o)],
    ["writeSync", () => p.writer.writeSync("x", o)],
    ["receiveSync", () => q.receiveSync(o)],
    ["acceptSync", () => listener.acceptSync(o)],
    ["waitSync", () => waitSync(new Int32Array(shm.bytes.buffer, 0, 1), 0, 0, o)],
    ["connectSync", () => connectSync({ hostname: "127.0.0.1", port: 1, ...(o as object) })],
    ["lockSync", () => locks.lockSync(o)],
  ];
  for (const [name, call] of calls) {
    assert.throws(
      call,
      (e: Error) => e instanceof TypeError && /takes no signal/.test(e.message),
      name,
    );
  }
  assert.equal(bytesQueued(p.reader.fd), 0, "nothing written");
  assert.equal(locks.held.length, 0, "nothing locked");
});

Deno.test("next() calls made before the last settles take one after another, in order", async () => {
  // The iteration itself, over takes this test settles: when each starts is what is checked.
  const takes: PromiseWithResolvers<string | null>[] = [];
  const it = untilClosed({ closed: false }, () => {
    takes.push(Promise.withResolvers<string | null>());
    return takes.at(-1)!.promise;
  });
  const results = [it.next(), it.next(), it.next()];
  assert.equal(takes.length, 1, "the second take waits for the first");
  takes[0].resolve("a");
  assert.deepEqual(await results[0], { value: "a", done: false });
  await until(() => takes.length === 2, "the second take");
  takes[1].reject(new Error("refused"));
  await assert.rejects(results[1], /refused/);
  // A take that failed ended the iteration: the next one takes nothing.
  assert.deepEqual(await results[2], { value: undefined, done: true });
  assert.equal(takes.length, 2);
  // With none pending, a next() takes at once: before it returns, not a turn of the loop later.
  let taken = 0;
  const again = untilClosed({ closed: false }, () => Promise.resolve(`b${++taken}`));
  for (const expected of ["b1", "b2"]) {
    const result = again.next();
    assert.equal(taken, Number(expected[1]), "taken as next() was called");
    assert.deepEqual(await result, { value: expected, done: false });
  }
});

Deno.test("an iteration left from outside ends at once, and its wait takes nothing", async (t) => {
  await using s = new TestScope();
  const name = `libc-ipc-test-${Deno.pid}-iterate-left`;
  const listener = s.handle(listen({ abstract: name }));
  const pair = s.handle(socketpair());
  const datagrams = s.handle(socketpair("datagram"));
  /** Each iterable: how to see its wait in the kernel, and to give it an item later. */
  const iterables = [
    ...receivers(s).map((r) => ({ ...r, closes: r.name === "FdReader" })),
    {
      name: "Listener",
      handle: listener,
      waiting: () => waitedOn(listener.fd, EPOLLIN),
      feed: () => s.handle(connectSync({ abstract: name })),
      tryReceive: () => s.handle(listener.tryAccept()),
      closes: true,
    },
    {
      name: "Connection",
      handle: pair[0],
      waiting: () => waitedOn(pair[0].fd, EPOLLIN),
      feed: () => pair[1].writeSync("x"),
      tryReceive: () => pair[0].tryRead(new Uint8Array(8)),
      closes: false,
    },
    {
      name: "DatagramSocket",
      handle: datagrams[0],
      waiting: () => waitedOn(datagrams[0].fd, EPOLLIN),
      feed: () => datagrams[1].sendSync("x"),
      tryReceive: () => datagrams[0].tryReceive(),
      closes: false,
    },
  ];
  for (const r of iterables) {
    await t.step(`${r.name}: return() while next() waits`, async () => {
      const it = (r.handle as unknown as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      const next = it.next();
      await r.waiting();
      // An async generator's return() waited for an item, then dropped it.
      assert.deepEqual(await within(it.return!(), `${r.name} return()`), {
        value: undefined,
        done: true,
      });
      assert.deepEqual(await within(next, `${r.name} next()`), { value: undefined, done: true });
      assert.deepEqual(await it.next(), { value: undefined, done: true });
      assert.equal(r.handle.closed, r.closes, `${r.name} closed on leaving`);
      if (!r.closes) {
        r.feed();
        r.tryReceive(); // the item is there for the next taker
      }
    });
  }
  await t.step("return() before any next() closes what leaving closes", async () => {
    const { reader } = s.pipe();
    const other = s.handle(listen({ abstract: `${name}-2` }));
    for (const handle of [reader, other]) {
      const it = handle[Symbol.asyncIterator]();
      await it.return!();
      assert.equal(handle.closed, true);
    }
  });
});
