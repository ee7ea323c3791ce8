import assert from "node:assert/strict";
import { assertKeptIntact } from "./_kept.ts";
import {
  connect,
  connectSync,
  datagram,
  DatagramSocket,
  IpcError,
  type SocketAddress,
  socketpair,
} from "../mod.ts";
import {
  blockedIn,
  EMULATED,
  EPOLLIN,
  HANG_MS,
  procSysInt,
  systemError,
  TestScope,
  waitedOn,
} from "./_kernel.ts";
import { pattern, peer, shareOut } from "./fixtures/socket_common.ts";
import { decodeName, encodeName } from "../ffi/cstring.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const UNNAMED = { transport: "unix", unnamed: true };

/** Where `part` first occurs in `bytes`, or -1. */
function indexOf(bytes: Uint8Array, part: Uint8Array): number {
  outer: for (let i = 0; i + part.length <= bytes.length; i++) {
    for (let k = 0; k < part.length; k++) if (bytes[i + k] !== part[k]) continue outer;
    return i;
  }
  return -1;
}

function abstractName(tag: string): string {
  return `libc-ipc-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}-${tag}`;
}

/** Receives the child's "ping" on `socket`, checks who sent it, answers "pong" to that address. */
async function answer(socket: DatagramSocket, from: unknown): Promise<SocketAddress> {
  const { data, address } = await socket.receiveFrom({ timeout: HANG_MS });
  assert.equal(text(data), "ping");
  assert.deepEqual(address, from);
  await socket.sendTo("pong", address);
  return address;
}

Deno.test("datagram sockets across processes: the sender's address comes with each datagram", async (t) => {
  await t.step("Unix, both bound to socket files: an answer goes back", async () => {
    await using s = new TestScope();
    const dir = await s.tempDir();
    const mine = s.handle(datagram({ path: `${dir}/parent.sock` }));
    const theirs = { path: `${dir}/child.sock` };
    const { child, lines } = peer(s, ["dgram", JSON.stringify(theirs), JSON.stringify(mine.addr)]);
    await lines.expect({ addr: { transport: "unix", ...theirs } });
    await answer(mine, { transport: "unix", ...theirs });
    await lines.expect({ reply: "pong", from: mine.addr });
    await child.exits(0);
  });
  await t.step("Unix, the child on an abstract name", async () => {
    await using s = new TestScope();
    const mine = s.handle(datagram({ abstract: abstractName("parent") }));
    const theirs = { abstract: abstractName("child") };
    const { child, lines } = peer(s, ["dgram", JSON.stringify(theirs), JSON.stringify(mine.addr)]);
    await lines.expect({ addr: { transport: "unix", ...theirs } });
    await answer(mine, { transport: "unix", ...theirs });
    await lines.expect({ reply: "pong", from: mine.addr });
    await child.exits(0);
  });
  await t.step("Unix, an unbound sender: unnamed, and no answer is possible", async () => {
    await using s = new TestScope();
    const mine = s.handle(datagram({ abstract: abstractName("parent") }));
    const { child, lines } = peer(s, ["dgram", "{}", JSON.stringify(mine.addr)]);
    await lines.expect({ addr: UNNAMED });
    const { data, address } = mine.receiveFromSync({ timeout: HANG_MS });
    assert.equal(text(data), "ping");
    assert.deepEqual(address, UNNAMED);
    // It said the "unix" transport does not fit: the reason is that the sender has no name.
    const noName = /destination: an unnamed socket has no address to use/;
    await assert.rejects(mine.sendTo("pong", address), noName);
    assert.throws(() => connectSync(address as never), /an unnamed socket has no address to use/);
    await child.exits(0);
  });
  for (const hostname of ["127.0.0.1", "::1"]) {
    await t.step(`UDP over ${hostname}, both on port 0`, async () => {
      await using s = new TestScope();
      const mine = s.handle(datagram({ hostname, port: 0 }));
      const { child, lines } = peer(s, [
        "dgram",
        JSON.stringify({ hostname, port: 0 }),
        JSON.stringify(mine.addr),
      ]);
      const { addr } = await lines.next("the child's address") as { addr: SocketAddress };
      assert.ok(addr.transport === "udp" && addr.hostname === hostname && addr.port > 0);
      await answer(mine, addr);
      await lines.expect({ reply: "pong", from: mine.addr });
      await child.exits(0);
    });
  }
});

