import assert from "node:assert/strict";
import {
  connect,
  type Connection,
  connectSync,
  IpcError,
  listen,
  type NetAddress,
} from "../mod.ts";
import { parseHostname } from "../src/socket/_address.ts";
import { evalInChild, HANG_MS, MOD_URL, systemError, TestScope, until } from "./_kernel.ts";
import {
  connectingTo,
  pattern,
  peer,
  readBytes,
  sha256,
  tcpOptions,
} from "./fixtures/socket_common.ts";

function netAddr(addr: unknown): NetAddress {
  const a = addr as NetAddress;
  assert.equal(a.transport, "tcp");
  return a;
}

for (const loopback of ["127.0.0.1", "::1"]) {
  Deno.test(`TCP over ${loopback}: port 0, and a child connects (connect, connectSync)`, async (t) => {
    for (const form of ["async", "sync"] as const) {
      await t.step(`the child connects ${form}; accept in the ${form} form`, async () => {
        await using s = new TestScope();
        const listener = s.handle(listen({ hostname: loopback, port: 0 }));
        const addr = netAddr(listener.addr);
        assert.equal(addr.hostname, loopback);
        assert.ok(addr.port > 0, "the kernel chose a port");
        const { child, lines } = peer(s, [
          "client",
          "stream",
          form,
          JSON.stringify({ hostname: loopback, port: addr.port }),
        ]);
        const conn = s.handle(form === "sync" ? listener.acceptSync() : await listener.accept());
        const { local, remote } = await lines.next("addresses") as Record<string, NetAddress>;
        assert.deepEqual(remote, addr);
        assert.deepEqual(conn.remoteAddr, local, "each side sees the other's address");
        assert.deepEqual(conn.localAddr, addr);
        assert.equal(local.hostname, loopback);
        await lines.expect("sent");
        assert.equal(await readBytes(conn, 11), "onetwothree");
        await conn.write("ONETWOTHREE");
        conn.shutdown("write");
        await lines.expect({ reply: ["ONETWOTHREE"] });
        await child.exits(0);
      });
    }
    await t.step("connect to a child's listener on port 0", async () => {
      await using s = new TestScope();
      const { child, lines } = peer(s, [
        "server",
        "stream",
        JSON.stringify({ hostname: loopback, port: 0 }),
      ]);
      const { addr } = await lines.next("the address") as { addr: NetAddress };
      assert.equal(addr.hostname, loopback);
      const conn = s.handle(connectSync({ hostname: addr.hostname, port: addr.port }));
      assert.deepEqual(conn.remoteAddr, addr);
      const { remote } = await lines.next("the accepted address") as { remote: NetAddress };
      assert.deepEqual(remote, conn.localAddr);
      conn.writeSync("onetwothree");
      assert.equal(await readBytes(conn, 11), "ONETWOTHREE");
      await child.exits(0);
      assert.equal(await conn.read(new Uint8Array(1)), null);
    });
  });
}

