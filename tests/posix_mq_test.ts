import assert from "node:assert/strict";
import { assertKeptIntact } from "./_kept.ts";
import { type FdReader, type PosixMessage, PosixMessageQueue } from "../mod.ts";
import {
  CAP_SYS_RESOURCE,
  devMqueue,
  dupInheritable,
  EMULATED,
  EPOLLIN,
  EPOLLOUT,
  epollWatches,
  fdMode,
  type Fixture,
  HANG_MS,
  hasCapability,
  isCloexec,
  isNonBlocking,
  isOpen,
  MOD_URL,
  openFds,
  posixQueueExists,
  posixQueueMessages,
  procSysInt,
  readAll,
  readProcFile,
  runCollect,
  setNonBlocking,
  systemError,
  TestScope,
  until,
  waitedOn,
  within,
} from "./_kernel.ts";
import { spawn, spawnProgram } from "../mod.ts";
import { BAD, checksum, HEADER, STOP } from "./fixtures/posix_mq_worker.ts";

const decoder = new TextDecoder();
const text = (m: PosixMessage) => decoder.decode(m.data);

// Every queue name a test uses comes from its TestScope (`posixName()`):
// unlinked at its end even when it fails, with the tests' own mq_unlink, then
// checked gone (asking the kernel), with no descriptor of this process left
// on it.

const procSys = (name: string) => procSysInt(`fs/mqueue/${name}`);

/** The permission bits of an open queue: from /dev/mqueue when mounted, else fstat(2) of its descriptor. */
function queueMode(q: PosixMessageQueue): number {
  if (devMqueue() !== null) return Deno.statSync(`/dev/mqueue${q.name}`).mode! & 0o7777;
  return fdMode(q.fd) & 0o7777;
}

/** A small queue for one test, closed at its end. */
function small(
  scope: TestScope,
  options: Parameters<typeof PosixMessageQueue.open>[1] = {},
): PosixMessageQueue {
  return scope.handle(
    PosixMessageQueue.open(scope.posixName(), {
      create: true,
      exclusive: true,
      maxMessages: 4,
      messageSize: 64,
      ...options,
    }),
  );
}

Deno.test("PosixMessageQueue sends and receives: sync, async and try forms", async (t) => {
  await using scope = new TestScope();
  await t.step("sendSync + receiveSync", () => {
    const q = small(scope);
    q.sendSync(new Uint8Array([1, 2, 3]), { priority: 7 });
    const m = q.receiveSync();
    assert.deepEqual([...m.data], [1, 2, 3]);
    assert.equal(m.priority, 7);
  });
  await t.step("send + receive, UTF-8 strings", async () => {
    const q = small(scope);
    await q.send("héllo");
    const m = await q.receive();
    assert.equal(text(m), "héllo");
    assert.equal(m.data.byteLength, 6);
    assert.equal(m.priority, 0);
  });
  await t.step("trySend/tryReceive never wait", () => {
    const q = small(scope, { maxMessages: 2 });
    assert.throws(
      () => q.tryReceive(),
      systemError(Deno.errors.WouldBlock, "EAGAIN", "mq_receive", { path: q.name }),
    );
    q.trySend("a");
    q.trySend("b");
    assert.throws(
      () => q.trySend("c"),
      systemError(Deno.errors.WouldBlock, "EAGAIN", "mq_send", { path: q.name }),
    );
    assert.equal(text(q.tryReceive()), "a");
    assert.equal(text(q.tryReceive()), "b");
  });
  await t.step("empty and full-size messages keep their length", () => {
    const q = small(scope);
    q.trySend(new Uint8Array(0));
    const full = new Uint8Array(64).map((_, i) => i);
    q.trySend(full);
    assert.equal(q.tryReceive().data.byteLength, 0);
    assert.deepEqual(q.tryReceive().data, full);
  });
  await t.step("the received bytes stay the caller's, whatever is received later", async () => {
    const q = small(scope);
    const kept: Uint8Array<ArrayBuffer>[] = [];
    // Enough for several of the slabs messages land in (see src/_landing.ts).
    for (let i = 0; i < 3000; i++) {
      const data = new Uint8Array(i % 64).fill(i & 255);
      if (i % 3 === 0) q.sendSync(data);
      else await q.send(data);
      kept.push((i % 2 === 0 ? q.tryReceive() : await q.receive()).data);
    }
    assertKeptIntact(kept, (i) => i % 64);
    q.trySend("after");
    assert.equal(text(q.receiveSync()), "after");
  });
  await t.step({
    name: "a queue of messages over 16 KiB, received in turn with a small one",
    // Above msgsize_max (8192 by default) only with CAP_SYS_RESOURCE.
    ignore: !hasCapability(CAP_SYS_RESOURCE),
    fn: async () => {
      const big = small(scope, { maxMessages: 2, messageSize: 40_000 });
      const little = small(scope);
      const kept: Uint8Array<ArrayBuffer>[] = [];
      const sizeOf = (i: number) => i % 2 === 0 ? 20_000 + i : i % 64;
      for (let i = 0; i < 200; i++) {
        const q = i % 2 === 0 ? big : little;
        q.sendSync(new Uint8Array(sizeOf(i)).fill(i & 255));
        kept.push(i % 4 < 2 ? q.receiveSync().data : (await q.receive()).data);
      }
      assertKeptIntact(kept, sizeOf);
    },
  });
  await t.step("a receive waits for a later send, a send for room", async () => {
    const q = small(scope, { maxMessages: 1 });
    const pending = q.receive({ timeout: 10_000 });
    // The queue's fd is waited on in epoll_wait for data: then the message comes.
    await waitedOn(q.fd, EPOLLIN);
    q.trySend("late");
    assert.equal(text(await pending), "late");
    q.trySend("fills it");
    const sending = q.send("waits", { timeout: 10_000 });
    await waitedOn(q.fd, EPOLLOUT); // for room
    assert.equal(posixQueueMessages(q.fd), 1, "the send waits: nothing more was sent");
    q.tryReceive();
    await sending;
    assert.equal(text(q.tryReceive()), "waits");
  });
  await t.step(
    "pending calls keep their own message and buffer while later calls go on",
    async () => {
      // The first try of every form shares the handle's message and target: a call that has to
      // wait must go on with its own, whatever the calls after it share.
      const q = small(scope, { maxMessages: 1 });
      const into = new Uint8Array(q.messageSize);
      const receiving = q.receiveInto(into);
      assert.throws(() => q.tryReceive(), Deno.errors.WouldBlock);
      q.sendSync("one", { priority: 1 });
      assert.deepEqual(await receiving, { size: 3, priority: 1 });
      assert.equal(decoder.decode(into.subarray(0, 3)), "one");
      q.sendSync("full");
      const sending = q.send("two", { priority: 2 });
      assert.throws(() => q.trySend("x", { priority: 3 }), Deno.errors.WouldBlock);
      assert.equal(text(q.tryReceive()), "full");
      await sending;
      const last = q.tryReceive();
      assert.deepEqual([text(last), last.priority], ["two", 2]);
    },
  );
  await t.step("two handles of one queue, one to send and one to receive", async () => {
    const q = small(scope);
    using tx = PosixMessageQueue.open(q.name, { access: "write" });
    using rx = PosixMessageQueue.open(q.name, { access: "read" });
    await tx.send("across handles");
    assert.equal(text(await rx.receive()), "across handles");
    assert.throws(() => rx.trySend("x"), /opened with access "read": it cannot send/);
    assert.throws(() => tx.tryReceive(), /opened with access "write": it cannot receive/);
    await assert.rejects(tx.receive(), TypeError);
    assert.throws(() => tx.messages(), TypeError);
  });
});

