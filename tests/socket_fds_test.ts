import assert from "node:assert/strict";
import {
  connect,
  type Connection,
  FdReader,
  FdWriter,
  Fifo,
  listen,
  pipe,
  socketpair,
} from "../mod.ts";
import {
  CANNOT,
  commandOutput,
  dupInheritable,
  EPOLLIN,
  EPOLLOUT,
  fdTarget,
  type Fixture,
  HANG_MS,
  isCloexec,
  isNonBlocking,
  isOpen,
  libc,
  openFds,
  rawPipe,
  readAll,
  readProcFile,
  refersTo,
  setNonBlocking,
  systemError,
  TestScope,
  unless,
  waitedOn,
  waitingOn,
} from "./_kernel.ts";
import { Lines } from "./fixtures/socket_common.ts";
import { C } from "../ffi/platform.ts";

const TYPES = ["stream", "seqpacket", "datagram"] as const;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A unique abstract name for this run. */
function abstractName(tag: string): string {
  return `libc-ipc-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}-${tag}`;
}

/** Starts tests/fixtures/socket_fds_peer.ts with `conn` as its fd 3 and its stdout on a pipe. */
function fdsPeer(
  s: TestScope,
  args: string[],
  conn: Connection,
): { child: Fixture; lines: Lines } {
  const out = s.pipe();
  const child = s.fixture("socket_fds_peer.ts", { args, fds: { 3: conn, 1: out.writer } });
  out.writer.close();
  return { child, lines: new Lines(out.reader, child) };
}

/**
 * What a read of `reader` gets once it can: null at end of file. Waited for, not tried: a child
 * that another test module (this process is theirs too) is starting holds a copy of every
 * writing end until its exec.
 */
function endOf(reader: FdReader): Promise<number | null> {
  return reader.read(new Uint8Array(8), { timeout: HANG_MS });
}

/** Sends `text` as a message, or as bytes on a stream. */
function say(conn: Connection, words: string): void {
  if (conn.type === "stream") conn.writeSync(words);
  else conn.sendSync(words);
}

Deno.test("sendFds: a pipe's writing end passed to a child carries what the child writes", async (t) => {
  for (const type of TYPES) {
    for (const form of ["async", "sync", "try"] as const) {
      await t.step(`${type}, ${form} forms on both sides`, async () => {
        await using s = new TestScope();
        const [mine, theirs] = s.handle(socketpair(type));
        const p = s.pipe();
        const send = () =>
          form === "async"
            ? mine.sendFds([p.writer], "pipe", { timeout: HANG_MS })
            : form === "sync"
            ? mine.sendFdsSync([p.writer], "pipe", { timeout: HANG_MS })
            : mine.trySendFds([p.writer], "pipe");
        // The child's try form finds the descriptor there already.
        if (form === "try") assert.equal(await send(), 4);
        const { child, lines } = fdsPeer(s, ["write", form, "written by the child"], theirs);
        theirs.close();
        if (form !== "try") {
          // The child's receive waits for it in the kernel: the descriptor comes after.
          await waitingOn(child.pid, 3);
          assert.equal(await send(), 4);
        }
        // The child's copy is now the only writing end: the pipe ends when the child closes it.
        p.writer.close();
        assert.equal(await s.check(() => readAll(p.reader)), "written by the child");
        await lines.expect({ data: "pipe", fds: 1 });
        await child.exits(0);
      });
    }
  }
});