Deno.test("TCP: 10 MiB through a child's echo, with the Web Streams", async () => {
  await using s = new TestScope();
  const listener = s.handle(listen({ port: 0 }));
  const { port } = netAddr(listener.addr);
  const client = s.handle(await connect({ port }));
  const server = s.handle(await listener.accept());
  const { child, lines } = peer(s, ["echo"], { 3: server });
  server.close();
  const data = pattern(10 << 20, 11);
  const chunks = Array.from({ length: 160 }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
  const [, echoed] = await s.check(() =>
    Promise.all([
      ReadableStream.from(chunks).pipeTo(client.writable),
      new Response(client.readable).arrayBuffer(),
    ])
  );
  assert.equal(await sha256(new Uint8Array(echoed)), await sha256(data));
  await lines.expect("done");
  await child.exits(0);
});

/**
 * Waits until no socket of this host connects to `port` (each closed one gone).
 * The kernel ends a closed socket when its file's last reference goes, and
 * another test module of this process reading /proc/self/fd may hold one for
 * a moment after our close(2).
 */
function noneConnecting(port: number): Promise<boolean> {
  return until(() => connectingTo(port) === 0, `no connect to port ${port} left behind`);
}

Deno.test("TCP: a refused connect names the address and port", async (t) => {
  for (const hostname of ["127.0.0.1", "::1"]) {
    await t.step(hostname, async () => {
      const free = listen({ hostname, port: 0 });
      const { port } = netAddr(free.addr);
      free.close(); // nobody listens there now
      const address = hostname === "::1" ? `[::1]:${port}` : `${hostname}:${port}`;
      const refused = systemError(Deno.errors.ConnectionRefused, "ECONNREFUSED", "connect", {
        address,
      });
      await assert.rejects(connect({ hostname, port }), refused);
      assert.throws(() => connectSync({ hostname, port }), refused);
      await assert.rejects(connect({ hostname, port }), (e: Error) => e.message.includes(address));
      await noneConnecting(port);
    });
  }
});

Deno.test("TCP: timeout 0 connects over loopback, where the handshake is over when connect(2) returns", async (t) => {
  for (const hostname of ["127.0.0.1", "::1"]) {
    await t.step(hostname, async () => {
      await using s = new TestScope();
      const listener = s.handle(listen({ hostname, port: 0 }));
      const { port } = netAddr(listener.addr);
      // The kernel may finish a handshake later at times (softirq work deferred to a thread):
      // one success in a few tries shows it; a connect that never looks again never succeeds.
      const tries = async (make: () => Promise<Connection>): Promise<Connection> => {
        for (let i = 0; i < 5; i++) {
          try {
            return s.handle(await make());
          } catch (e) {
            if (!(e instanceof Deno.errors.TimedOut)) throw e;
          }
        }
        return assert.fail(`timeout 0 never connected to ${hostname}`);
      };
      const a = await tries(() => connect({ hostname, port, timeout: 0 }));
      assert.deepEqual(a.remoteAddr, listener.addr);
      const b = await tries(() => Promise.resolve(connectSync({ hostname, port, timeout: 0 })));
      assert.deepEqual(b.remoteAddr, listener.addr);
    });
  }
});

Deno.test("TCP: a connect that the listener never completes times out, or is aborted, and is abandoned", async (t) => {
  // A listener with backlog 0 holds one connection waiting to be accepted; it
  // drops the handshakes of the next ones, which stay under way (SYN_SENT).
  await using s = new TestScope();
  const listener = s.handle(listen({ port: 0, backlog: 0 }));
  const { port } = netAddr(listener.addr);
  s.handle(connectSync({ port }));
  const address = `127.0.0.1:${port}`;
  const timedOut = systemError(Deno.errors.TimedOut, "ETIMEDOUT", "connect", { address });
  await t.step("connect with a timeout", async () => {
    await assert.rejects(connect({ port, timeout: 30 }), timedOut);
    await noneConnecting(port);
  });
  await t.step("connectSync with a timeout", async () => {
    assert.throws(() => connectSync({ port, timeout: 30 }), timedOut);
    await noneConnecting(port);
  });
  await t.step("timeout 0", async () => {
    await assert.rejects(connect({ port, timeout: 0 }), timedOut);
    assert.throws(() => connectSync({ port, timeout: 0 }), timedOut);
    await noneConnecting(port);
  });
  await t.step("connect aborted by its signal", async () => {
    const ac = new AbortController();
    const pending = connect({ port, signal: ac.signal });
    const outcome = pending.then(() => "connected", (e) => e);
    await until(() => connectingTo(port) === 1, "the handshake under way");
    ac.abort(new Error("no longer wanted"));
    assert.match(String(await outcome), /no longer wanted/);
    await noneConnecting(port);
  });
  await t.step("once the backlog has room, a waiting connect completes", async () => {
    const pending = connect({ port, timeout: HANG_MS });
    await until(() => connectingTo(port) === 1, "the handshake under way");
    s.handle(listener.acceptSync()); // the first one: room for the next (its SYN is sent again)
    const conn = s.handle(await pending);
    assert.deepEqual(conn.remoteAddr, listener.addr);
  });
});

Deno.test("TCP: noDelay and keepAlive, as the kernel has them", async () => {
  await using s = new TestScope();
  const listener = s.handle(listen({ hostname: "::1", port: 0 }));
  const { port } = netAddr(listener.addr);
  const plain = s.handle(await connect({ hostname: "::1", port }));
  assert.deepEqual(tcpOptions(plain.fd), { noDelay: false, keepAlive: false });
  const tuned = s.handle(connectSync({ hostname: "::1", port, noDelay: true, keepAlive: true }));
  assert.deepEqual(tcpOptions(tuned.fd), { noDelay: true, keepAlive: true });
  tuned.setNoDelay(false);
  tuned.setKeepAlive(false);
  assert.deepEqual(tcpOptions(tuned.fd), { noDelay: false, keepAlive: false });
  const accepted = s.handle(listener.acceptSync());
  accepted.setNoDelay();
  accepted.setKeepAlive();
  assert.deepEqual(tcpOptions(accepted.fd), { noDelay: true, keepAlive: true });
  assert.throws(() => accepted.setNoDelay("yes" as unknown as boolean), TypeError);
});

Deno.test("TCP listen: options checked before any call; taken ports; IPv6 only", async (t) => {
  await t.step("bad options", async () => {
    assert.throws(() => listen({ port: 70000 }), RangeError);
    assert.throws(() => listen({ port: -1 }), RangeError);
    assert.throws(() => listen({ port: 1.5 }), RangeError);
    assert.throws(() => listen({ hostname: "example.com", port: 0 }), TypeError);
    assert.throws(() => listen({ port: 0, type: "seqpacket" } as never), TypeError);
    assert.throws(() => listen({ port: 0, mode: 0o600 } as never), TypeError);
    assert.throws(() => listen({ port: 0, ipv6Only: true }), TypeError);
    assert.throws(() => listen({ port: 0, backlog: -1 }), RangeError);
    assert.throws(() => listen({ port: 0, backlog: "5" as never }), TypeError);
    assert.throws(() => listen({} as never), TypeError);
    await assert.rejects(connect({ port: 0 }), RangeError);
    await assert.rejects(connect({ hostname: "localhost.localdomain", port: 80 }), TypeError);
    await assert.rejects(connect({ port: 80, timeout: -1 }), RangeError);
    await assert.rejects(connect({ port: 80, type: "seqpacket" } as never), TypeError);
    // What would be ignored is refused: an option of Deno.listen's this has not, a transport
    // that is not TCP, null for "none".
    assert.throws(
      () => listen({ port: 0, tcpBacklog: 5 } as never),
      /listen options: unknown option 'tcpBacklog'/,
    );
    assert.throws(() => listen({ path: "/tmp/x.sock", reusePort: true } as never), /reusePort/);
    assert.throws(() => listen({ port: 0, reusePort: "yes" as never }), TypeError);
    assert.throws(
      () => listen({ port: 0, transport: "udp" } as never),
      /the transport given \("udp"/,
    );
    assert.throws(() => listen({ hostname: null, port: 0 } as never), /got null/);
    await assert.rejects(connect({ port: 80, localAddress: "127.0.0.2" } as never), TypeError);
    assert.throws(() => connectSync({ port: 80, reuseAddress: true } as never), TypeError);
  });
  await t.step("an address object given whole, transport and all", async () => {
    using s = new TestScope();
    const listener = s.handle(listen({ port: 0 }));
    s.handle(await connect(listener.addr as never));
    s.handle(listener.acceptSync());
  });
  await t.step("a port in use is AddrInUse, naming it", () => {
    using s = new TestScope();
    const first = s.handle(listen({ port: 0 }));
    const { port } = netAddr(first.addr);
    assert.throws(
      () => listen({ port }),
      systemError(Deno.errors.AddrInUse, "EADDRINUSE", "bind", { address: `127.0.0.1:${port}` }),
    );
  });
  await t.step("an address that is not this machine's is AddrNotAvailable", () => {
    // 203.0.113.0/24 is TEST-NET-3, documentation only: no interface has it.
    assert.throws(
      () => listen({ hostname: "203.0.113.1", port: 0 }),
      systemError(Deno.errors.AddrNotAvailable, "EADDRNOTAVAIL", "bind"),
    );
  });
  await t.step("dual stack by default on '::'; ipv6Only refuses IPv4 clients", async () => {
    using s = new TestScope();
    const dual = s.handle(listen({ hostname: "::", port: 0 }));
    const { port } = netAddr(dual.addr);
    s.handle(await connect({ port }));
    const accepted = s.handle(await dual.accept());
    assert.equal(netAddr(accepted.remoteAddr).hostname, "::ffff:127.0.0.1");
    const only = s.handle(listen({ hostname: "::", port: 0, ipv6Only: true }));
    const v6port = netAddr(only.addr).port;
    await assert.rejects(connect({ port: v6port }), Deno.errors.ConnectionRefused);
    s.handle(await connect({ hostname: "::1", port: v6port }));
  });
  await t.step(
    "reuseAddress (default): a port with a connection in TIME_WAIT binds again",
    async () => {
      using s = new TestScope();
      const first = listen({ port: 0 });
      const { port } = netAddr(first.addr);
      const client = await connect({ port });
      const server = first.acceptSync();
      // The side that closes first keeps the port in TIME_WAIT.
      server.close();
      first.close();
      client.close();
      assert.throws(() => listen({ port, reuseAddress: false }), Deno.errors.AddrInUse);
      s.handle(listen({ port }));
    },
  );
});

Deno.test("TCP reusePort: listeners of this process and another share a port, each taking connections", async () => {
  await using s = new TestScope();
  const first = s.handle(listen({ port: 0, reusePort: true }));
  const { port } = first.addr as NetAddress;
  const second = s.handle(listen({ port, reusePort: true }));
  // Every socket on the port must ask: one that does not is refused.
  assert.throws(() => listen({ port }), systemError(Deno.errors.AddrInUse, "EADDRINUSE", "bind"));
  // Another process of this user may join, as a server of one process per CPU does.
  await evalInChild(
    s,
    `import { listen } from ${JSON.stringify(MOD_URL)};
    listen({ port: ${port}, reusePort: true }).close();`,
  );
  // The kernel spreads connections by their addresses: 32 of them reach both listeners.
  const clients = [];
  for (let i = 0; i < 32; i++) clients.push(s.handle(await connect({ port })));
  const taken = [0, 0];
  for (const [i, listener] of [first, second].entries()) {
    for (;;) {
      try {
        s.handle(listener.tryAccept());
        taken[i]++;
      } catch (e) {
        if (!(e instanceof Deno.errors.WouldBlock)) throw e;
        break;
      }
    }
  }
  assert.equal(taken[0] + taken[1], clients.length);
  assert.ok(taken[0] > 0 && taken[1] > 0, `taken: ${taken}`);
});

Deno.test("IP literals: parsed strictly, written as RFC 5952 says", () => {
  const canonical = (h: string) => parseHostname(h).text;
  for (
    const [given, written] of [
      ["127.0.0.1", "127.0.0.1"],
      ["localhost", "127.0.0.1"],
      ["0.0.0.0", "0.0.0.0"],
      ["::", "::"],
      ["::1", "::1"],
      ["[::1]", "::1"],
      ["0:0:0:0:0:0:0:1", "::1"],
      ["2001:DB8:0:0:0:0:2:1", "2001:db8::2:1"],
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
      ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
      ["2001:db8::1:0:0:1", "2001:db8::1:0:0:1"],
      ["fe80::1%2", "fe80::1%2"],
      ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
      ["::ffff:c000:0201", "::ffff:192.0.2.1"],
      ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
    ]
  ) {
    assert.equal(canonical(given), written, given);
    // WHATWG URL serialises IPv6 the RFC 5952 way too (bar the dotted IPv4 tail): an oracle.
    if (written.includes(":") && !written.includes("%") && !written.startsWith("::ffff:")) {
      assert.equal(new URL(`http://[${given.replace(/^\[|\]$/g, "")}]/`).hostname, `[${written}]`);
    }
  }
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.0.0.1",
      "01.2.3.4",
      "1.2.3.4 ",
      ":::",
      "1::2::3",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7::8:9",
      "::1%",
      "::1%a/b",
      "::1%a b",
      "::1%..",
      "::1%abcdefghijklmnop",
      "1.2.3.4%lo",
      "::1.2.3",
      "example.com",
      "[::1",
    ]
  ) {
    assert.throws(() => parseHostname(bad), TypeError, JSON.stringify(bad));
  }
});

Deno.test("IPv6 zones name a network interface, looked up; an unknown one is ENODEV", async () => {
  const lo = Number(Deno.readTextFileSync("/sys/class/net/lo/ifindex"));
  assert.deepEqual([parseHostname("fe80::1%lo").scope, parseHostname("fe80::1%lo").text], [
    lo,
    "fe80::1%lo",
  ]);
  assert.equal(parseHostname("[FE80::1%lo]").text, "fe80::1%lo");
  assert.throws(
    () => connectSync({ hostname: "fe80::1%no-such-if0", port: 9 }),
    systemError(IpcError, "ENODEV", "if_nametoindex", { address: "fe80::1%no-such-if0" }),
  );
  // The kernel takes a zone on any address, and uses it for link-local ones alone.
  await using s = new TestScope();
  const listener = s.handle(listen({ hostname: "::1%lo", port: 0 }));
  const { port } = netAddr(listener.addr);
  const client = s.handle(await connect({ hostname: "::1%lo", port }));
  assert.equal(netAddr(client.remoteAddr).port, port);
});
