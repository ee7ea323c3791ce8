/**
 * One convention for every handle: `x()` / `xSync()` / `tryX()`, the same
 * option names, `timeout: Infinity` and timeouts of any size, TimedOut and
 * closed-handle errors that carry their code and name their object, reads that
 * refuse detached buffers. Checked the same way on every kind of handle.
 */
import assert from "node:assert/strict";
import {
  connect,
  connectSync,
  Fifo,
  listen,
  MessageQueue,
  PosixMessageQueue,
  spawnProgram,
} from "../mod.ts";
import {
  EPOLLIN,
  ownWaitPending,
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
  const all = receivers(s);

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
      assert.equal(typeof r.handle[Symbol.asyncIterator], "function", r.name);
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

Deno.test("a buffer detached while a receive waits: TypeError, and no message lost", async (t) => {
  await using s = new TestScope();
  await t.step("System V: the message the parked call took is on the error", async () => {
    const q = s.messageQueue("private");
    const buf = new Uint8Array(new ArrayBuffer(64));
    const pending = q.receiveInto(buf);
    await ownWaitPending({ syscall: "msgrcv", arg0: q.id });
    buf.buffer.transfer();
    q.sendSync("precious");
    await assert.rejects(pending, (e) => {
      assert.ok(e instanceof TypeError);
      const { received } = e as TypeError & { received: { type: number; data: Uint8Array } };
      assert.deepEqual([received.type, new TextDecoder().decode(received.data)], [1, "precious"]);
      return true;
    });
  });
  await t.step("POSIX: the message stays in the queue", async () => {
    const q = s.handle(
      PosixMessageQueue.open(s.posixName(), { create: true, exclusive: true, messageSize: 64 }),
    );
    const buf = new Uint8Array(new ArrayBuffer(64));
    const pending = q.receiveInto(buf);
    await waitedOn(q.fd, EPOLLIN);
    buf.buffer.transfer();
    q.sendSync("precious");
    await assert.rejects(pending, TypeError);
    assert.equal(new TextDecoder().decode(q.tryReceive().data), "precious");
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
  const child = new Deno.Command("setpriv", {
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
    stdout: "piped",
    stderr: "piped",
  });
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `child failed: ${stderr}`);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
    opened: "ok",
    receive: "WouldBlock",
    send: "PermissionDenied",
  }, `stderr of the child: ${stderr}`);
});

Deno.test("a wrong type is a TypeError that shows it; a number out of range, a RangeError", async (t) => {
  await using s = new TestScope();
  const p = s.pipe();
  const dir = await s.tempDir("libc-ipc-conv-");
  const path = `${dir}/never.sock`;
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
      ],
      outOfRange: [-1, NaN, -Infinity],
    },
    {
      name: "mode",
      calls: [(mode) => listen({ path, mode: any(mode) })],
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
        [[80], TypeError, "[object Array]"],
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
  // Refused before any system call: no socket file was made.
  await assert.rejects(() => Deno.lstat(path), Deno.errors.NotFound);
});