Deno.test("sendFds: a socket passed to a child works there", async (t) => {
  await t.step("a listener: the child accepts the parent's connection on it", async () => {
    await using s = new TestScope();
    const [mine, theirs] = s.handle(socketpair());
    const { child, lines } = fdsPeer(s, ["listener"], theirs);
    theirs.close();
    const name = abstractName("passed-listener");
    {
      using listener = listen({ abstract: name });
      await mine.sendFds([listener]);
    } // closed here: the child's copy still listens
    await lines.expect({ addr: { transport: "unix", abstract: name } });
    const conn = s.handle(await connect({ abstract: name, timeout: HANG_MS }));
    assert.equal(await s.check(() => new Response(conn.readable).text()), "accepted by the child");
    await child.exits(0);
  });

  await t.step("a connection: the child echoes over it", async () => {
    await using s = new TestScope();
    const [mine, theirs] = s.handle(socketpair("seqpacket"));
    const [near, far] = s.handle(socketpair());
    const { child, lines } = fdsPeer(s, ["connection"], theirs);
    theirs.close();
    await mine.sendFds([far.fd]);
    far.close();
    await lines.expect({ type: "stream" });
    await near.write("echoed by the child");
    near.shutdown("write");
    assert.equal(await s.check(() => new Response(near.readable).text()), "echoed by the child");
    await child.exits(0);
  });
});

Deno.test(
  unless(
    CANNOT.fdTruncation,
    "receiveFds({ max }): the descriptors beyond max are closed in the receiver, and truncated says so",
    async (t) => {
      for (const type of TYPES) {
        await t.step(`${type}, in a child`, async () => {
          await using s = new TestScope();
          const [mine, theirs] = s.handle(socketpair(type));
          const pipes = [1, 2, 3, 4, 5].map(() => s.pipe());
          const targets = pipes.map((p) => fdTarget(p.reader.fd));
          const { child, lines } = fdsPeer(s, ["hold", "2"], theirs);
          theirs.close();
          await mine.sendFds(pipes.map((p) => p.writer));
          for (const p of pipes) p.writer.close();
          const got = await lines.next("what the child received") as {
            fds: number[];
            truncated: boolean;
          };
          assert.equal(got.truncated, true);
          assert.equal(got.fds.length, 2);
          // The child holds the first two writing ends, at the numbers it was given, and no other.
          const held = openFds(child.pid);
          assert.deepEqual(got.fds.map((fd) => held.get(fd)), targets.slice(0, 2));
          const heldTargets = new Set(held.values());
          assert.deepEqual(targets.slice(2).filter((x) => heldTargets.has(x)), []);
          // No writing end is left of the last three pipes: they end; the first two wait.
          const buf = new Uint8Array(8);
          for (const p of pipes.slice(2)) assert.equal(await endOf(p.reader), null);
          for (const p of pipes.slice(0, 2)) {
            assert.throws(() => p.reader.tryRead(buf), Deno.errors.WouldBlock);
          }
          // Closing the result without taking anything closes the two it held.
          say(mine, "release");
          await lines.expect("released");
          const after = new Set(openFds(child.pid).values());
          assert.deepEqual(targets.filter((x) => after.has(x)), []);
          for (const p of pipes.slice(0, 2)) {
            assert.equal(await p.reader.read(buf, { timeout: HANG_MS }), null);
          }
          say(mine, "exit");
          await child.exits(0);
        });
      }

      await t.step("max: 0 in this process: none installed, the data still comes", () => {
        using s = new TestScope();
        const [a, b] = s.handle(socketpair("seqpacket"));
        const p = s.pipe();
        const pipeFile = fdTarget(p.reader.fd);
        a.sendFdsSync([p.reader, p.writer], "data");
        using received = b.receiveFdsSync({ max: 0 })!;
        assert.deepEqual(received.fds, []);
        assert.equal(received.truncated, true);
        assert.equal(text(received.data), "data");
        // Only the pipe's own two ends are open on it (other test modules share this process:
        // its fds other than these may come and go).
        const onPipe = [...openFds().values()].filter((t) => t === pipeFile);
        assert.equal(onPipe.length, 2);
      });

      await t.step("on a socket with SO_PASSPIDFD: the sender's pidfd is not left open", () => {
        // Room for it came with the room for credentials: each receive left one pidfd open.
        using s = new TestScope();
        const SO_PASSPIDFD = 76; // asm-generic/socket.h, Linux ≥ 6.5
        const ownPidfds = () =>
          [...openFds().entries()].filter(([fd, t]) =>
            t === "anon_inode:[pidfd]" &&
            new RegExp(`^Pid:\\s*${Deno.pid}$`, "m").test(readProcFile(`/proc/self/fdinfo/${fd}`))
          ).length;
        for (const type of TYPES) {
          const [a, b] = s.handle(socketpair(type));
          const on = new Uint8Array(new Int32Array([1]).buffer);
          if (libc.setsockopt(b.fd, C.SOL_SOCKET, SO_PASSPIDFD, on, 4) !== 0) return; // older kernel
          const before = ownPidfds();
          const p = s.pipe();
          for (let i = 0; i < 20; i++) {
            a.sendFdsSync([p.reader], "x");
            using received = b.receiveFdsSync({ max: 1 })!;
            assert.equal(received.fds.length, 1);
          }
          assert.equal(ownPidfds(), before, `${type}: pidfds left open`);
          // Data without descriptors: the pidfd the kernel adds alone is not a truncation.
          if (type === "stream") a.writeSync("y");
          else a.sendSync("y");
          using plain = b.receiveFdsSync({ max: 0 })!;
          assert.deepEqual([plain.fds.length, plain.truncated], [0, false], type);
          assert.equal(ownPidfds(), before, `${type}: pidfds left open`);
        }
      });

      await t.step("on a socket with SO_PASSCRED: the credentials take no room from max", () => {
        // The kernel puts SCM_CREDENTIALS first: with room for max fds alone, none fit, and
        // the kernel closed them all (a socket a C parent set SO_PASSCRED on, then handed over).
        using s = new TestScope();
        for (const type of TYPES) {
          const [a, b] = s.handle(socketpair(type));
          const on = new Uint8Array(new Int32Array([1]).buffer);
          assert.equal(libc.setsockopt(b.fd, C.SOL_SOCKET, C.SO_PASSCRED, on, 4), 0);
          const p = s.pipe();
          const pipeFile = fdTarget(p.reader.fd);
          for (const [sent, max] of [[1, 1], [2, 2], [3, 2], [40, 2]]) {
            a.sendFdsSync(new Array(sent).fill(p.reader), "x");
            using received = b.receiveFdsSync({ max })!;
            assert.equal(received.fds.length, Math.min(sent, max), `${type}: ${sent} sent`);
            assert.equal(received.truncated, sent > max, `${type}: ${sent} sent`);
            assert.ok(received.fds.every((fd) => fdTarget(fd) === pipeFile));
            const onPipe = [...openFds().values()].filter((t) => t === pipeFile);
            assert.equal(onPipe.length, 2 + Math.min(sent, max), "the rest closed");
          }
        }
      });

      await t.step("max: 253 takes the most one message carries", () => {
        using s = new TestScope();
        const [a, b] = s.handle(socketpair());
        const p = s.pipe();
        a.sendFdsSync(new Array(253).fill(p.reader));
        using received = b.receiveFdsSync()!;
        assert.equal(received.fds.length, 253);
        assert.equal(received.truncated, false);
        const target = fdTarget(p.reader.fd);
        assert.ok(received.fds.every((fd) => fdTarget(fd) === target));
      });
    },
  ),
);

