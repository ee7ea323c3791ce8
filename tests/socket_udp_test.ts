/**
 * UDP beyond `sendTo`/`receiveFrom`: connected UDP sockets (`connect` with
 * `type: "datagram"`) and broadcast (`broadcast: true`), on the loopback.
 */
import assert from "node:assert/strict";
import { connect, Connection, connectSync, datagram, socketpair } from "../mod.ts";
import { dupInheritable, HANG_MS, libc, systemError, TestScope } from "./_kernel.ts";

const text = (bytes: Uint8Array | null) => new TextDecoder().decode(bytes!);
/** The loopback's broadcast address: the kernel's local table has it for 127.0.0.1/8. */
const LOOPBACK_BROADCAST = "127.255.255.255";

Deno.test("connect({ hostname, port, type: 'datagram' }): a UDP socket that talks with one peer alone", async (t) => {
  for (const hostname of ["127.0.0.1", "::1"]) {
    await t.step(`over ${hostname}`, async () => {
      using s = new TestScope();
      const server = s.handle(datagram({ hostname, port: 0 }));
      const client = s.handle(
        await connect({ hostname, port: server.addr.port, type: "datagram", timeout: HANG_MS }),
      );
      assert.equal(client.type, "datagram");
      assert.deepEqual(client.remoteAddr, server.addr);
      assert.ok(client.localAddr.transport === "udp" && client.localAddr.port > 0);

      await client.send("ping");
      const got = server.receiveFromSync({ timeout: HANG_MS });
      assert.equal(text(got.data), "ping");
      assert.deepEqual(got.address, client.localAddr);

      // The kernel drops what another socket sends it: the reply sent after it comes first.
      const stranger = s.handle(datagram({ hostname, port: 0 }));
      stranger.sendToSync("noise", client.localAddr);
      server.sendToSync("reply", got.address);
      assert.equal(text(client.receiveSync({ timeout: HANG_MS })), "reply");
      assert.throws(() => client.tryReceive(), Deno.errors.WouldBlock);
    });
  }

  await t.step("a UDP address as a socket reports it connects as one, with no type", () => {
    using s = new TestScope();
    const server = s.handle(datagram({ port: 0 }));
    const client = s.handle(connectSync({ ...server.addr }));
    assert.equal(client.type, "datagram");
    client.sendSync("hi");
    assert.equal(text(server.receiveFromSync({ timeout: HANG_MS }).data), "hi");
  });
});

Deno.test("a connected UDP socket nobody answers: the ICMP refusal is ConnectionRefused", async () => {
  using s = new TestScope();
  const gone = datagram({ port: 0 });
  const { port } = gone.addr;
  gone.close();
  const client = s.handle(await connect({ port, type: "datagram" }));
  await client.send("anyone?"); // a UDP send is not refused itself: the answer comes later
  await assert.rejects(
    client.receive({ timeout: HANG_MS }),
    systemError(Deno.errors.ConnectionRefused, "ECONNREFUSED", "recv"),
  );
});

Deno.test("UDP broadcast: refused without broadcast: true, received by a socket on 0.0.0.0", async () => {
  using s = new TestScope();
  const receiver = s.handle(datagram({ hostname: "0.0.0.0", port: 0 }));
  const to = { hostname: LOOPBACK_BROADCAST, port: receiver.addr.port };

  const plain = s.handle(datagram({ port: 0 }));
  assert.throws(
    () => plain.sendToSync("x", to),
    systemError(Deno.errors.PermissionDenied, "EACCES", "sendto"),
  );
  await assert.rejects(
    connect({ ...to, type: "datagram" }),
    systemError(Deno.errors.PermissionDenied, "EACCES", "connect"),
  );

  const caster = s.handle(datagram({ port: 0, broadcast: true }));
  caster.sendToSync("to all", to);
  const got = receiver.receiveFromSync({ timeout: HANG_MS });
  assert.equal(text(got.data), "to all");
  assert.equal(got.address.port, caster.addr.port);

  const connected = s.handle(await connect({ ...to, type: "datagram", broadcast: true }));
  connected.sendSync("to all, connected");
  assert.equal(text(receiver.receiveFromSync({ timeout: HANG_MS }).data), "to all, connected");
});

Deno.test("UDP reusePort: sockets share a port, and the kernel spreads datagrams among them", () => {
  using s = new TestScope();
  const first = s.handle(datagram({ port: 0, reusePort: true }));
  const port = first.addr.port;
  const second = s.handle(datagram({ port, reusePort: true }));
  assert.throws(() => datagram({ port }), systemError(Deno.errors.AddrInUse, "EADDRINUSE", "bind"));
  // Spread by the sender's address: 32 senders reach both.
  for (let i = 0; i < 32; i++) s.handle(datagram({ port: 0 })).sendToSync(`${i}`, first.addr);
  const got = [first, second].map((socket) => {
    let n = 0;
    for (;;) {
      try {
        socket.tryReceiveFrom();
        n++;
      } catch (e) {
        if (!(e instanceof Deno.errors.WouldBlock)) throw e;
        return n;
      }
    }
  });
  assert.equal(got[0] + got[1], 32);
  assert.ok(got[0] > 0 && got[1] > 0, `got: ${got}`);
});

