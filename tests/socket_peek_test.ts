/**
 * Peeking (`MSG_PEEK`): `Connection.peek`/`peekSync`/`tryPeek` and
 * `DatagramSocket.peekFrom`/`peekFromSync`/`tryPeekFrom` copy what the next
 * receive would take and leave it there, on every kind of socket, with data
 * from this process and from a child.
 */
import assert from "node:assert/strict";
import { connect, datagram, listen, socketpair } from "../mod.ts";
import { HANG_MS, TestScope } from "./_kernel.ts";
import { copiesOf, pattern, peer } from "./fixtures/socket_common.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A unique abstract name for this run. */
function abstractName(tag: string): string {
  return `libc-ipc-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}-${tag}`;
}

Deno.test("Connection.peek on a stream: the bytes stay for the next read, in every form", async (t) => {
  await t.step("Unix socketpair: async, sync and try forms see the same bytes", async () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    a.writeSync("abcdef");
    const two = new Uint8Array(2);
    assert.equal(await b.peek(two), 2);
    assert.equal(text(two), "ab");
    const all = new Uint8Array(16);
    assert.equal(b.peekSync(all), 6);
    assert.equal(b.tryPeek(all), 6);
    assert.equal(text(all.subarray(0, 6)), "abcdef");
    const got = new Uint8Array(16);
    assert.equal(b.readSync(got), 6);
    assert.equal(text(got.subarray(0, 6)), "abcdef");
    assert.throws(() => b.tryPeek(all), Deno.errors.WouldBlock);
  });

  await t.step("TCP: peeking takes nothing (MSG_TRUNC would have discarded it)", async () => {
    await using s = new TestScope();
    const listener = s.handle(listen({ hostname: "127.0.0.1", port: 0 }));
    const client = s.handle(await connect({ ...listener.addr, timeout: HANG_MS }));
    const server = s.handle(await listener.accept({ timeout: HANG_MS }));
    client.writeSync("hello");
    const buf = new Uint8Array(5);
    // TCP may deliver the bytes in parts: peek until all five are there.
    while ((await server.peek(buf, { timeout: HANG_MS })) !== 5);
    assert.equal(text(buf), "hello");
    const got = new Uint8Array(5);
    assert.equal(server.readSync(got), 5);
    assert.equal(text(got), "hello");
  });

  await t.step("a pending peek wakes with a child's bytes, which a read then takes", async () => {
    await using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    const first = new Uint8Array(8);
    const peeked = a.peek(first, { timeout: HANG_MS });
    const { child, lines } = peer(s, ["flood", "4096"], { 3: b });
    b.close();
    const n = await child.check(() => peeked);
    assert.ok(n !== null && n >= 1 && n <= 8, `peeked ${n}`);
    const sent = pattern(4096, 7);
    assert.deepEqual(first.subarray(0, n!), sent.subarray(0, n!));
    await lines.expect({ written: 4096 });
    const got = new Uint8Array(4096);
    let at = 0;
    while (at < got.length) at += a.readSync(got.subarray(at))!;
    assert.deepEqual(got, sent);
    await child.exits(0);
  });

  await t.step("end of stream: null in every form", async () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    a.close();
    const buf = new Uint8Array(4);
    assert.equal(await b.peek(buf), null);
    assert.equal(b.peekSync(buf), null);
    assert.equal(b.tryPeek(buf), null);
  });

  await t.step("an empty buffer is a RangeError: it could not tell data from the end", async () => {
    using s = new TestScope();
    const [, b] = s.handle(socketpair());
    await assert.rejects(b.peek(new Uint8Array(0)), RangeError);
    assert.throws(() => b.peekSync(new Uint8Array(0)), RangeError);
    assert.throws(() => b.tryPeek(new Uint8Array(0)), RangeError);
  });
});

Deno.test("Connection.peek on messages: the whole size, the message left whole", async (t) => {
  for (const type of ["seqpacket", "datagram"] as const) {
    await t.step(
      `${type}: an empty buffer asks the size; a short one holds the first bytes`,
      async () => {
        using s = new TestScope();
        const [a, b] = s.handle(socketpair(type));
        a.sendSync("twelve bytes");
        a.sendSync("next");
        assert.equal(await b.peek(new Uint8Array(0)), 12);
        const three = new Uint8Array(3);
        assert.equal(b.peekSync(three), 12);
        assert.equal(text(three), "twe");
        assert.equal(b.tryPeek(new Uint8Array(64)), 12);
        assert.equal(text(b.receiveSync()!), "twelve bytes");
        assert.equal(b.tryPeek(new Uint8Array(0)), 4);
        assert.equal(text(b.receiveSync()!), "next");
        assert.throws(() => b.tryPeek(new Uint8Array(4)), Deno.errors.WouldBlock);
      },
    );
  }

  await t.step("seqpacket: null at end of stream", async () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair("seqpacket"));
    a.close();
    assert.equal(await b.peek(new Uint8Array(4)), null);
    assert.equal(b.tryPeek(new Uint8Array(4)), null);
  });

  await t.step('datagram: null after shutdown("read"), once the queued ones are taken', () => {
    using s = new TestScope();
    const [a, b] = s.handle(socketpair("datagram"));
    a.sendSync("queued");
    b.shutdown("read");
    assert.equal(b.tryPeek(new Uint8Array(0)), 6);
    assert.equal(text(b.receiveSync()!), "queued");
    assert.equal(b.peekSync(new Uint8Array(4)), null);
  });
});