Deno.test("a pipe or FIFO end goes blocking, on a description of its own: the receiver's mode is not ours", async () => {
  // The description was shared: a receiver clearing O_NONBLOCK (a C program, as the README tells
  // it to) made this process's next read or write block the event loop for good.
  await using s = new TestScope();
  const [a, b] = s.handle(socketpair());
  const p = s.pipe();
  const fifo = `${await s.tempDir()}/fifo`;
  Fifo.create(fifo);
  const fifoReader = s.handle(Fifo.tryOpen(fifo, "read"));
  const fifoWriter = s.handle(Fifo.tryOpen(fifo, "write"));
  const ours = [p.reader, p.writer, fifoReader, fifoWriter];
  a.sendFdsSync(ours);
  using received = b.receiveFdsSync()!;
  assert.equal(received.fds.length, ours.length);
  for (const [i, fd] of received.fds.entries()) {
    assert.equal(fdTarget(fd), fdTarget(ours[i].fd), "the same pipe");
    assert.equal(isNonBlocking(fd), false, "blocking, as spawn hands it over");
    setNonBlocking(fd, false); // what the receiver may do with its own
    assert.equal(isNonBlocking(ours[i].fd), true, `ours stays non-blocking: fds[${i}]`);
  }
  assert.throws(() => p.reader.tryRead(new Uint8Array(1)), Deno.errors.WouldBlock);
});