Deno.test("UDP options that do not apply are refused before any call", async () => {
  const refused: Array<[() => unknown, ErrorConstructor]> = [
    [() => connectSync({ port: 9, type: "datagram", noDelay: true } as never), TypeError],
    [() => connectSync({ port: 9, type: "datagram", keepAlive: true } as never), TypeError],
    [() => connectSync({ port: 9, broadcast: true } as never), TypeError],
    [() => connectSync({ path: "/nowhere.sock", broadcast: true } as never), TypeError],
    [() => connectSync({ port: 9, type: "seqpacket" } as never), TypeError],
    [() => connectSync({ port: 9, type: "datagram", broadcast: 1 as never }), TypeError],
    [() => connectSync({ transport: "udp", port: 9, type: "stream" } as never), TypeError],
    [() => connectSync({ transport: "tcp", port: 9, type: "datagram" } as never), TypeError],
    [() => connectSync({ port: 0, type: "datagram" }), RangeError],
    [() => datagram({ port: 0, broadcast: 1 as never }), TypeError],
    [() => datagram({ broadcast: true } as never), TypeError],
    [() => datagram({ abstract: "x", broadcast: true } as never), TypeError],
  ];
  for (const [call, Class] of refused) assert.throws(call, Class, String(call));
  await assert.rejects(connect({ port: 9, broadcast: true } as never), TypeError);
});

/** A datagram connection, how its peer sends to it, and that peer. */
interface Shut {
  conn: Connection;
  send(data: string): void;
  peer: Disposable;
}

Deno.test("a datagram connection shut for reading: what was queued, then the end, in every form", async (t) => {
  const kinds: Array<[string, () => Shut]> = [
    ["UDP", () => {
      const peer = datagram({ port: 0 });
      const conn = connectSync({ port: peer.addr.port, type: "datagram" });
      return { conn, send: (d) => peer.sendToSync(d, conn.localAddr), peer };
    }],
    ["Unix socketpair", () => {
      const [conn, peer] = socketpair("datagram");
      return { conn, send: (d) => peer.sendSync(d), peer };
    }],
  ];
  for (const [name, make] of kinds) {
    await t.step(name, async () => {
      using s = new TestScope();
      const { conn, send, peer } = make();
      s.handle(conn);
      s.handle(peer);
      const pending = conn.receive({ timeout: HANG_MS });
      send("queued");
      assert.equal(text(await pending), "queued");
      send("before");
      conn.shutdown("read");
      // It was queued before: still taken. Then nothing is left: the end, at once.
      assert.equal(text(conn.receiveSync({ timeout: HANG_MS })), "before");
      assert.equal(conn.tryReceive(), null);
      assert.equal(conn.receiveSync({ timeout: HANG_MS }), null);
      assert.equal(await conn.receive({ timeout: HANG_MS }), null);
      assert.equal(await conn.receiveInto(new Uint8Array(8), { timeout: HANG_MS }), null);
      const seen: string[] = [];
      for await (const m of conn) seen.push(text(m));
      assert.deepEqual(seen, []);
    });
  }

  for (const [name, make] of kinds) {
    await t.step(
      `${name}, shut through another handle of the socket (another process's)`,
      async () => {
        using s = new TestScope();
        const { conn, peer } = make();
        s.handle(conn);
        s.handle(peer);
        // Another handle of the same socket: what a child handed it would have.
        const other = s.handle(Connection.fromFd(dupInheritable(conn.fd)));
        const pending = conn.receive({ timeout: HANG_MS });
        other.shutdown("read");
        assert.equal(await pending, null);
        assert.equal(conn.receiveSync({ timeout: HANG_MS }), null);
      },
    );
  }

  await t.step("a receive pending when the socket is shut for reading ends", async () => {
    using s = new TestScope();
    const [a, b] = socketpair("datagram");
    s.handle(a);
    s.handle(b);
    const pending = a.receive({ timeout: HANG_MS });
    a.shutdown("read");
    assert.equal(await pending, null);
  });
});

Deno.test("a connected UDP socket with an error queued (IP_RECVERR) is not taken for one shut", async () => {
  using s = new TestScope();
  const gone = datagram({ port: 0 });
  const { port } = gone.addr;
  gone.close();
  const conn = s.handle(connectSync({ port, type: "datagram" }));
  const SOL_IP = 0;
  const IP_RECVERR = 11;
  const on = new Uint8Array(new Int32Array([1]).buffer);
  assert.equal(libc.setsockopt(conn.fd, SOL_IP, IP_RECVERR, on, 4), 0);
  conn.sendSync("anyone?");
  await assert.rejects(conn.receive({ timeout: HANG_MS }), Deno.errors.ConnectionRefused);
  // The ICMP error stays in the socket's error queue: poll(2) reports POLLERR from now on,
  // which is no shut-down. Empty receives in a row, past the few after which it looks:
  for (let i = 0; i < 8; i++) assert.throws(() => conn.tryReceive(), Deno.errors.WouldBlock);
  const peer = s.handle(datagram({ port }));
  peer.sendToSync("hello", conn.localAddr);
  assert.equal(text(await conn.receive({ timeout: HANG_MS })), "hello");
});