Deno.test("peek: waits end by timeout, abort and close, each with its error", async (t) => {
  await t.step("Connection", async () => {
    using s = new TestScope();
    const [, b] = s.handle(socketpair());
    const buf = new Uint8Array(4);
    await assert.rejects(b.peek(buf, { timeout: 5 }), { name: "TimedOut", code: "ETIMEDOUT" });
    assert.throws(() => b.peekSync(buf, { timeout: 5 }), { name: "TimedOut", code: "ETIMEDOUT" });
    const ac = new AbortController();
    const aborted = b.peek(buf, { signal: ac.signal });
    const reason = new Error("stop");
    ac.abort(reason);
    await assert.rejects(aborted, (e) => e === reason);
    const pending = b.peek(buf);
    b.close();
    await assert.rejects(pending, { name: "BadResource", code: "EBADF" });
    assert.throws(() => b.tryPeek(buf), Deno.errors.BadResource);
  });

  await t.step("DatagramSocket", async () => {
    using s = new TestScope();
    const socket = s.handle(datagram({ abstract: abstractName("peek-wait") }));
    const buf = new Uint8Array(4);
    await assert.rejects(socket.peekFrom(buf, { timeout: 5 }), { code: "ETIMEDOUT" });
    assert.throws(() => socket.peekFromSync(buf, { timeout: 5 }), { code: "ETIMEDOUT" });
    const pending = socket.peekFrom(buf);
    socket.close();
    await assert.rejects(pending, { name: "BadResource", code: "EBADF" });
    assert.throws(() => socket.tryPeekFrom(buf), Deno.errors.BadResource);
  });

  await t.step("bad buffers are TypeErrors before any call", async () => {
    using s = new TestScope();
    const [, b] = s.handle(socketpair());
    const socket = s.handle(datagram({ port: 0 }));
    const any = (x: unknown) => x as never;
    await assert.rejects(b.peek(any("text")), TypeError);
    assert.throws(() => socket.tryPeekFrom(any([1, 2])), TypeError);
    const buffer = new ArrayBuffer(8);
    const detached = new Uint8Array(buffer);
    buffer.transfer();
    await assert.rejects(socket.peekFrom(detached), TypeError);
  });
});

Deno.test("DatagramSocket.peekFrom: the size and sender of the next datagram, left queued", async (t) => {
  await t.step("UDP, every form", async () => {
    using s = new TestScope();
    const server = s.handle(datagram({ hostname: "127.0.0.1", port: 0 }));
    const client = s.handle(datagram({ hostname: "127.0.0.1", port: 0 }));
    client.sendToSync("of any length", server.addr);
    assert.deepEqual(await server.peekFrom(new Uint8Array(0)), {
      size: 13,
      address: client.addr,
    });
    const two = new Uint8Array(2);
    assert.equal(server.peekFromSync(two).size, 13);
    assert.equal(text(two), "of");
    assert.deepEqual(server.tryPeekFrom(new Uint8Array(64)).address, client.addr);
    const d = server.tryReceiveFrom();
    assert.equal(text(d.data), "of any length");
    assert.throws(() => server.tryPeekFrom(two), Deno.errors.WouldBlock);
  });

  await t.step(
    "a pending peek wakes with a child's datagram, which a receive then takes",
    async () => {
      await using s = new TestScope();
      const server = s.handle(datagram({ abstract: abstractName("peek-child") }));
      const peeked = server.peekFrom(new Uint8Array(0), { timeout: HANG_MS });
      const { child, lines } = peer(s, ["dgram", "{}", JSON.stringify(server.addr)]);
      const info = await child.check(() => peeked);
      assert.equal(info.size, 4);
      const d = server.receiveFromSync();
      assert.equal(text(d.data), "ping");
      assert.deepEqual(d.address, info.address);
      await lines.expect({ addr: d.address });
      await child.exits(0);
    },
  );

  await t.step(
    "with credentials: the peek brings them too, and leaks no descriptor sent along",
    async () => {
      await using s = new TestScope();
      const name = abstractName("peek-creds");
      const server = s.handle(datagram({ abstract: name, credentials: true }));
      const conn = s.handle(await connect({ abstract: name, type: "datagram" }));
      const p = s.pipe();
      const copies = copiesOf(p.writer.fd);
      const before = copies();
      conn.sendFds([p.writer], "with an fd");
      const me = { pid: Deno.pid, uid: Deno.uid(), gid: Deno.gid() };
      for (let i = 0; i < 3; i++) {
        // Each peek has the kernel install fresh copies of the descriptors: all closed.
        assert.deepEqual(server.tryPeekFrom(new Uint8Array(0)).credentials, me);
      }
      assert.equal(copies(), before);
      const d = server.tryReceiveFrom();
      assert.equal(text(d.data), "with an fd");
      assert.deepEqual(d.credentials, me);
      assert.equal(copies(), before);
    },
  );

  await t.step(
    "without credentials: a datagram's descriptors are never installed by a peek",
    async () => {
      await using s = new TestScope();
      const name = abstractName("peek-fds");
      const server = s.handle(datagram({ abstract: name }));
      const conn = s.handle(await connect({ abstract: name, type: "datagram" }));
      const p = s.pipe();
      const copies = copiesOf(p.writer.fd);
      const before = copies();
      conn.sendFds([p.writer], "fd");
      assert.equal(server.tryPeekFrom(new Uint8Array(8)).size, 2);
      assert.equal(copies(), before);
      assert.equal(text(server.tryReceiveFrom().data), "fd");
      assert.equal(copies(), before);
    },
  );
});