Deno.test("received descriptors are close-on-exec, whatever the sender's were", async (t) => {
  for (const type of TYPES) {
    await t.step(type, async () => {
      using s = new TestScope();
      const [a, b] = s.handle(socketpair(type));
      const [r, w] = rawPipe();
      s.fd(r);
      s.fd(w);
      const inheritable = s.fd(dupInheritable(w));
      assert.equal(isCloexec(inheritable), false);
      await a.sendFds([inheritable, r]);
      using received = (await b.receiveFds({ timeout: HANG_MS }))!;
      assert.equal(received.fds.length, 2);
      for (const fd of received.fds) assert.equal(isCloexec(fd), true, `fd ${fd}`);
      assert.equal(fdTarget(received.fds[0]), fdTarget(w));
      // The sender's copy is as it was.
      assert.equal(isCloexec(inheritable), false);
    });
  }
});

/** A pipe whose reading end came back through a socketpair: the pipe, what came, its fd. */
function receivedReader(s: TestScope) {
  const [a, b] = s.handle(socketpair());
  const p = s.pipe();
  a.sendFdsSync([p.reader]);
  const received = b.receiveFdsSync()!;
  return { p, received, fd: received.fds[0] };
}

Deno.test("ReceivedFds: what is taken is the taker's, the rest closes with it", async (t) => {
  await t.step("take, adopt, reader, writer; dispose closes the rest", async () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair("seqpacket"));
    const pipes = [1, 2, 3, 4].map(() => s.pipe());
    a.sendFdsSync(pipes.map((p) => p.writer));
    for (const p of pipes) p.writer.close();
    let raw: number;
    let writer: FdWriter;
    let adopted: FdWriter;
    {
      using received = b.receiveFdsSync()!;
      assert.equal(received.fds.length, 4);
      raw = s.fd(received.take(0));
      writer = s.handle(received.writer(1));
      // A failed adoption leaves the descriptor where it was.
      assert.throws(() => received.reader(2), TypeError);
      adopted = s.handle(received.adopt(2, (fd) => new FdWriter(fd)));
      assert.throws(() => received.take(0), /already taken/);
      assert.throws(() => received.writer(4), RangeError);
      assert.throws(() => received.take(-1), RangeError);
      assert.throws(() => received.adopt(3, "no" as never), TypeError);
    } // the fourth was not taken: closed here
    const buf = new Uint8Array(8);
    assert.equal(await endOf(pipes[3].reader), null);
    for (const p of pipes.slice(0, 3)) {
      assert.throws(() => p.reader.tryRead(buf), Deno.errors.WouldBlock);
    }
    assert.ok(isOpen(raw));
    await writer.write("1");
    adopted.writeSync("2");
    assert.equal(pipes[1].reader.tryRead(buf), 1);
    assert.equal(pipes[2].reader.tryRead(buf), 1);
  });

  await t.step("after close(): BadResource, and closing twice does nothing", () => {
    using s = new TestScope();
    const { received, fd } = receivedReader(s);
    const target = fdTarget(fd);
    received.close();
    received.close();
    assert.equal(received.closed, true);
    assert.equal(refersTo(fd, target), false);
    assert.throws(
      () => received.take(0),
      systemError(Deno.errors.BadResource, "EBADF", "take", { fd }),
    );
    assert.throws(() => received.reader(0), Deno.errors.BadResource);
  });

  await t.step("a descriptor not taken cannot be adopted around it", () => {
    // `new FdReader(fd)` was accepted: close() then closed the fd under that reader.
    using s = new TestScope();
    const { p, received, fd } = receivedReader(s);
    assert.throws(() => new FdReader(fd), /fd \d+ belongs to an open set of received descriptors/);
    assert.throws(() =>
      received.adopt(0, () => {
        throw new Error("refused");
      }), /refused/);
    assert.throws(() => new FdReader(fd), /belongs to an open set of received descriptors/);
    const reader = s.handle(received.reader(0));
    assert.throws(() => new FdReader(fd), /belongs to an open reader/);
    received.close();
    p.writer.writeSync("still the reader's");
    const buf = new Uint8Array(32);
    assert.equal(text(buf.subarray(0, reader.readSync(buf)!)), "still the reader's");
  });

  await t.step("connection() and listener() adopt sockets; others are refused", () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    const [near, far] = s.handle(socketpair("datagram"));
    const listener = s.handle(listen({ abstract: abstractName("adopt") }));
    a.sendFdsSync([far, listener, listener]);
    using received = b.receiveFdsSync()!;
    assert.throws(() => received.listener(0), TypeError);
    const conn = s.handle(received.connection(0));
    assert.throws(() => received.connection(1), TypeError);
    const adopted = s.handle(received.listener(1));
    assert.deepEqual(adopted.addr, listener.addr);
    near.sendSync("to the adopted end");
    assert.equal(text(conn.receiveSync({ timeout: HANG_MS })!), "to the adopted end");
  });
});