Deno.test("PosixMessageQueue delivers the highest priority first, FIFO within a priority", async () => {
  await using scope = new TestScope();
  const q = small(scope, { maxMessages: 8 });
  const sent: Array<[string, number]> = [
    ["a0", 0],
    ["b5", 5],
    ["c32767", 32767],
    ["d5", 5],
    ["e1", 1],
    ["f0", 0],
    ["g32767", 32767],
    ["h5", 5],
  ];
  for (const [s, priority] of sent) q.sendSync(s, { priority });
  const got: Array<[string, number]> = [];
  for (let i = 0; i < sent.length; i++) {
    const m = i % 2 === 0 ? q.receiveSync() : await q.receive();
    got.push([text(m), m.priority]);
  }
  assert.deepEqual(got, [
    ["c32767", 32767],
    ["g32767", 32767],
    ["b5", 5],
    ["d5", 5],
    ["h5", 5],
    ["e1", 1],
    ["a0", 0],
    ["f0", 0],
  ]);
});

Deno.test("PosixMessageQueue.attributes() reports capacity, message size and count", async () => {
  await using scope = new TestScope();
  const q = small(scope, { maxMessages: 3, messageSize: 100 });
  assert.deepEqual(q.attributes(), {
    maxMessages: 3,
    messageSize: 100,
    currentMessages: 0,
    nonBlocking: true,
  });
  assert.equal(q.messageSize, 100);
  q.trySend("x");
  q.trySend("y");
  assert.equal(q.attributes().currentMessages, 2);
  q.tryReceive();
  assert.equal(q.attributes().currentMessages, 1);

  // The kernel's defaults when no size is given.
  const d = scope.handle(PosixMessageQueue.open(scope.posixName(), { create: true }));
  const attr = d.attributes();
  assert.equal(attr.maxMessages, Math.min(procSys("msg_default"), procSys("msg_max")));
  assert.equal(attr.messageSize, Math.min(procSys("msgsize_default"), procSys("msgsize_max")));
  // Half given: the other half is the kernel's default.
  const h = scope.handle(
    PosixMessageQueue.open(scope.posixName(), { create: true, messageSize: 32 }),
  );
  assert.equal(h.attributes().maxMessages, attr.maxMessages);
  assert.equal(h.attributes().messageSize, 32);
});