Deno.test("datagram sockets: every form; boundaries kept; empty and large datagrams", async () => {
  using s = new TestScope();
  const a = s.handle(datagram({ abstract: abstractName("a") }));
  const b = s.handle(datagram({ abstract: abstractName("b") }));
  await a.sendTo("one", b.addr);
  a.sendToSync("two", b.addr);
  a.trySendTo(new Uint8Array(0), b.addr);
  const big = pattern(100_000, 5);
  await a.sendTo(big, { abstract: (b.addr as { abstract: string }).abstract });
  assert.equal(text(b.tryReceiveFrom().data), "one");
  assert.equal(text(b.receiveFromSync().data), "two");
  assert.deepEqual((await b.receiveFrom()).data, new Uint8Array(0));
  const last = await b.receiveFrom();
  assert.deepEqual(last.data, big);
  assert.deepEqual(last.address, a.addr);
  assert.throws(
    () => b.tryReceiveFrom(),
    systemError(Deno.errors.WouldBlock, "EAGAIN", "recvfrom"),
  );
  // Larger than any send buffer: refused, never cut.
  assert.throws(
    () => a.sendToSync(new Uint8Array(8 << 20), b.addr),
    systemError(Error, "EMSGSIZE", "sendto"),
  );
  const udp = s.handle(datagram({ port: 0 }));
  assert.throws(
    () => udp.sendToSync(new Uint8Array(70_000), udp.addr),
    systemError(Error, "EMSGSIZE", "sendto"),
  );
  // A UDP socket's senders are typed as network addresses: `.port` needs no narrowing.
  udp.sendToSync("p", udp.addr);
  assert.equal(udp.receiveFromSync({ timeout: HANG_MS }).address.port, udp.addr.port);
});

Deno.test("datagram sockets: each send goes where its destination names at the time of the send", async (t) => {
  await t.step(
    "Unix: one object changed between sends, another naming the same, a URL",
    async () => {
      await using s = new TestScope();
      const dir = await s.tempDir();
      const a = s.handle(datagram({ abstract: abstractName("a") }));
      const b = s.handle(datagram({ abstract: abstractName("b") }));
      const c = s.handle(datagram({ path: `${dir}/c.sock` }));
      const d = s.handle(datagram({ path: `${dir}/d.sock` }));
      // Changed in place, as a caller may reuse one object.
      const to = { ...b.addr } as Record<string, unknown>;
      a.sendToSync("1", to as never);
      delete to.abstract;
      to.path = `${dir}/c.sock`;
      a.sendToSync("2", to as never);
      await a.sendTo("3", { path: `${dir}/c.sock` });
      const url = new URL(`file://${dir}/c.sock`);
      a.sendToSync("4", { path: url });
      url.pathname = `${dir}/d.sock`;
      a.sendToSync("5", { path: url });
      a.trySendTo("6", b.addr);
      assert.throws(
        () => a.sendToSync("7", { ...b.addr, port: 1 } as never),
        TypeError,
      );
      const got = (x: DatagramSocket) => text(x.tryReceiveFrom().data);
      assert.deepEqual([got(b), got(b), got(c), got(c), got(c), got(d)], [
        "1",
        "6",
        "2",
        "3",
        "4",
        "5",
      ]);
      for (const x of [b, c, d]) assert.throws(() => x.tryReceiveFrom(), Deno.errors.WouldBlock);
    },
  );

  await t.step("UDP: the port of one object changed between sends", async () => {
    using s = new TestScope();
    const [x, y, z] = [0, 1, 2].map(() => s.handle(datagram({ port: 0 })));
    const to = { hostname: "127.0.0.1", port: (y.addr as { port: number }).port };
    x.sendToSync("to y", to);
    to.port = (z.addr as { port: number }).port;
    await x.sendTo("to z", to);
    assert.equal(text((await y.receiveFrom({ timeout: HANG_MS })).data), "to y");
    assert.equal(text((await z.receiveFrom({ timeout: HANG_MS })).data), "to z");
  });
});

