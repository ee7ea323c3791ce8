// SocketHandle.bufferSizes / setBufferSizes on every kind of socket handle:
// what the kernel then has (asked of it directly), what it lets through
// (a datagram longer than the send buffer), its ceilings, what a listener
// passes on, and what is refused before the call.
import assert from "node:assert/strict";
import { C } from "../ffi/platform.ts";
import { connect, datagram, IpcError, listen, type SocketHandle, socketpair } from "../mod.ts";
import { errno, hasCapability, libc, procSysInt, systemError, TestScope } from "./_kernel.ts";

const CAP_NET_ADMIN = 12;

/** An int socket option, asked of the kernel without the library. */
function option(fd: number, name: number): number {
  const value = new Int32Array(1);
  const length = new Uint32Array([4]);
  const r = libc.getsockopt(
    fd,
    C.SOL_SOCKET,
    name,
    new Uint8Array(value.buffer),
    new Uint8Array(length.buffer),
  );
  if (r !== 0) throw new Error(`getsockopt fd ${fd}: errno ${errno()}`);
  return value[0];
}

/** The sizes of `socket` as the kernel has them. */
function kernelSizes(socket: SocketHandle): { send: number; receive: number } {
  return { send: option(socket.fd, C.SO_SNDBUF), receive: option(socket.fd, C.SO_RCVBUF) };
}

Deno.test("socket buffer sizes", async (t) => {
  await t.step("every kind of handle reports what the kernel has", async () => {
    await using s = new TestScope();
    const [a, b] = socketpair("datagram").map((e) => s.handle(e));
    const listener = s.handle(listen({ hostname: "127.0.0.1", port: 0 }));
    const udp = s.handle(datagram({ hostname: "127.0.0.1", port: 0 }));
    for (const socket of [a, b, listener, udp]) {
      assert.deepEqual(socket.bufferSizes(), kernelSizes(socket));
    }
    a.setBufferSizes({ receive: 100_000 });
    assert.deepEqual(a.bufferSizes(), kernelSizes(a));
    assert.equal(a.bufferSizes().receive, 200_000, "Linux doubles what is asked");
  });

  await t.step(
    "a Unix datagram longer than the send buffer goes once the buffer is raised",
    async () => {
      await using s = new TestScope();
      const [a, b] = socketpair("datagram").map((e) => s.handle(e));
      const big = new Uint8Array(Math.max(a.bufferSizes().send, 64 * 1024) + 1).fill(7);
      assert.throws(
        () => a.trySend(big),
        systemError(IpcError, "EMSGSIZE", "send", "setBufferSizes({ send }) raises"),
      );
      // Linux caps what is asked at net.core.wmem_max, then doubles it; a datagram may take
      // all of it but 32 bytes.
      const asked = Math.min(big.length + 4096, procSysInt("net/core/wmem_max"));
      assert.ok(2 * asked - 32 >= big.length, "net.core.wmem_max is too low for this test");
      const sizes = a.setBufferSizes({ send: asked });
      assert.equal(sizes.send, 2 * asked);
      assert.deepEqual(sizes, kernelSizes(a));
      a.trySend(big);
      const got = b.tryReceive();
      assert.equal(got?.length, big.length);
      assert.ok(got.every((x) => x === 7));
      // Not so over UDP, whose datagrams have a bound of their own: no such advice there.
      const udp = s.handle(datagram({ hostname: "127.0.0.1", port: 0 }));
      assert.throws(
        () => udp.trySendTo(new Uint8Array(70_000), udp.addr),
        (e: unknown) =>
          e instanceof IpcError && (e as { code?: string }).code === "EMSGSIZE" &&
          !e.message.includes("setBufferSizes"),
      );
    },
  );

  await t.step("sizes are capped at the system's ceilings, unless forced", async () => {
    await using s = new TestScope();
    const [a] = socketpair("stream").map((e) => s.handle(e));
    const wmem = procSysInt("net/core/wmem_max");
    const rmem = procSysInt("net/core/rmem_max");
    const past = Math.min(Math.max(wmem, rmem) * 2, 2 ** 29);
    assert.deepEqual(a.setBufferSizes({ send: past, receive: past }), {
      send: 2 * Math.min(past, wmem),
      receive: 2 * Math.min(past, rmem),
    });
    if (hasCapability(CAP_NET_ADMIN)) {
      assert.deepEqual(a.setBufferSizes({ send: past, receive: past, force: true }), {
        send: 2 * past,
        receive: 2 * past,
      });
    } else {
      assert.throws(
        () => a.setBufferSizes({ send: past, force: true }),
        systemError(Deno.errors.PermissionDenied, "EPERM", "setsockopt"),
      );
      assert.throws(() => a.setBufferSizes({ send: past, force: true }), /CAP_NET_ADMIN/);
    }
    assert.deepEqual(a.bufferSizes(), kernelSizes(a));
  });

  await t.step(
    "a TCP listener's sizes pass to what it accepts; a Unix listener's do not",
    async () => {
      await using s = new TestScope();
      const tcp = s.handle(listen({ hostname: "127.0.0.1", port: 0 }));
      const path = s.path("sizes.sock");
      const unix = s.handle(listen({ path }));
      for (const listener of [tcp, unix]) listener.setBufferSizes({ receive: 150_000 });
      const addr = tcp.addr as { hostname: string; port: number };
      const client = s.handle(await connect({ hostname: addr.hostname, port: addr.port }));
      void client;
      const fromTcp = s.handle(await tcp.accept());
      assert.equal(fromTcp.bufferSizes().receive, 300_000);
      const unixClient = s.handle(await connect({ path }));
      void unixClient;
      const fromUnix = s.handle(await unix.accept());
      assert.notEqual(fromUnix.bufferSizes().receive, 300_000);
      assert.deepEqual(fromUnix.bufferSizes(), kernelSizes(fromUnix));
    },
  );

  await t.step(
    "bad sizes are refused before any call; a closed socket is BadResource",
    async () => {
      await using s = new TestScope();
      const [a, b] = socketpair("seqpacket").map((e) => s.handle(e));
      const before = kernelSizes(a);
      const any = (x: unknown) => x as never;
      for (const bad of [undefined, {}, { force: true }]) {
        assert.throws(() => a.setBufferSizes(any(bad)), /give send, receive or both/);
      }
      assert.throws(() => a.setBufferSizes(any(null)), TypeError);
      assert.throws(() => a.setBufferSizes(any({ sned: 1 })), /unknown option 'sned'/);
      assert.throws(() => a.setBufferSizes(any({ send: "1" })), TypeError);
      assert.throws(() => a.setBufferSizes(any({ send: 1, force: "yes" })), TypeError);
      for (const bad of [-1, 1.5, NaN, 2 ** 31]) {
        assert.throws(() => a.setBufferSizes({ receive: bad }), RangeError, String(bad));
      }
      assert.deepEqual(kernelSizes(a), before, "nothing was set");
      b.close();
      for (const call of [() => b.bufferSizes(), () => b.setBufferSizes({ send: 1 })]) {
        assert.throws(call, Deno.errors.BadResource);
      }
      // The arguments are checked first, as every other call does.
      assert.throws(() => b.setBufferSizes(any({ send: -1 })), RangeError);
      assert.throws(() => b.setBufferSizes(any(null)), TypeError);
    },
  );
});
