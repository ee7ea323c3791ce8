// How sockets wait: the library's sockets that move data keep a blocking
// description, every call that must not wait passes MSG_DONTWAIT, and the sync
// forms wait inside the receive or send itself (a Unix connection's receives:
// in poll(2)), or in poll(2) on a description another process made non-blocking.
import assert from "node:assert/strict";
import {
  Connection,
  connectSync,
  datagram,
  listen,
  Listener,
  type NetAddress,
  socketpair,
} from "../mod.ts";
import {
  blockedIn,
  closeFd,
  dupInheritable,
  HANG_MS,
  isNonBlocking,
  procSysInt,
  setNonBlocking,
  TestScope,
} from "./_kernel.ts";
import { pattern, peer, sha256 } from "./fixtures/socket_common.ts";
import { interruptible } from "../src/_wait/mod.ts";

/** Both ends of a TCP connection on 127.0.0.1. */
function tcpPair(s: TestScope): [Connection, Connection] {
  using listener = listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as NetAddress;
  const client = s.handle(connectSync({ hostname: "127.0.0.1", port }));
  return [client, s.handle(listener.acceptSync({ timeout: 10_000 }))];
}

Deno.test("the library's sockets block; listeners do not; every non-waiting form still returns at once", async (t) => {
  await using s = new TestScope();
  const [a, b] = s.handle(socketpair("seqpacket"));
  const [client, server] = tcpPair(s);
  const dgram = s.handle(datagram());
  const listener = s.handle(listen({ hostname: "127.0.0.1", port: 0 }));
  await t.step("descriptions", () => {
    for (const c of [a, b, client, server, dgram]) assert.equal(isNonBlocking(c.fd), false);
    assert.equal(isNonBlocking(listener.fd), true);
  });
  await t.step("try forms throw WouldBlock, async forms stay pending", async () => {
    assert.throws(() => a.tryReceive(), Deno.errors.WouldBlock);
    assert.throws(() => server.tryRead(new Uint8Array(4)), Deno.errors.WouldBlock);
    assert.throws(() => dgram.tryReceiveFrom(), Deno.errors.WouldBlock);
    const pending = server.read(new Uint8Array(4), { timeout: HANG_MS });
    client.writeSync("ping");
    assert.equal(await pending, 4);
  });
});

Deno.test("fromFd leaves O_NONBLOCK of a connection's or a listener's description as it is", () => {
  using s = new TestScope();
  const [a] = s.handle(socketpair());
  for (const nonBlocking of [false, true]) {
    setNonBlocking(a.fd, nonBlocking);
    const copy = dupInheritable(a.fd);
    using adopted = Connection.fromFd(copy);
    assert.equal(isNonBlocking(adopted.fd), nonBlocking);
    assert.equal(isNonBlocking(a.fd), nonBlocking);
  }
  const listener = s.handle(listen({ hostname: "127.0.0.1", port: 0 }));
  setNonBlocking(listener.fd, false);
  const copy = dupInheritable(listener.fd);
  let adopted: Listener;
  try {
    adopted = Listener.fromFd(copy);
  } catch (e) {
    closeFd(copy);
    throw e;
  }
  using _adopted = adopted; // closes the copy, whatever fails below
  // A C process sharing it accepts blocking: the flag is its too. Where no alarm could end
  // an accept that waits, the library has to set it.
  assert.equal(isNonBlocking(adopted.fd), !interruptible(performance.now() + 1));
  assert.equal(isNonBlocking(listener.fd), isNonBlocking(adopted.fd));
  // It accepts, without waiting when nothing is queued.
  assert.throws(() => adopted.tryAccept(), Deno.errors.WouldBlock);
  using client = connectSync(listener.addr as NetAddress);
  using server = adopted.acceptSync({ timeout: HANG_MS });
  client.writeSync("x");
  assert.equal(server.readSync(new Uint8Array(1)), 1);
});

Deno.test("a TCP sync receive waits in recvfrom, and in poll(2) once another process made the description non-blocking", async () => {
  await using s = new TestScope();
  const [mine, theirs] = tcpPair(s);
  const { child, lines } = peer(s, ["relay", "2"], { 3: theirs });
  await blockedIn(child.pid, { syscall: "recvfrom", arg0: 3 });
  // The description is the child's too: its next wait finds it non-blocking. The
  // call it sleeps in now took its flags on entry, and wakes with the message.
  setNonBlocking(theirs.fd, true);
  theirs.close();
  mine.writeSync("one");
  await lines.expect({ received: "one" });
  await blockedIn(child.pid, { syscall: "poll" });
  mine.writeSync("two");
  await lines.expect({ received: "two" });
  await child.exits(0);
});