Deno.test("each datagram names its own sender, in an object of its own", async () => {
  await using s = new TestScope();
  const dir = await s.tempDir();
  const receiver = s.handle(datagram({ abstract: abstractName("receiver") }));
  // Two abstract names of one length, a path, an unnamed socket.
  const senders = [
    s.handle(datagram({ abstract: abstractName("one") })),
    s.handle(datagram({ abstract: abstractName("two") })),
    s.handle(datagram({ path: `${dir}/three.sock` })),
    s.handle(datagram()),
  ];
  for (const sender of [...senders, ...senders.toReversed()]) {
    for (const time of [1, 2, 3]) {
      sender.sendToSync(`time ${time}`, receiver.addr);
      const { address } = receiver.receiveFromSync();
      assert.deepEqual(address, sender.addr);
      // The caller's to change: the next datagram from the same sender is not affected.
      Object.assign(address, { transport: "udp", path: "changed" });
    }
  }
});

Deno.test("a sender's name that is not UTF-8 comes back as a string that reaches it", async () => {
  await using s = new TestScope();
  const receiver = s.handle(datagram({ abstract: abstractName("receiver") }));
  // Bytes FF FE after the name, as a C program may bind: each reads as U+DC00 + the byte.
  const stem = abstractName("binary");
  const sender = s.handle(datagram({ abstract: `${stem}\udcff\udcfe` }));
  const listed = new Uint8Array(Deno.readFileSync("/proc/net/unix"));
  const raw = new Uint8Array([...new TextEncoder().encode(`@${stem}`), 0xff, 0xfe]);
  assert.ok(indexOf(listed, raw) >= 0, "the kernel has the name with bytes FF FE");
  // U+FFFD, what a lossy decoding gives, names another socket.
  const lossy = s.handle(datagram({ abstract: `${stem}\ufffd\ufffd` }));
  sender.sendToSync("hi", receiver.addr);
  const { address } = receiver.receiveFromSync();
  assert.deepEqual(address, { transport: "unix", abstract: `${stem}\udcff\udcfe` });
  receiver.sendToSync("reply", address);
  assert.equal(text(sender.tryReceiveFrom().data), "reply");
  assert.throws(() => lossy.tryReceiveFrom(), Deno.errors.WouldBlock);
});

Deno.test("socket names: bytes outside UTF-8 as lone surrogates, and back", () => {
  const cases: [number[], string][] = [
    [[0x61, 0xc3, 0xa9], "a\u00e9"],
    [[0x70, 0xff], "p\udcff"],
    // An encoded surrogate and an overlong form are not UTF-8: one escape per byte.
    [[0xed, 0xa0, 0x80], "\udced\udca0\udc80"],
    [[0xc0, 0xaf], "\udcc0\udcaf"],
    // A truncated sequence, then ASCII.
    [[0xe2, 0x82, 0x41], "\udce2\udc82A"],
    [[0xf0, 0x90, 0x82, 0x80], "\ud800\udc80"], // U+10080: its low surrogate is a pair's, no escape
  ];
  for (const [bytes, name] of cases) {
    assert.equal(decodeName(new Uint8Array(bytes)), name);
    assert.deepEqual([...encodeName(name)], bytes);
  }
});