Deno.test("stream: descriptors arrive with the first byte of their data", async (t) => {
  await t.step("a receive ends with the data the descriptors came with", () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    const p = s.pipe();
    a.writeSync("before|");
    assert.equal(a.sendFdsSync([p.reader], "with"), 4);
    a.writeSync("|after");
    using first = b.receiveFdsSync()!;
    assert.equal(text(first.data), "before|with");
    assert.equal(first.fds.length, 1);
    using second = b.tryReceiveFds()!;
    assert.equal(text(second.data), "|after");
    assert.deepEqual(second.fds, []);
  });

  await t.step("left out, data is one zero byte", () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    const p = s.pipe();
    assert.equal(a.sendFdsSync([p.writer]), 1);
    using received = b.receiveFdsSync({ maxBytes: 16 })!;
    assert.deepEqual(received.data, new Uint8Array(1));
    assert.equal(received.fds.length, 1);
  });

  await t.step("4 MiB: the descriptors with the first byte, the rest by read()", async () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    const p = s.pipe();
    const data = new Uint8Array(4 << 20).map((_, i) => i % 251);
    const sending = a.sendFds([p.reader], data);
    // The socket's buffer is full long before 4 MiB: the send waits for room.
    await waitedOn(a.fd, EPOLLOUT);
    using first = (await b.receiveFds({ maxBytes: 1, timeout: HANG_MS }))!;
    assert.deepEqual([first.data.length, first.data[0], first.fds.length], [1, 0, 1]);
    const rest = new Uint8Array(data.length - 1);
    let at = 0;
    while (at < rest.length) {
      const n = await b.read(rest.subarray(at), { timeout: HANG_MS });
      assert.notEqual(n, null);
      at += n!;
    }
    assert.equal(await sending, data.length);
    assert.deepEqual(rest, data.subarray(1));
  });

  await t.step("a plain read() that reaches them drops them: the kernel closes them", () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    const p = s.pipe();
    a.sendFdsSync([p.writer], "xy");
    p.writer.close();
    assert.equal(b.readSync(new Uint8Array(8)), 2);
    // No writing end is left anywhere, in this process or in flight: end of file. (Counting
    // this process's fds would race with other test modules, which share it.)
    assert.equal(p.reader.readSync(new Uint8Array(1), { timeout: HANG_MS }), null);
  });

  await t.step("end of stream is null", async () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    a.shutdown("write");
    assert.equal(await b.receiveFds(), null);
    assert.equal(b.receiveFdsSync(), null);
    assert.equal(b.tryReceiveFds(), null);
  });
});