Deno.test("PosixMessageQueue.open() modes, exclusive creation, missing queues, unlink", async (t) => {
  await using scope = new TestScope();
  await t.step("default mode 0600", () => {
    const q = small(scope);
    assert.equal(queueMode(q), 0o600);
  });
  await t.step("an explicit mode is applied exactly, whatever the umask", () => {
    const umask = Deno.umask();
    const q = small(scope, { mode: 0o666 });
    assert.equal(queueMode(q), 0o666, `umask was ${umask.toString(8)}`);
    const r = small(scope, { mode: 0o440 });
    assert.equal(queueMode(r), 0o440);
  });
  await t.step("exclusive creation of an existing queue is AlreadyExists", () => {
    const q = small(scope);
    assert.throws(
      () => PosixMessageQueue.open(q.name, { create: true, exclusive: true }),
      (e: unknown) => {
        systemError(Deno.errors.AlreadyExists, "EEXIST", "mq_open")(e);
        assert.equal((e as { path?: string }).path, q.name);
        assert.match((e as Error).message, new RegExp(q.name));
        return true;
      },
    );
  });
  await t.step("create without exclusive opens the existing queue as it is", () => {
    const q = small(scope, { mode: 0o640, maxMessages: 2, messageSize: 16 });
    q.trySend("kept");
    using again = PosixMessageQueue.open(q.name, {
      create: true,
      mode: 0o666,
      maxMessages: 3,
      messageSize: 32,
    });
    assert.equal(queueMode(q), 0o640, "the mode of an existing queue is not changed");
    assert.deepEqual(again.attributes(), {
      maxMessages: 2,
      messageSize: 16,
      currentMessages: 1,
      nonBlocking: true,
    });
    assert.equal(text(again.tryReceive()), "kept");
  });
  await t.step("opening a missing queue is NotFound naming it", () => {
    const name = scope.posixName();
    assert.throws(() => PosixMessageQueue.open(name), (e: unknown) => {
      systemError(Deno.errors.NotFound, "ENOENT", "mq_open")(e);
      assert.equal((e as { path?: string }).path, name);
      return true;
    });
    assert.equal(posixQueueExists(name), false);
  });
  await t.step("unlink removes the name; open handles keep working", () => {
    const q = small(scope);
    PosixMessageQueue.unlink(q.name);
    assert.equal(posixQueueExists(q.name), false);
    assert.throws(() => PosixMessageQueue.open(q.name), Deno.errors.NotFound);
    q.trySend("still here");
    assert.equal(text(q.tryReceive()), "still here");
    assert.throws(
      () => PosixMessageQueue.unlink(q.name),
      systemError(Deno.errors.NotFound, "ENOENT", "mq_unlink", { path: q.name }),
    );
  });
  await t.step("the descriptor is close-on-exec and non-blocking", () => {
    const q = small(scope);
    assert.equal(q.attributes().nonBlocking, true);
    const flags = readProcFile(`/proc/self/fdinfo/${q.fd}`).match(/^flags:\s*(\d+)/m)![1];
    assert.ok((parseInt(flags, 8) & 0o2000000) !== 0, `flags ${flags}`);
  });
});