Deno.test("DatagramSocket.fromFd: a bound socket several processes read, every datagram whole", async (t) => {
  for (const form of ["async", "sync"] as const) {
    await t.step(`${form} receives`, async () => {
      await using s = new TestScope();
      const socket = s.handle(datagram({ abstract: abstractName("shared") }));
      const readers = [0, 1, 2].map(() => peer(s, ["share-from", form], { 3: socket }));
      for (const { lines } of readers) await lines.expect({ addr: socket.addr });
      // receiveFrom peeks at the next datagram's size; another reader may take it first.
      const sender = s.handle(datagram());
      const count = EMULATED ? 4_000 : 20_000;
      await shareOut(readers, count, (m) => sender.sendToSync(m, socket.addr));
    });
  }
  await t.step("only an unconnected datagram socket is taken", () => {
    using s = new TestScope();
    const [stream] = s.handle(socketpair());
    const [connected] = s.handle(socketpair("datagram"));
    assert.throws(() => DatagramSocket.fromFd(stream.fd), TypeError, "a stream socket");
    assert.throws(() => DatagramSocket.fromFd(connected.fd), TypeError, "Connection.fromFd");
    assert.throws(() => DatagramSocket.fromFd(-1), RangeError);
  });
});

Deno.test("received datagrams and messages stay the caller's, whatever is received later", async () => {
  using s = new TestScope();
  const a = s.handle(datagram({ abstract: abstractName("a") }));
  const b = s.handle(datagram({ abstract: abstractName("b") }));
  const [c, d] = socketpair("seqpacket");
  s.handle(c);
  s.handle(d);
  const kept: Uint8Array<ArrayBuffer>[] = [];
  // Enough for several of the slabs small messages land in (see src/_landing.ts),
  // and some too large to share one.
  const sizeOf = (i: number) => i % 500 === 0 ? 20_000 + i : i % 200;
  for (let i = 0; i < 3000; i++) {
    const bytes = new Uint8Array(sizeOf(i)).fill(i & 255);
    if (i % 2 === 0) {
      a.sendToSync(bytes, b.addr);
      kept.push(i % 4 === 0 ? b.receiveFromSync().data : (await b.receiveFrom()).data);
    } else {
      c.sendSync(bytes);
      kept.push((i % 4 === 1 ? d.tryReceive() : await d.receive())!);
    }
  }
  assertKeptIntact(kept, sizeOf);
  c.sendSync("after");
  assert.equal(text(d.receiveSync()!), "after");
});

Deno.test("connect({ type: 'datagram' }): a Connection whose sends all go to one socket", async () => {
  using s = new TestScope();
  const name = abstractName("connected");
  const receiver = s.handle(datagram({ abstract: name }));
  const conn = s.handle(await connect({ abstract: name, type: "datagram" }));
  assert.equal(conn.type, "datagram");
  assert.deepEqual(conn.remoteAddr, receiver.addr);
  await conn.send("one");
  conn.sendSync("two");
  const got = [receiver.receiveFromSync(), await receiver.receiveFrom()];
  assert.deepEqual(got.map((d) => text(d.data)), ["one", "two"]);
  assert.deepEqual(got.map((d) => d.address), [UNNAMED, UNNAMED]);
});

Deno.test("a connected datagram socket whose peer closed: ConnectionRefused, then NotConnected", async () => {
  using s = new TestScope();
  const [a, b] = socketpair("datagram");
  s.handle(a);
  b.close();
  assert.throws(
    () => a.sendSync("x"),
    systemError(Deno.errors.ConnectionRefused, "ECONNREFUSED", "send"),
  );
  // The kernel forgot the peer with that error.
  await assert.rejects(a.send("x"), systemError(Deno.errors.NotConnected, "ENOTCONN", "send"));
});