Deno.test("a pending receiveFds ends on close(), abort or timeout", async (t) => {
  for (const type of TYPES) {
    await t.step(`${type}: close() rejects it with BadResource`, async () => {
      using s = new TestScope();
      const [, b] = s.handle(socketpair(type));
      const fd = b.fd;
      const pending = b.receiveFds();
      await waitedOn(fd, EPOLLIN);
      b.close();
      await assert.rejects(
        pending,
        systemError(Deno.errors.BadResource, "EBADF", "recvmsg", { fd }),
      );
      assert.throws(() => b.tryReceiveFds(), Deno.errors.BadResource);
      assert.throws(() => b.sendFdsSync([0]), Deno.errors.BadResource);
    });
  }

  await t.step("an abort rejects it with the reason, and nothing is lost", async () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair("seqpacket"));
    const controller = new AbortController();
    const pending = b.receiveFds({ signal: controller.signal });
    await waitedOn(b.fd, EPOLLIN);
    const reason = new Error("enough");
    controller.abort(reason);
    await assert.rejects(pending, (e) => e === reason);
    const p = s.pipe();
    a.sendFdsSync([p.reader]);
    using received = b.receiveFdsSync({ timeout: HANG_MS })!;
    assert.equal(received.fds.length, 1);
  });

  await t.step("a send aborted after its descriptors went out: Interrupted naming it", async () => {
    // It said only "sendFds aborted after ...", with no call or fd, unlike every other error.
    using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    const p = s.pipe();
    const controller = new AbortController();
    const reason = new Error("enough");
    const sending = a.sendFds([p.reader], new Uint8Array(8 << 20), { signal: controller.signal });
    await waitedOn(a.fd, EPOLLOUT);
    controller.abort(reason);
    const e = await sending.then(() => assert.fail("sent whole"), (e) => e);
    const written = (e as { bytesWritten: number }).bytesWritten;
    assert.ok(e instanceof Deno.errors.Interrupted && e.cause === reason, String(e));
    assert.equal(
      e.message,
      `sendmsg fd ${a.fd} aborted after the descriptors and ${written} bytes were sent`,
    );
    assert.deepEqual([(e as { syscall?: string }).syscall, (e as { fd?: number }).fd], [
      "sendmsg",
      a.fd,
    ]);
    using received = b.receiveFdsSync({ timeout: HANG_MS })!;
    assert.equal(received.fds.length, 1);
  });

  await t.step("timeout: TimedOut, in the async and sync forms", async () => {
    using s = new TestScope();
    const [, b] = s.handle(socketpair());
    await assert.rejects(
      b.receiveFds({ timeout: 1 }),
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", "recvmsg"),
    );
    assert.throws(
      () => b.receiveFdsSync({ timeout: 1 }),
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", "recvmsg"),
    );
    assert.throws(
      () => b.tryReceiveFds(),
      systemError(Deno.errors.WouldBlock, "EAGAIN", "recvmsg"),
    );
  });
});