Deno.test("PosixMessageQueue refuses bad arguments before any system call", async (t) => {
  await using scope = new TestScope();
  const fresh = () => scope.posixName();
  await t.step("names", () => {
    const cases: Array<[unknown, new (...a: never[]) => Error, RegExp]> = [
      [42, TypeError, /must be a string/],
      ["", TypeError, /must start with "\/"/],
      ["no-slash", TypeError, /must start with "\/"/],
      ["/a/b", TypeError, /no "\/" after the first character/],
      ["//", TypeError, /no "\/" after the first character/],
      ["/a\0b", TypeError, /NUL/],
      ["/.", TypeError, /must not be "\/\." or "\/\.\."/],
      ["/..", TypeError, /must not be "\/\." or "\/\.\."/],
      ["/", RangeError, /2\.\.256 bytes .*got 1/],
      [`/${"x".repeat(256)}`, RangeError, /2\.\.256 bytes .*got 257/],
      [`/${"é".repeat(128)}`, RangeError, /got 257/],
    ];
    for (const [name, Class, message] of cases) {
      assert.throws(
        () => PosixMessageQueue.open(name as string, { create: true }),
        (e: unknown) => {
          assert.ok(e instanceof Class, `${JSON.stringify(name)}: ${e}`);
          assert.match((e as Error).message, message);
          return true;
        },
      );
      assert.throws(() => PosixMessageQueue.unlink(name as string), Class);
    }
    // The longest name is fine.
    const base = scope.posixName();
    const longest = scope.posixName(`${base}${"y".repeat(256 - base.length)}`);
    assert.equal(new TextEncoder().encode(longest).length, 256);
    const q = PosixMessageQueue.open(longest, { create: true, exclusive: true, messageSize: 8 });
    q.close();
    PosixMessageQueue.unlink(longest);
  });
  await t.step("options", () => {
    const cases: Array<[Record<string, unknown>, new (...a: never[]) => Error, RegExp]> = [
      [{ access: "rw" }, TypeError, /access must be "read", "write" or "readwrite"/],
      [{ create: "yes" }, TypeError, /create must be a boolean/],
      [{ exclusive: true }, TypeError, /exclusive needs create: true/],
      [
        { create: true, mode: 0o1777 },
        RangeError,
        /mode must be an integer 0\.\.0o777 \(it is 0o1777\), got 1023/,
      ],
      [{ create: true, mode: -1 }, RangeError, /mode/],
      [{ create: true, maxMessages: 0 }, RangeError, /maxMessages must be an integer 1\.\.65536/],
      [{ create: true, maxMessages: 1.5 }, RangeError, /maxMessages/],
      [
        { create: true, maxMessages: "4" },
        TypeError,
        /maxMessages must be .*, got "4" \(a string\)/,
      ],
      [{ create: true, maxMessages: 65537 }, RangeError, /65536 \(the kernel's ceiling\)/],
      [
        { create: true, messageSize: 0 },
        RangeError,
        /messageSize must be an integer 1\.\.16777216/,
      ],
      [{ create: true, messageSize: 16 * 1024 * 1024 + 1 }, RangeError, /messageSize/],
    ];
    for (const [options, Class, message] of cases) {
      const name = fresh();
      assert.throws(() => PosixMessageQueue.open(name, options), (e: unknown) => {
        assert.ok(e instanceof Class, `${JSON.stringify(options)}: ${e}`);
        assert.match((e as Error).message, message);
        return true;
      });
      assert.equal(posixQueueExists(name), false, `${JSON.stringify(options)} created a queue`);
    }
  });
  await t.step("sizes above /proc/sys/fs/mqueue limits, unless CAP_SYS_RESOURCE", () => {
    const msgMax = procSys("msg_max");
    const sizeMax = procSys("msgsize_max");
    for (
      const [options, limit] of [
        [{ maxMessages: msgMax + 1, messageSize: 8 }, `msg_max \\(${msgMax}\\)`],
        [{ maxMessages: 1, messageSize: sizeMax + 1 }, `msgsize_max \\(${sizeMax}\\)`],
      ] as const
    ) {
      const name = fresh();
      const open = () => PosixMessageQueue.open(name, { create: true, ...options });
      if (hasCapability(CAP_SYS_RESOURCE)) {
        // The capability lifts these limits: the kernel allows the queue.
        open().close();
        assert.equal(posixQueueExists(name), true);
      } else {
        assert.throws(open, (e: unknown) => {
          assert.ok(e instanceof RangeError, String(e));
          assert.match(e.message, new RegExp(`/proc/sys/fs/mqueue/${limit}`));
          assert.match(e.message, /CAP_SYS_RESOURCE/);
          return true;
        });
        assert.equal(posixQueueExists(name), false);
      }
    }
  });
  await t.step("priorities and message sizes on send", async () => {
    const q = small(scope, { messageSize: 16 });
    for (const priority of [-1, 32768, 1.5, NaN]) {
      assert.throws(() => q.trySend("x", { priority }), /priority must be an integer 0\.\.32767/);
      assert.throws(() => q.sendSync("x", { priority }), RangeError);
      await assert.rejects(q.send("x", { priority }), RangeError);
    }
    assert.throws(() => q.trySend("x", { priority: "1" as unknown as number }), TypeError);
    const big = new Uint8Array(17);
    const tooBig = (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /message is 17 bytes; the queue's limit \(messageSize\) is 16/);
      return true;
    };
    assert.throws(() => q.trySend(big), tooBig);
    assert.throws(() => q.sendSync(big), tooBig);
    await assert.rejects(q.send(big), tooBig);
    assert.throws(() => q.trySend("seventeen bytes!!"), tooBig);
    assert.throws(() => q.trySend(new Uint16Array(2) as unknown as Uint8Array), TypeError);
    const detached = new Uint8Array(4);
    detached.buffer.transfer();
    assert.throws(() => q.trySend(detached), /detached/);
    assert.throws(() => q.sendSync("x", { timeout: -1 }), RangeError);
    await assert.rejects(q.receive({ timeout: -1 }), RangeError);
    await assert.rejects(
      q.receive({ signal: "no" as unknown as AbortSignal }),
      /signal must be an AbortSignal/,
    );
    assert.equal(q.attributes().currentMessages, 0, "nothing was sent");
  });
});

Deno.test("PosixMessageQueue waits end with TimedOut, the abort reason, or BadResource on close", async (t) => {
  await using scope = new TestScope();
  await t.step("timeouts", async () => {
    const q = small(scope, { maxMessages: 1 });
    const timedOut = (syscall: string, ms: number) =>
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", syscall, `'${q.name}' (after ${ms} ms)`);
    await assert.rejects(q.receive({ timeout: 30 }), timedOut("mq_receive", 30));
    assert.deepEqual(epollWatches(q.fd), [], "the timed-out wait left its fd in epoll");
    assert.throws(() => q.receiveSync({ timeout: 30 }), timedOut("mq_receive", 30));
    q.trySend("full");
    await assert.rejects(q.send("x", { timeout: 30 }), timedOut("mq_send", 30));
    assert.throws(() => q.sendSync("x", { timeout: 0 }), timedOut("mq_send", 0));
    assert.equal(posixQueueMessages(q.fd), 1);
  });
  await t.step("abort rejects with the signal's reason", async () => {
    const q = small(scope, { maxMessages: 1 });
    const reason = new Error("stop waiting");
    const ac = new AbortController();
    const pending = q.receive({ signal: ac.signal });
    pending.catch(() => {});
    await waitedOn(q.fd, EPOLLIN); // waiting in the kernel
    ac.abort(reason);
    await assert.rejects(pending, (e: unknown) => e === reason);
    assert.deepEqual(epollWatches(q.fd), [], "the aborted wait left its fd in epoll");
    // Already aborted: rejected at once, even with a message waiting.
    q.trySend("waiting");
    await assert.rejects(q.receive({ signal: ac.signal }), (e: unknown) => e === reason);
    const ac2 = new AbortController();
    const sending = q.send("no room", { signal: ac2.signal });
    ac2.abort();
    await assert.rejects(sending, (e: unknown) => e instanceof DOMException);
    assert.equal(text(q.tryReceive()), "waiting");
  });
  await t.step(
    "close() while a receive and a send wait: both reject with BadResource",
    async () => {
      const r = small(scope);
      const s = small(scope, { maxMessages: 1 });
      s.trySend("full");
      const receiving = r.receive();
      const sending = s.send("no room");
      receiving.catch(() => {});
      sending.catch(() => {});
      await waitedOn(r.fd, EPOLLIN);
      await waitedOn(s.fd, EPOLLOUT);
      const [rName, sName] = [r.name, s.name];
      r.close();
      s.close();
      await assert.rejects(
        receiving,
        systemError(Deno.errors.BadResource, "EBADF", "mq_receive", { path: rName }),
      );
      await assert.rejects(
        sending,
        systemError(Deno.errors.BadResource, "EBADF", "mq_send", { path: sName }),
      );
    },
  );
  await t.step("use after close is BadResource; close twice does nothing", async () => {
    const q = small(scope);
    q.close();
    q.close();
    assert.equal(q.closed, true);
    const closed = (e: unknown) =>
      e instanceof Deno.errors.BadResource && /message queue '.*' is closed/.test(e.message);
    assert.throws(() => q.fd, closed);
    assert.throws(() => q.trySend("x"), closed);
    assert.throws(() => q.sendSync("x"), closed);
    await assert.rejects(q.send("x"), closed);
    assert.throws(() => q.tryReceive(), closed);
    assert.throws(() => q.receiveSync(), closed);
    await assert.rejects(q.receive(), closed);
    assert.throws(() => q.attributes(), closed);
    assert.equal(typeof q.name, "string");
  });
  await t.step("using closes the handle", () => {
    let fd: number;
    const name = scope.posixName();
    {
      using q = PosixMessageQueue.open(name, { create: true, messageSize: 8 });
      fd = q.fd;
      assert.ok(openFds().has(fd));
    }
    assert.ok(openFds().get(fd) !== name, "descriptor closed");
  });
});

Deno.test("PosixMessageQueue async iteration ends when the loop breaks and when the handle closes", async (t) => {
  await using scope = new TestScope();
  await t.step("for await ... break leaves the rest in the queue", async () => {
    const q = small(scope);
    for (const s of ["a", "b", "c"]) q.trySend(s);
    const got: string[] = [];
    for await (const m of q) {
      got.push(text(m));
      if (got.length === 2) break;
    }
    assert.deepEqual(got, ["a", "b"]);
    assert.equal(q.closed, false);
    assert.equal(text(q.tryReceive()), "c");
  });
  await t.step("closing the handle while the loop waits ends it cleanly", async () => {
    const q = small(scope);
    const fd = q.fd;
    const got: string[] = [];
    const loop = (async () => {
      for await (const m of q) got.push(text(m));
    })();
    loop.catch(() => {});
    await waitedOn(fd, EPOLLIN);
    q.trySend("one");
    await until(() => got.length === 1, "the message taken");
    await waitedOn(fd, EPOLLIN); // waiting for the next one
    q.close();
    await within(loop, "the loop to end");
    assert.deepEqual(got, ["one"]);
  });
  await t.step("closing it inside the loop ends it too", async () => {
    const q = small(scope);
    q.trySend("x");
    q.trySend("y");
    let n = 0;
    for await (const _ of q) {
      n++;
      q.close();
    }
    assert.equal(n, 1);
  });
  await t.step("messages({ signal }) ends with the abort reason", async () => {
    const q = small(scope);
    const ac = new AbortController();
    const reason = new Error("enough");
    const loop = (async () => {
      for await (const _ of q.messages({ signal: ac.signal })) { /* none come */ }
    })();
    loop.catch(() => {});
    await waitedOn(q.fd, EPOLLIN);
    ac.abort(reason);
    await assert.rejects(loop, (e: unknown) => e === reason);
  });
});

Deno.test("PosixMessageQueue crosses processes: the child prints what the parent sent", async () => {
  await using scope = new TestScope();
  const q = small(scope);
  const out = scope.pipe();
  const child = scope.fixture("posix_mq_worker.ts", {
    args: ["hello", q.name],
    fds: { 1: out.writer },
  });
  out.writer.close();
  // The child may be waiting already, or not started yet: either way it gets it.
  await q.send("Hello from parent process");
  const printed = await child.check(() => readAll(out.reader));
  await child.exits(0);
  assert.equal(printed, "Child process received: Hello from parent process\n");
  assert.equal(posixQueueMessages(q.fd), 0);
});

// ------------------------------------------------------ nothing lost

const PRODUCERS = 4;
const CONSUMERS = 4;
/**
 * Under a user-mode emulator the workers, busy with JavaScript (random bytes,
 * a checksum over each message of up to 8 KiB), pass about a tenth of the
 * messages per second they do natively, and the eight of them share the CPUs
 * with the rest of the suite: 20000 messages each take minutes, past the hang
 * guards. There 1000 each: 4000 messages through a queue that holds 10.
 */
const PER_PRODUCER = EMULATED ? 1_000 : 20_000;
const TOTAL = PRODUCERS * PER_PRODUCER;
const RECORD = 8;

interface Received {
  /** How often each (producer, seq) was reported, at producer * PER_PRODUCER + seq. */
  seen: Uint8Array;
  /** Reports of corrupted messages. */
  corrupt: string[];
  /** Reports per consumer. */
  perConsumer: number[];
}

/** Reads a consumer's reports to end of file; calls `progress` with its count as they come. */
async function collect(
  reader: FdReader,
  consumer: number,
  into: Received,
  progress?: (count: number) => void,
): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  const view = new DataView(buf.buffer);
  let have = 0;
  for (;;) {
    const n = await reader.read(buf.subarray(have));
    if (n === null) break;
    have += n;
    const whole = have - (have % RECORD);
    for (let at = 0; at < whole; at += RECORD) {
      const id = view.getUint32(at, true);
      const seq = view.getUint32(at + 4, true);
      if (id >= PRODUCERS || seq >= PER_PRODUCER) {
        into.corrupt.push(`consumer ${consumer}: producer ${id & ~BAD} seq ${seq}`);
        continue;
      }
      into.seen[id * PER_PRODUCER + seq]++;
    }
    into.perConsumer[consumer] += whole / RECORD;
    buf.copyWithin(0, whole, have);
    have -= whole;
    progress?.(into.perConsumer[consumer]);
  }
  if (have !== 0) into.corrupt.push(`consumer ${consumer}: ${have} bytes of a torn record`);
}

/**
 * Runs 4 producers and 4 consumers over one queue; with `killAfter`, consumer
 * 0 is killed with SIGKILL once it has reported that many messages. Returns
 * what the consumers reported and how each ended.
 */
async function producersAndConsumers(
  scope: TestScope,
  killAfter?: number,
): Promise<{ got: Received; statuses: Array<{ code: number; signal: string | null }> }> {
  const q = scope.handle(
    PosixMessageQueue.open(scope.posixName(), {
      create: true,
      exclusive: true,
      maxMessages: Math.min(10, procSys("msg_max")),
      messageSize: Math.min(8192, procSys("msgsize_max")),
    }),
  );
  const got: Received = {
    seen: new Uint8Array(TOTAL),
    corrupt: [],
    perConsumer: new Array(CONSUMERS).fill(0),
  };
  const modes = ["sync", "async", "iter", "sync"];
  let victimKilled = false;
  const consumers: Fixture[] = [];
  const collecting: Promise<void>[] = [];
  for (let c = 0; c < CONSUMERS; c++) {
    const { reader, writer } = scope.pipe();
    const child = scope.fixture("posix_mq_worker.ts", {
      args: ["consumer", q.name, modes[c]],
      fds: { 3: writer },
    });
    writer.close();
    consumers.push(child);
    const progress = c === 0 && killAfter !== undefined
      ? (n: number) => {
        if (n >= killAfter && !victimKilled) {
          victimKilled = true;
          child.child.kill("SIGKILL");
        }
      }
      : undefined;
    const reports = collect(reader, c, got, progress);
    reports.catch(() => {}); // awaited below
    collecting.push(reports);
  }
  const producers = Array.from(
    { length: PRODUCERS },
    (_, p) =>
      scope.fixture("posix_mq_worker.ts", {
        args: ["producer", q.name, `${p}`, `${PER_PRODUCER}`, p % 2 === 0 ? "sync" : "async"],
      }),
  );
  // Any failure below shows the stderr of every child (the scope kills them).
  return await scope.check(async () => {
    for (const p of producers) {
      const s = await within(p.child.status, p.label, 120_000);
      assert.equal(s.code, 0, `${p.label} failed`);
    }
    // Everything sent; once the queue is empty every message is with a consumer.
    await until(() => posixQueueMessages(q.fd) === 0, "the queue to drain", 60_000);
    const stop = new Uint8Array(HEADER);
    new DataView(stop.buffer).setUint32(0, STOP, true);
    const living = killAfter === undefined ? CONSUMERS : CONSUMERS - 1;
    for (let i = 0; i < living; i++) await q.send(stop, { timeout: HANG_MS });
    await within(Promise.all(collecting), "consumer reports", 60_000);
    const statuses = [];
    for (const c of consumers) statuses.push(await within(c.child.status, c.label));
    assert.equal(posixQueueMessages(q.fd), 0, "every stop message was taken");
    return { got, statuses };
  });
}

function missingAndDuplicated(seen: Uint8Array): { missing: string[]; duplicated: string[] } {
  const missing: string[] = [];
  const duplicated: string[] = [];
  for (let i = 0; i < seen.length; i++) {
    const what = `producer ${Math.floor(i / PER_PRODUCER)} seq ${i % PER_PRODUCER}`;
    if (seen[i] === 0) missing.push(what);
    else if (seen[i] > 1) duplicated.push(`${what} ×${seen[i]}`);
  }
  return { missing, duplicated };
}

Deno.test("PosixMessageQueue nothing-lost check: a consumer flags a corrupted message", async () => {
  await using scope = new TestScope();
  const q = small(scope, { messageSize: 64 });
  const { reader, writer } = scope.pipe();
  const child = scope.fixture("posix_mq_worker.ts", {
    args: ["consumer", q.name, "sync"],
    fds: { 3: writer },
  });
  writer.close();
  const msg = new Uint8Array(40).fill(9);
  const dv = new DataView(msg.buffer);
  dv.setUint32(0, 2, true);
  dv.setUint32(4, 77, true);
  dv.setUint32(8, checksum(msg, HEADER, msg.length), true);
  await q.send(msg);
  msg[30] ^= 1; // one flipped bit
  dv.setUint32(4, 78, true);
  await q.send(msg);
  await q.send(new Uint8Array(HEADER).fill(0xff)); // stop
  const got: Received = { seen: new Uint8Array(TOTAL), corrupt: [], perConsumer: [0] };
  await child.check(() => collect(reader, 0, got));
  await child.exits(0);
  assert.equal(got.seen[2 * PER_PRODUCER + 77], 1);
  assert.deepEqual(got.corrupt, ["consumer 0: producer 2 seq 78"]);
});

Deno.test(`PosixMessageQueue loses nothing: ${PRODUCERS} producers × ${CONSUMERS} consumers, ${PER_PRODUCER} messages each`, async () => {
  await using scope = new TestScope();
  const { got, statuses } = await producersAndConsumers(scope);
  assert.deepEqual(got.corrupt, []);
  const { missing, duplicated } = missingAndDuplicated(got.seen);
  assert.deepEqual(duplicated, []);
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} missing`);
  assert.deepEqual(statuses.map((s) => s.code), [0, 0, 0, 0]);
  assert.equal(got.perConsumer.reduce((a, b) => a + b), TOTAL);
  // Every consumer took part (the kernel hands messages to whoever asks).
  for (const n of got.perConsumer) assert.ok(n > 0, `${got.perConsumer}`);
});

Deno.test("PosixMessageQueue loses at most the message a consumer killed by SIGKILL had not reported", async () => {
  await using scope = new TestScope();
  // 2000 natively: a tenth of one producer's messages, well before the end.
  const killAfter = PER_PRODUCER / 10;
  const { got, statuses } = await producersAndConsumers(scope, killAfter);
  assert.deepEqual(got.corrupt, []);
  assert.equal(statuses[0].signal, "SIGKILL");
  assert.deepEqual(statuses.slice(1).map((s) => s.code), [0, 0, 0]);
  assert.ok(got.perConsumer[0] >= killAfter, `victim reported ${got.perConsumer[0]}`);
  const { missing, duplicated } = missingAndDuplicated(got.seen);
  assert.deepEqual(duplicated, []);
  // Killed between mq_receive and its report: one message at most.
  assert.ok(missing.length <= 1, `${missing.length} missing: ${missing.slice(0, 10).join(", ")}`);
  assert.equal(got.perConsumer.reduce((a, b) => a + b), TOTAL - missing.length);
  // The run went on after the kill.
  assert.ok(got.perConsumer.slice(1).reduce((a, b) => a + b) > 0);
});

Deno.test("PosixMessageQueue.open() refuses sizes above /proc/sys/fs/mqueue/msg_max in a process without CAP_SYS_RESOURCE", async () => {
  await using scope = new TestScope();
  const name = scope.posixName();
  const max = procSys("msg_max") + 1;
  const nocap = new URL("./fixtures/posix_mq_nocap.ts", import.meta.url);
  const { status, stdout, stderr } = await runCollect((out, err) =>
    scope.child(spawn(nocap, { args: [name, `${max}`], fds: { 1: out, 2: err } }))
  );
  assert.equal(status.code, 0, `${stdout}${stderr}`);
  assert.match(
    stdout,
    new RegExp(
      `^RangeError: maxMessages ${max} is above the limit in /proc/sys/fs/mqueue/msg_max \\(${
        max - 1
      }\\); only a process with CAP_SYS_RESOURCE may exceed it\n$`,
    ),
  );
  assert.equal(posixQueueExists(name), false);
});

Deno.test("PosixMessageQueue.fromFd(): a child adopts the queue spawn handed it", async (t) => {
  // Shut out: as after a privilege drop, the child may not open the queue (a reopen through
  // /proc/self/fd is an open), but the descriptor works, as in C; it stays blocking.
  for (const shutOut of [false, true]) {
    await t.step(
      shutOut
        ? "a child the queue's mode shuts out still uses the descriptor handed over"
        : "the child receives and answers through fd 3",
      async () => {
        await using scope = new TestScope();
        const mode = shutOut ? 0 : 0o600;
        const q = scope.handle(PosixMessageQueue.open(scope.posixName(), { create: true, mode }));
        const adopt = new URL("./fixtures/posix_mq_adopt.ts", import.meta.url);
        q.sendSync("ping");
        const args = shutOut ? ["without-dac"] : [];
        const { status, stdout, stderr } = await runCollect((out, err) =>
          scope.child(spawn(adopt, { args, fds: { 1: out, 2: err, 3: q } }))
        );
        assert.equal(status.code, 0, `${stdout}${stderr}`);
        const expected = { name: "", access: "readwrite", got: "ping", blocking: shutOut };
        assert.deepEqual(JSON.parse(stdout), expected);
        assert.equal(new TextDecoder().decode(q.receiveSync({ timeout: HANG_MS }).data), "PING");
      },
    );
  }

  await t.step("a blocking descriptor gets a non-blocking description of its own", () => {
    using scope = new TestScope();
    const q = scope.handle(PosixMessageQueue.open(scope.posixName(), { create: true }));
    const copy = scope.fd(dupInheritable(q.fd));
    setNonBlocking(copy, false); // the description q shares
    using adopted = PosixMessageQueue.fromFd(copy);
    setNonBlocking(q.fd, true);
    assert.equal(isNonBlocking(adopted.fd), true);
    assert.throws(() => adopted.tryReceive(), Deno.errors.WouldBlock);
    assert.equal(isCloexec(adopted.fd), true);
  });

  await t.step(
    "closed with a receive pending: BadResource naming the fd, and the fd closed",
    async () => {
      // Its name in errors came of the fd getter, which throws once closed with an error that
      // names the handle: close() overflowed the stack, the fd stayed open, the receive hung.
      using scope = new TestScope();
      const q = scope.handle(PosixMessageQueue.open(scope.posixName(), { create: true }));
      const adopted = PosixMessageQueue.fromFd(dupInheritable(q.fd));
      const fd = adopted.fd;
      const pending = adopted.receive();
      adopted.close();
      const closed = {
        name: "BadResource",
        code: "EBADF",
        message: new RegExp(`message queue fd ${fd}`),
      };
      await assert.rejects(within(pending, "the pending receive"), closed);
      assert.throws(() => adopted.tryReceive(), closed);
      assert.throws(() => adopted.fd, closed);
      assert.equal(isOpen(fd), false);
    },
  );

  await t.step("anything else is refused, and the descriptor stays the caller's", () => {
    using scope = new TestScope();
    const p = scope.pipe();
    assert.throws(() => PosixMessageQueue.fromFd(p.reader.fd), TypeError);
    assert.equal(isOpen(p.reader.fd), true);
    assert.throws(() => PosixMessageQueue.fromFd(-1), RangeError);
    assert.throws(() => PosixMessageQueue.fromFd(999_999), Deno.errors.BadResource);
  });
});

Deno.test("a queue whose shared description another process made blocking: the tries still never wait", async () => {
  // O_NONBLOCK belongs to the description, which a child handed the queue shares. In a
  // child of its own, with a hang guard: a try that blocked would never return.
  await using scope = new TestScope();
  const name = scope.posixName();
  const code = `
    import assert from "node:assert/strict";
    import { PosixMessageQueue } from "${MOD_URL}";
    import { dupInheritable, setNonBlocking } from "${
    new URL("./_kernel.ts", import.meta.url).href
  }";
    using q = PosixMessageQueue.open(${JSON.stringify(name)}, { create: true, maxMessages: 1 });
    setNonBlocking(dupInheritable(q.fd), false); // as a child's fcntl would
    assert.equal(q.attributes().nonBlocking, false);
    assert.throws(() => q.tryReceive(), Deno.errors.WouldBlock);
    await assert.rejects(q.receive({ timeout: 50 }), Deno.errors.TimedOut);
    q.trySend("full");
    assert.throws(() => q.trySend("more"), Deno.errors.WouldBlock);
    await assert.rejects(q.send("more", { timeout: 50 }), Deno.errors.TimedOut);
    assert.equal(new TextDecoder().decode(q.tryReceive().data), "full");
  `;
  const { status, stdout, stderr } = await runCollect((out, err) =>
    scope.child(
      spawnProgram(Deno.execPath(), ["eval", "--ext=ts", code], { fds: { 1: out, 2: err } }),
    )
  );
  assert.equal(status.code, 0, `${stdout}${stderr}`);
});

Deno.test("POSIX queue names that carry stray bytes as U+DC80..U+DCFF: one queue each", () => {
  using scope = new TestScope();
  // Unlinked here: the scope's own C strings are plain UTF-8, which names other queues.
  const [a, b] = [scope.posixName() + "\uDC80", scope.posixName() + "\uDC81"];
  try {
    using qa = PosixMessageQueue.open(a, { create: true, exclusive: true, maxMessages: 1 });
    using qb = PosixMessageQueue.open(b, { create: true, exclusive: true, maxMessages: 1 });
    qa.sendSync("a");
    assert.throws(() => qb.tryReceive(), Deno.errors.WouldBlock);
    assert.equal(new TextDecoder().decode(qa.tryReceive().data), "a");
  } finally {
    for (const name of [a, b]) {
      try {
        PosixMessageQueue.unlink(name);
      } catch {
        // never made
      }
    }
  }
  for (const name of [a, b]) {
    assert.throws(() => PosixMessageQueue.open(name), Deno.errors.NotFound);
  }
});