Deno.test("datagram sockets: a Unix sender waits while the receiver's queue is full", async () => {
  using s = new TestScope();
  const receiver = s.handle(datagram({ abstract: abstractName("full") }));
  const sender = s.handle(datagram());
  let queued = 0;
  for (;;) {
    try {
      sender.trySendTo(String(queued), receiver.addr);
      queued++;
    } catch (e) {
      assert.ok(e instanceof Deno.errors.WouldBlock, `${e}`);
      break;
    }
  }
  // The kernel's limit, /proc/sys/net/unix/max_dgram_qlen (+1: it lets one more in).
  const limit = procSysInt("net/unix/max_dgram_qlen");
  assert.ok(queued >= limit && queued <= limit + 1, `${queued} queued, limit ${limit}`);
  const timedOut = systemError(Deno.errors.TimedOut, "ETIMEDOUT", "sendto", {
    address: `@${(receiver.addr as { abstract: string }).abstract}`,
  });
  assert.throws(() => sender.sendToSync("late", receiver.addr, { timeout: 20 }), timedOut);
  await assert.rejects(sender.sendTo("late", receiver.addr, { timeout: 20 }), timedOut);
  const pending = sender.sendTo("last", receiver.addr, { timeout: HANG_MS });
  assert.equal(text(receiver.tryReceiveFrom().data), "0"); // room for one
  await pending;
  const got: string[] = [];
  for (let i = 1; i <= queued; i++) got.push(text(receiver.tryReceiveFrom().data));
  assert.deepEqual(got, [...Array.from({ length: queued - 1 }, (_, i) => String(i + 1)), "last"]);
});

Deno.test("datagram sockets: close rejects a pending receive, ends a loop, removes the file", async (t) => {
  await t.step("pending receiveFrom and for await", async () => {
    using s = new TestScope();
    const socket = s.handle(datagram({ port: 0 }));
    const fd = socket.fd;
    const pending = socket.receiveFrom();
    const loop = (async () => {
      for await (const _ of socket) throw new Error("nothing was sent");
      return "ended";
    })();
    await waitedOn(fd, EPOLLIN);
    socket.close();
    await assert.rejects(
      pending,
      systemError(Deno.errors.BadResource, "EBADF", "recvfrom", { fd }),
    );
    assert.equal(await loop, "ended");
    assert.throws(() => socket.sendToSync("x", { port: 9 }), Deno.errors.BadResource);
    socket.close(); // twice: nothing
  });
  await t.step("the socket file: exact mode, removed at close, stale one replaced", async () => {
    await using s = new TestScope();
    const dir = await s.tempDir();
    const path = `${dir}/d.sock`;
    const socket = datagram({ path, mode: 0o622 });
    assert.equal(Deno.lstatSync(path).mode! & 0o777, 0o622);
    socket.close();
    assert.throws(() => Deno.lstatSync(path), Deno.errors.NotFound);
    datagram({ path, keepPath: true }).close(); // left behind: stale
    assert.throws(
      () => datagram({ path }),
      systemError(Deno.errors.AddrInUse, "EADDRINUSE", "bind", { path }),
    );
    const live = s.handle(datagram({ path, replace: true }));
    assert.throws(
      () => datagram({ path, replace: true }),
      systemError(Deno.errors.AddrInUse, "EADDRINUSE", "bind", "in use"),
    );
    live.close();
  });
});