Deno.test("a Unix connection's sync receive waits in poll(2)", async (t) => {
  for (const type of ["stream", "seqpacket", "datagram"] as const) {
    await t.step(type, async () => {
      await using s = new TestScope();
      const [mine, theirs] = s.handle(socketpair(type));
      const { child, lines } = peer(s, ["relay", "2"], { 3: theirs });
      theirs.close();
      const send = (text: string) =>
        mine.type === "stream" ? mine.writeSync(text) : mine.sendSync(text);
      for (const text of ["one", "two"]) {
        await blockedIn(child.pid, { syscall: "poll" });
        send(text);
        await lines.expect({ received: text });
      }
      await child.exits(0);
    });
  }
});

Deno.test("a sync write waits in sendto while the socket is full, and sends all once the peer reads", async () => {
  await using s = new TestScope();
  const [mine, theirs] = s.handle(socketpair());
  const size = 4 << 20;
  const { child, lines } = peer(s, ["flood", String(size)], { 3: theirs });
  theirs.close();
  await blockedIn(child.pid, { syscall: "sendto", arg0: 3 });
  const got = new Uint8Array(size);
  let n = 0;
  while (n < size) {
    const r = await s.check(() => mine.read(got.subarray(n), { timeout: HANG_MS }));
    assert.notEqual(r, null, `end of stream after ${n} bytes`);
    n += r!;
  }
  await lines.expect({ written: size });
  assert.equal(await sha256(got), await sha256(pattern(size, 7)));
  await child.exits(0);
});

Deno.test("a sync sendTo waits in sendto while the receiver's queue is full, and loses nothing", async () => {
  await using s = new TestScope();
  const receiver = s.handle(datagram({ abstract: `libc-ipc-test-${Deno.pid}-flood` }));
  const count = procSysInt("net/unix/max_dgram_qlen") + 50;
  const { child, lines } = peer(s, ["dgram-flood", JSON.stringify(receiver.addr), String(count)]);
  await blockedIn(child.pid, { syscall: "sendto" });
  const got: string[] = [];
  while (got.length < count) {
    const { data } = await s.check(() => receiver.receiveFrom({ timeout: HANG_MS }));
    got.push(new TextDecoder().decode(data));
  }
  assert.deepEqual(got, Array.from({ length: count }, (_, i) => String(i)));
  await lines.expect({ sent: count });
  await child.exits(0);
});

Deno.test("sync forms that wait in the call end at their timeout", () => {
  using s = new TestScope();
  const [client, server] = tcpPair(s);
  const [a, b] = s.handle(socketpair("seqpacket"));
  const [c] = s.handle(socketpair("datagram"));
  const timedOut = { name: "TimedOut", code: "ETIMEDOUT" };
  assert.throws(() => server.readSync(new Uint8Array(4), { timeout: 20 }), timedOut);
  assert.throws(() => a.receiveSync({ timeout: 20 }), timedOut);
  assert.throws(() => c.receiveIntoSync(new Uint8Array(4), { timeout: 20 }), timedOut);
  // Fill b's peer queue: a full seqpacket send waits in the call, and times out too.
  const big = new Uint8Array(64 * 1024);
  const sent = () => {
    try {
      b.trySend(big);
      return true;
    } catch (e) {
      if (e instanceof Deno.errors.WouldBlock) return false;
      throw e;
    }
  };
  while (sent());
  assert.throws(() => b.sendSync(big, { timeout: 20 }), timedOut);
  client.writeSync("x");
  assert.equal(server.readSync(new Uint8Array(4), { timeout: 10_000 }), 1);
});

Deno.test("a sync write's timeout ends it while the peer keeps reading", async () => {
  // Each part the interrupted send moved came back as a short count, and the next
  // send began without a look at the deadline: the write went on while the peer read.
  await using s = new TestScope();
  const [mine, theirs] = s.handle(socketpair());
  const { child, lines } = peer(s, ["drain", "1"], { 3: theirs });
  theirs.close();
  await lines.expect("draining");
  const size = 256 << 20; // seconds at the reader's pace
  let written = -1;
  assert.throws(() => mine.writeSync(new Uint8Array(size), { timeout: 5 }), (e: unknown) => {
    assert.ok(e instanceof Deno.errors.TimedOut, String(e));
    written = (e as unknown as { bytesWritten: number }).bytesWritten;
    return true;
  });
  assert.ok(written >= 0 && written < size, `bytesWritten ${written}`);
  mine.close();
  await lines.expect({ read: written });
  await child.exits(0);
});