Deno.test("sendFds and receiveFds refuse bad input before any call", async (t) => {
  await t.step("descriptors that are not", async () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair("seqpacket"));
    const p = s.pipe();
    const gone = pipe();
    const held = gone.reader.fd;
    gone[Symbol.dispose]();
    const closed = gone.reader;
    const bad: Array<[unknown, new (...args: never[]) => Error]> = [
      // A number that is no fd number is out of range; anything else, the wrong type.
      [[1.5], RangeError],
      [[NaN], RangeError],
      [[-1], RangeError],
      [["3"], TypeError],
      [[null], TypeError],
      [[{}], TypeError],
      [[{ fd: 2 ** 31 }], TypeError],
      [[closed], Deno.errors.BadResource],
      [3, TypeError],
      [[], RangeError],
      [new Array(254).fill(p.writer), RangeError],
    ];
    for (const [fds, Class] of bad) {
      const f = fds as number[];
      assert.throws(() => a.sendFdsSync(f), Class, `sendFdsSync(${String(fds)})`);
      assert.throws(() => a.trySendFds(f), Class);
      await assert.rejects(a.sendFds(f), Class);
    }
    // A closed handle: EBADF as the send would have met, naming the fd it held and the entry.
    assert.throws(
      () => a.sendFdsSync([p.writer, closed]),
      systemError(Deno.errors.BadResource, "EBADF", "sendmsg", { fd: held }),
    );
    assert.throws(() => a.sendFdsSync([p.writer, closed]), /fds\[1\] is a closed handle/);
    // Nothing went.
    assert.throws(() => b.tryReceiveFds(), Deno.errors.WouldBlock);
    assert.throws(() => a.trySendFds([p.writer], ""), RangeError);
    assert.throws(() => a.trySendFds([p.writer], 7 as never), TypeError);
    assert.throws(() => b.tryReceiveFds({ max: 254 }), RangeError);
    assert.throws(() => b.tryReceiveFds({ max: -1 }), RangeError);
    assert.throws(() => b.tryReceiveFds({ max: 1.5 }), RangeError);
    assert.throws(() => b.tryReceiveFds({ maxBytes: 16 }), TypeError);
    assert.throws(() => b.tryReceiveFds(7 as never), TypeError);
    assert.throws(() => b.tryReceiveFds(), Deno.errors.WouldBlock);
  });

  await t.step(
    "a handle closed while its send waits: BadResource, and no descriptor goes",
    async () => {
      using s = new TestScope();
      const [a, b] = s.handle(socketpair());
      const p = s.pipe();
      const held = p.reader.fd;
      const chunk = new Uint8Array(65536);
      let queued = 0;
      for (;;) {
        try {
          queued += a.tryWrite(chunk);
        } catch (e) {
          if (e instanceof Deno.errors.WouldBlock) break;
          throw e;
        }
      }
      const sending = a.sendFds([p.reader], "x");
      const refused = assert.rejects(
        sending,
        systemError(Deno.errors.BadResource, "EBADF", "sendmsg", { fd: held }),
      );
      await waitedOn(a.fd, EPOLLOUT);
      p.reader.close();
      // Reopened at once, the number names another pipe: that one must not go either. (Under
      // load one of Deno's own threads may take the number first: then it names that file.)
      s.pipe();
      const into = new Uint8Array(65536);
      let drained = 0;
      while (drained < queued) drained += b.readSync(into) ?? 0;
      await refused;
      assert.equal(drained, queued);
      assert.throws(() => b.tryReceiveFds(), Deno.errors.WouldBlock);
    },
  );

  await t.step("a descriptor that is not open: the kernel's EBADF names it", () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    const p = s.pipe();
    const notOpen = 999_999;
    assert.equal(isOpen(notOpen), false);
    assert.throws(
      () => a.sendFdsSync([p.reader, notOpen]),
      systemError(Deno.errors.BadResource, "EBADF", "sendmsg", { fd: notOpen }),
    );
    assert.throws(() => b.tryReceiveFds(), Deno.errors.WouldBlock);
  });

  await t.step("empty data on a stream; maxBytes out of range", () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    const p = s.pipe();
    assert.throws(() => a.sendFdsSync([p.reader], new Uint8Array(0)), RangeError);
    assert.throws(() => b.tryReceiveFds({ maxBytes: 0 }), RangeError);
    assert.throws(() => b.tryReceiveFds({ maxBytes: 2 ** 31 }), RangeError);
    assert.throws(() => b.tryReceiveFds({ maxBytes: 1 }), Deno.errors.WouldBlock);
  });

  await t.step("TCP connections pass no descriptors", async () => {
    await using s = new TestScope();
    const listener = s.handle(listen({ port: 0 }));
    const { port } = listener.addr as { port: number };
    const client = s.handle(await connect({ port, timeout: HANG_MS }));
    s.handle(await listener.accept({ timeout: HANG_MS }));
    assert.throws(() => client.sendFdsSync([0]), TypeError);
    assert.throws(() => client.tryReceiveFds(), TypeError);
    await assert.rejects(client.receiveFds(), TypeError);
  });
});

Deno.test("examples/fd_passing.ts prints what the child wrote through the passed descriptor", async () => {
  const out = await commandOutput(Deno.execPath(), {
    args: ["run", "--allow-ffi", "examples/fd_passing.ts"],
    cwd: new URL("../", import.meta.url).pathname,
  });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stderr, "");
  assert.equal(out.stdout, "Parent received: Hello through a passed descriptor\n");
});