Deno.test("datagram sockets: options and destinations checked before any call", async () => {
  using s = new TestScope();
  const unix = s.handle(datagram());
  const udp = s.handle(datagram({ port: 0 }));
  assert.throws(() => unix.sendToSync("x", { hostname: "127.0.0.1", port: 9 }), TypeError);
  assert.throws(() => udp.sendToSync("x", { hostname: "::1", port: 9 }), TypeError);
  assert.throws(() => udp.sendToSync("x", { path: "/nowhere.sock" }), TypeError);
  assert.throws(() => udp.sendToSync("x", { port: 0 }), RangeError);
  assert.throws(() => unix.sendToSync(42 as unknown as string, { abstract: "x" }), TypeError);
  await assert.rejects(
    unix.sendTo("x", { transport: "unix", unnamed: true }),
    /destination: an unnamed socket has no address to use/,
  );
  assert.throws(() => datagram({ hostname: "127.0.0.1" } as never), TypeError);
  assert.throws(() => datagram({ path: "/tmp/x.sock", reuseAddress: true } as never), TypeError);
  assert.throws(() => datagram({ abstract: "x", mode: 0o600 } as never), TypeError);
  assert.throws(() => datagram({ port: 0, ipv6Only: true }), TypeError);
  for (const unknown of [{ keepAlive: true }, { type: "stream" }, { backlog: 1 }]) {
    assert.throws(() => datagram({ port: 0, ...unknown } as never), /unknown option/);
  }
  assert.throws(
    () => datagram({ port: 0, transport: "tcp" } as never),
    /the transport given \("tcp"/,
  );
  // The same destination with a transport that does not fit, right after a send to it: the
  // socket keeps its last destination, and a key it did not compare skipped the check.
  const { port } = udp.addr as { port: number };
  udp.sendToSync("x", { hostname: "127.0.0.1", port });
  assert.throws(
    () => udp.sendToSync("x", { transport: "tcp", hostname: "127.0.0.1", port } as never),
    /the transport given \("tcp"/,
  );
  assert.throws(() => datagram({ path: `/tmp/${"x".repeat(110)}` }), RangeError);
  assert.throws(() => datagram(null as never), TypeError);
  assert.throws(
    () => unix.trySendTo("x", { abstract: abstractName("nobody") }),
    systemError(Deno.errors.ConnectionRefused, "ECONNREFUSED", "sendto"),
  );
  assert.throws(
    () => unix.trySendTo("x", { path: "/nonexistent-dir/x.sock" }),
    systemError(Deno.errors.NotFound, "ENOENT", "sendto", { path: "/nonexistent-dir/x.sock" }),
  );
});

Deno.test("a dual-stack UDP socket sends to IPv4 addresses, as they are given", () => {
  using s = new TestScope();
  const v4 = s.handle(datagram({ port: 0 }));
  const dual = s.handle(datagram({ hostname: "::", port: 0 }));
  dual.sendToSync("to IPv4", v4.addr);
  const { data, address } = v4.receiveFromSync({ timeout: HANG_MS });
  assert.equal(new TextDecoder().decode(data), "to IPv4");
  assert.equal((address as { hostname: string }).hostname, "127.0.0.1");
  // IPv6 only: the kernel refuses, naming the address as given.
  const only = s.handle(datagram({ hostname: "::", port: 0, ipv6Only: true }));
  const { port } = v4.addr as { port: number };
  assert.throws(() => only.sendToSync("x", v4.addr), (e) => {
    const { code, syscall, address } = e as Error & Record<string, unknown>;
    assert.ok(e instanceof Deno.errors.NetworkUnreachable, String(e));
    assert.deepEqual({ code, syscall, address }, {
      code: "ENETUNREACH",
      syscall: "sendto",
      address: `127.0.0.1:${port}`,
    });
    return true;
  });
});

Deno.test("receiveFromInto across processes: a datagram lands in the caller's buffer, with its sender", async (t) => {
  await t.step(
    "async: a wait in epoll, then the child's datagram; the answer goes back",
    async () => {
      await using s = new TestScope();
      const mine = s.handle(datagram({ abstract: abstractName("parent") }));
      const buf = new Uint8Array(16).fill(0xee);
      const pending = mine.receiveFromInto(buf, { timeout: HANG_MS });
      await waitedOn(mine.fd, EPOLLIN);
      const theirs = { abstract: abstractName("child") };
      const { child, lines } = peer(s, [
        "dgram",
        JSON.stringify(theirs),
        JSON.stringify(mine.addr),
      ]);
      await lines.expect({ addr: { transport: "unix", ...theirs } });
      const { size, address } = await s.check(() => pending);
      assert.equal(size, 4);
      assert.equal(text(buf.subarray(0, 4)), "ping");
      assert.deepEqual(buf.subarray(4), new Uint8Array(12).fill(0xee), "the rest untouched");
      assert.deepEqual(address, { transport: "unix", ...theirs });
      await mine.sendTo("pong", address);
      await lines.expect({ reply: "pong", from: mine.addr });
      await child.exits(0);
    },
  );
  await t.step(
    "sync: the child waits in recvfrom; a datagram too long is reported, not cut",
    async () => {
      await using s = new TestScope();
      const theirs = { hostname: "127.0.0.1", port: 0 };
      const { child, lines } = peer(s, ["dgram-into", JSON.stringify(theirs), "3"]);
      const { addr } = await lines.next("the child's address") as { addr: SocketAddress };
      const mine = s.handle(datagram({ hostname: "127.0.0.1", port: 0 }));
      await blockedIn(child.pid, { syscall: "recvfrom" });
      mine.sendToSync("hello", addr);
      await lines.expect({ received: "hello", size: 5, from: mine.addr });
      mine.sendToSync("twenty bytes of text", addr);
      await lines.expect({ code: "EMSGSIZE", messageSize: 20, first: "twenty b" });
      mine.sendToSync("", addr); // the long one was taken: the next is the empty one
      await lines.expect({ received: "", size: 0, from: mine.addr });
      await child.exits(0);
    },
  );
});

Deno.test("receiveFromInto: every form, and the errors of each", async () => {
  using s = new TestScope();
  const a = s.handle(datagram({ abstract: abstractName("a") }));
  const b = s.handle(datagram({ abstract: abstractName("b") }));
  const unbound = s.handle(datagram());
  const buf = new Uint8Array(4);
  a.sendToSync("one", b.addr);
  unbound.sendToSync("two", b.addr);
  a.sendToSync("three", b.addr);
  a.sendToSync("six", b.addr);
  assert.deepEqual(b.tryReceiveFromInto(buf), { size: 3, address: a.addr });
  assert.equal(text(buf.subarray(0, 3)), "one");
  assert.deepEqual(b.receiveFromIntoSync(buf), { size: 3, address: UNNAMED });
  const tooLong = systemError(IpcError, "EMSGSIZE", "recvfrom");
  await assert.rejects(b.receiveFromInto(buf), (e) => {
    tooLong(e);
    assert.equal((e as { messageSize: number }).messageSize, 5);
    return true;
  });
  assert.equal(text(buf), "thre");
  assert.deepEqual(await b.receiveFromInto(buf.subarray(1)), { size: 3, address: a.addr });
  assert.equal(text(buf), "tsix", "the view's own bytes, from its offset");
  assert.throws(
    () => b.tryReceiveFromInto(buf),
    systemError(Deno.errors.WouldBlock, "EAGAIN", "recvfrom"),
  );
  // Bad buffers are refused before any call; nothing is taken.
  a.sendToSync("kept", b.addr);
  const detached = new Uint8Array(new ArrayBuffer(4));
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  for (const bad of [undefined, "text", new Uint16Array(4), detached]) {
    assert.throws(() => b.tryReceiveFromInto(bad as never), TypeError);
    assert.throws(() => b.receiveFromIntoSync(bad as never), TypeError);
    await assert.rejects(b.receiveFromInto(bad as never), TypeError);
  }
  assert.deepEqual(b.receiveFromIntoSync(buf), { size: 4, address: a.addr });
  assert.equal(text(buf), "kept");
  assert.throws(() => b.receiveFromIntoSync(buf, { timeout: 20 }), {
    name: "TimedOut",
    code: "ETIMEDOUT",
  });
  await assert.rejects(b.receiveFromInto(buf, { timeout: 20 }), {
    name: "TimedOut",
    code: "ETIMEDOUT",
  });
  const fd = b.fd;
  const pending = b.receiveFromInto(buf);
  await waitedOn(fd, EPOLLIN);
  b.close();
  await assert.rejects(pending, systemError(Deno.errors.BadResource, "EBADF", "recvfrom", { fd }));
});
