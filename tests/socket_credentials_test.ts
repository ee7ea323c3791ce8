import assert from "node:assert/strict";
import {
  connect,
  type Connection,
  connectSync,
  datagram,
  DatagramSocket,
  listen,
  Listener,
  type ListenOptions,
  type PeerCredentials,
  socketpair,
} from "../mod.ts";
import {
  dupInheritable,
  evalInChild,
  existsSync,
  type Fixture,
  HANG_MS,
  hasCapability,
  MOD_URL,
  TestScope,
} from "./_kernel.ts";
import { copiesOf, Lines, peer } from "./fixtures/socket_common.ts";

const CAP_SETGID = 6;
const CAP_SETUID = 7;
/** The user and group the stranger runs as: nobody. */
const NOBODY = 65534;
/** This process's user and group (Linux: never null). */
const UID = Deno.uid()!;
const GID = Deno.gid()!;
const me = (): PeerCredentials => ({ pid: Deno.pid, uid: UID, gid: GID });

/** A unique abstract name for this run. */
function abstractName(tag: string): string {
  return `libc-ipc-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}-${tag}`;
}

/**
 * Starts tests/fixtures/socket_fds_credentials.ts: it connects to `target`,
 * as user `uid` (and group) when given, and reports on its stdout.
 */
function client(
  s: TestScope,
  uid: number | undefined,
  type: string,
  target: object,
): { child: Fixture; lines: Lines } {
  const out = s.pipe();
  const child = s.fixture("socket_fds_credentials.ts", {
    args: [uid === undefined ? "-" : String(uid), type, JSON.stringify(target)],
    fds: { 1: out.writer },
  });
  out.writer.close();
  return { child, lines: new Lines(out.reader, child) };
}

/** Sends `words` as a message, or as bytes on a stream. */
function say(conn: Connection, words: string): void {
  if (conn.type === "stream") conn.writeSync(words);
  else conn.sendSync(words);
}

Deno.test("peerCredentials(): both ends of a socketpair report the process that made it", async (t) => {
  for (const type of ["stream", "seqpacket", "datagram"] as const) {
    await t.step(type, () => {
      using s = new TestScope();
      const [a, b] = s.handle(socketpair(type));
      assert.deepEqual(a.peerCredentials(), me());
      assert.deepEqual(b.peerCredentials(), me());
    });
  }

  await t.step("even once one end is a child's", async () => {
    await using s = new TestScope();
    const [a, b] = s.handle(socketpair());
    const { child, lines } = peer(s, ["hold"], { 3: b });
    b.close();
    await lines.expect("holding");
    // The kernel recorded who made the pair, not who holds the other end now.
    assert.deepEqual(a.peerCredentials(), me());
    assert.notEqual(child.pid, Deno.pid);
  });
});

Deno.test("peerCredentials(): each end of a connection names the process at the other", async (t) => {
  for (const type of ["stream", "seqpacket"] as const) {
    await t.step(`${type}, with a child`, async () => {
      await using s = new TestScope();
      const target = { path: `${await s.tempDir()}/server.sock` };
      const listener = s.handle(listen({ ...target, type }));
      const { child, lines } = client(s, undefined, type, target);
      const conn = s.handle(await listener.accept({ timeout: HANG_MS }));
      assert.deepEqual(conn.peerCredentials(), { pid: child.pid, uid: UID, gid: GID });
      // The child sees this process at its end.
      await lines.expect({ connected: true, pid: child.pid, uid: -1, peer: me() });
      say(conn, "bye");
      conn.close();
      await lines.expect({ got: "bye" });
      await lines.expect({ ended: "eof" });
      await child.exits(0);
    });
  }

  await t.step("within this process, on an abstract name", () => {
    using s = new TestScope();
    const name = abstractName("creds");
    const listener = s.handle(listen({ abstract: name, type: "seqpacket" }));
    const c = s.handle(connectSync({ abstract: name, type: "seqpacket" }));
    const server = s.handle(listener.tryAccept());
    assert.deepEqual(server.peerCredentials(), me());
    assert.deepEqual(c.peerCredentials(), me());
    server.close();
    assert.throws(() => server.peerCredentials(), Deno.errors.BadResource);
  });

  await t.step("TCP and connected datagram sockets have none: TypeError", async () => {
    await using s = new TestScope();
    const listener = s.handle(listen({ port: 0 }));
    const { port } = listener.addr as { port: number };
    const c = s.handle(await connect({ port, timeout: HANG_MS }));
    s.handle(await listener.accept({ timeout: HANG_MS }));
    assert.throws(() => c.peerCredentials(), TypeError);
    // The kernel records no credentials on a datagram connect: never a made-up pid 0.
    const name = abstractName("dgram");
    s.handle(datagram({ abstract: name }));
    const d = s.handle(connectSync({ abstract: name, type: "datagram" }));
    assert.throws(() => d.peerCredentials(), /recorded no credentials/);
  });
});

const CAP_SYS_ADMIN = 21;
const canUnsharePid = hasCapability(CAP_SYS_ADMIN) && existsSync("/usr/bin/unshare");

Deno.test({
  name: "peerCredentials(): a peer outside this PID namespace has pid 0, and its ids",
  ignore: !canUnsharePid,
  fn: async () => {
    // As C's getsockopt gives it (a daemon in a container, its clients outside): the kernel
    // recorded credentials, but the pid means nothing here. It threw "recorded no credentials".
    await using s = new TestScope();
    const name = abstractName("pidns");
    const listener = s.handle(listen({ abstract: name }));
    const inChild = evalInChild(
      s,
      `
      import assert from "node:assert/strict";
      import { connectSync } from "${MOD_URL}";
      using c = connectSync({ abstract: ${JSON.stringify(name)} });
      assert.deepEqual(c.peerCredentials(), { pid: 0, uid: ${UID}, gid: ${GID} });
      `,
      ["/usr/bin/unshare", "--pid", "--fork"],
    );
    const conn = s.handle(await listener.accept({ timeout: HANG_MS }));
    await inChild;
    const { pid, uid, gid } = conn.peerCredentials();
    assert.ok(pid > 0 && pid !== Deno.pid, `the child, seen from here: ${pid}`);
    assert.deepEqual([uid, gid], [UID, GID]);
  },
});

const canSwitchUser = UID === 0 && hasCapability(CAP_SETUID) && hasCapability(CAP_SETGID);
if (!canSwitchUser) {
  console.log("allowUids across users: skipped, it needs root (CAP_SETUID, CAP_SETGID)");
}

Deno.test({
  name: "allowUids: a peer of a user not allowed is closed at once, and never accepted",
  ignore: !canSwitchUser,
  fn: async (t) => {
    const cases = [
      { type: "stream", where: "path", allow: "same" },
      { type: "seqpacket", where: "path", allow: "same" },
      { type: "stream", where: "abstract", allow: "same" },
      { type: "seqpacket", where: "abstract", allow: [NOBODY] },
    ] as const;
    for (const { type, where, allow } of cases) {
      const label = `${type} on ${where}, allowUids: ${JSON.stringify(allow)}`;
      await t.step(label, async () => {
        await using s = new TestScope();
        let target: { path: string } | { abstract: string };
        let options: ListenOptions;
        if (where === "path") {
          // Reachable by any user: the directory searchable, the socket file writable.
          const dir = await s.tempDir();
          Deno.chmodSync(dir, 0o755);
          target = { path: `${dir}/server.sock` };
          options = { ...target, mode: 0o666 };
        } else {
          target = { abstract: abstractName("uids") };
          options = { ...target };
        }
        const refused: PeerCredentials[] = [];
        const listener = s.handle(listen({
          ...options,
          type,
          allowUids: allow,
          onRefused: (p: PeerCredentials) => refused.push(p),
        }));
        // The stranger runs as nobody when this user is allowed, as this user when nobody is.
        const strangerUid = allow === "same" ? NOBODY : undefined;
        const friendUid = allow === "same" ? undefined : NOBODY;
        const stranger = client(s, strangerUid, type, target);
        await stranger.lines.expect({
          connected: true,
          pid: stranger.child.pid,
          uid: strangerUid ?? -1,
          peer: me(),
        });
        const friend = client(s, friendUid, type, target);
        await friend.lines.expect({
          connected: true,
          pid: friend.child.pid,
          uid: friendUid ?? -1,
          peer: me(),
        });
        // Both wait in the backlog, the stranger first: accept returns the friend.
        const conn = s.handle(await listener.accept({ timeout: HANG_MS }));
        const ids = (uid: number | undefined) => uid ?? UID;
        const gids = (uid: number | undefined) => uid ?? GID;
        assert.deepEqual(conn.peerCredentials(), {
          pid: friend.child.pid,
          uid: ids(friendUid),
          gid: gids(friendUid),
        });
        assert.deepEqual(refused, [{
          pid: stranger.child.pid,
          uid: ids(strangerUid),
          gid: gids(strangerUid),
        }]);
        // The stranger's connection was closed: it reads its end.
        const ended = await stranger.lines.next("the stranger's end") as { ended?: string };
        assert.ok(ended.ended === "eof" || ended.ended === "reset", JSON.stringify(ended));
        await stranger.child.exits(0);
        say(conn, "welcome");
        conn.close();
        await friend.lines.expect({ got: "welcome" });
        await friend.lines.expect({ ended: "eof" });
        await friend.child.exits(0);
        assert.throws(() => listener.tryAccept(), Deno.errors.WouldBlock);
      });
    }
  },
});

Deno.test("allowUids on an adopted listener: refused connections are closed, accept goes on", () => {
  using s = new TestScope();
  const name = abstractName("adopted");
  const original = s.handle(listen({ abstract: name }));
  const refused: PeerCredentials[] = [];
  // No process runs as that user: every connection is refused.
  const other = UID === 54321 ? 54322 : 54321;
  const listener = s.handle(
    Listener.fromFd(dupInheritable(original.fd), {
      allowUids: [other],
      onRefused: (p) => refused.push(p),
    }),
  );
  const c1 = s.handle(connectSync({ abstract: name }));
  const c2 = s.handle(connectSync({ abstract: name }));
  assert.throws(() => listener.tryAccept(), Deno.errors.WouldBlock);
  assert.deepEqual(refused, [me(), me()]);
  // Both were closed by the listener: each client reads its end.
  assert.equal(c1.tryRead(new Uint8Array(1)), null);
  assert.equal(c2.tryRead(new Uint8Array(1)), null);
  // What onRefused throws rejects the accept; the connection is closed all the same.
  const failing = s.handle(
    Listener.fromFd(dupInheritable(original.fd), {
      allowUids: [other],
      onRefused: () => {
        throw new Error("logged");
      },
    }),
  );
  const c3 = s.handle(connectSync({ abstract: name }));
  assert.throws(() => failing.tryAccept(), /logged/);
  assert.equal(c3.tryRead(new Uint8Array(1)), null);
  // "same": this process's user, recorded on the listening socket: accepted.
  const same = s.handle(Listener.fromFd(dupInheritable(original.fd), { allowUids: "same" }));
  const c4 = s.handle(connectSync({ abstract: name }));
  const accepted = s.handle(same.tryAccept());
  assert.deepEqual(accepted.peerCredentials(), me());
  say(c4, "x");
  assert.equal(accepted.tryRead(new Uint8Array(1)), 1);
});

Deno.test("allowUids and onRefused: bad options are refused before any call", () => {
  using s = new TestScope();
  const name = abstractName("bad");
  const bad: Array<[Record<string, unknown>, new (...args: never[]) => Error]> = [
    [{ allowUids: [] }, RangeError],
    [{ allowUids: [-1] }, RangeError],
    [{ allowUids: [1.5] }, RangeError],
    [{ allowUids: [2 ** 32] }, RangeError],
    [{ allowUids: ["0"] }, TypeError],
    [{ allowUids: "others" }, TypeError],
    [{ allowUids: 0 }, TypeError],
    [{ allowUids: "same", onRefused: "log" }, TypeError],
    [{ onRefused: () => {} }, TypeError],
  ];
  // A listening socket to adopt: only the options are wrong.
  const listening = s.fd(dupInheritable(s.handle(listen({ abstract: abstractName("other") })).fd));
  for (const [extra, Class] of bad) {
    assert.throws(
      () => listen({ abstract: name, ...extra } as ListenOptions),
      Class,
      JSON.stringify(extra),
    );
    assert.throws(() => Listener.fromFd(listening, extra), Class, JSON.stringify(extra));
  }
  assert.throws(() => Listener.fromFd(listening, 7 as never), TypeError);
  // Nothing was made: the name is free.
  s.handle(listen({ abstract: name })).close();
  // TCP listeners take no uids.
  assert.throws(() => listen({ port: 0, allowUids: "same" } as ListenOptions), TypeError);
  const tcp = s.handle(listen({ port: 0 }));
  const fd = dupInheritable(tcp.fd);
  assert.throws(() => Listener.fromFd(fd, { allowUids: "same" }), TypeError);
  s.handle(Listener.fromFd(fd));
});

/** Sends `text` to `target` from a child (as user `uid` when given); resolves to what it said. */
async function sendFromChild(
  s: TestScope,
  uid: number | undefined,
  target: object,
  text: string,
): Promise<{ pid: number; uid: number; gid: number }> {
  const out = s.pipe();
  const child = s.fixture("datagram_sender.ts", {
    args: [uid === undefined ? "-" : String(uid), JSON.stringify(target), text],
    flags: ["--allow-ffi", "--allow-sys=uid,gid"],
    fds: { 1: out.writer },
  });
  out.writer.close();
  const said = await new Lines(out.reader, child).next("what it sent") as Record<string, unknown>;
  await child.exits(0);
  assert.equal(said.sent, true, JSON.stringify(said));
  return { pid: said.pid as number, uid: said.uid as number, gid: said.gid as number };
}

Deno.test("datagram({ credentials }): each datagram brings its sender's pid, uid and gid", async (t) => {
  await t.step("from this process, in every form of receive", async () => {
    await using s = new TestScope();
    const server = s.handle(datagram({ abstract: abstractName("cred"), credentials: true }));
    const client = s.handle(datagram());
    for (let i = 0; i < 5; i++) client.sendToSync(`m${i}`, server.addr);
    const buf = new Uint8Array(8);
    const got = [
      await server.receiveFrom(),
      server.receiveFromSync(),
      server.tryReceiveFrom(),
      await server.receiveFromInto(buf),
      server.tryReceiveFromInto(buf),
    ];
    for (const d of got) assert.deepEqual(d.credentials, me());
  });

  await t.step("the sender's address comes too, and a datagram too long is said so", async () => {
    await using s = new TestScope();
    const server = s.handle(datagram({ abstract: abstractName("addr"), credentials: true }));
    const dir = await s.tempDir("libc-ipc-cred-");
    const senders = [
      s.handle(datagram()),
      s.handle(datagram({ abstract: abstractName("sender") })),
      s.handle(datagram({ path: s.path(`${dir}/sender.sock`) })),
    ];
    for (const sender of senders) {
      sender.sendToSync("who", server.addr);
      const d = server.tryReceiveFrom();
      assert.deepEqual([d.address, d.credentials], [sender.addr, me()]);
    }
    senders[0].sendToSync("ten bytes!", server.addr);
    assert.throws(
      () => server.tryReceiveFromInto(new Uint8Array(4)),
      (e: unknown) => (e as { messageSize?: number }).messageSize === 10,
    );
  });

  await t.step("from other processes, and from another user", async () => {
    await using s = new TestScope();
    // An abstract name: any user may send to it, nobody too.
    const server = s.handle(datagram({ abstract: abstractName("users"), credentials: true }));
    const users = canSwitchUser ? [undefined, NOBODY] : [undefined];
    for (const uid of users) {
      const sender = await sendFromChild(s, uid, server.addr, `from ${uid ?? "me"}`);
      const d = server.tryReceiveFrom();
      assert.equal(new TextDecoder().decode(d.data), `from ${uid ?? "me"}`);
      assert.deepEqual(d.credentials, sender);
      assert.equal(d.credentials!.uid, uid ?? UID);
    }
  });

  await t.step(
    "a socket adopted with fromFd keeps them; one without the option has none",
    async () => {
      await using s = new TestScope();
      const name = abstractName("adopt");
      const made = s.handle(datagram({ abstract: name, credentials: true }));
      const adopted = s.handle(DatagramSocket.fromFd(dupInheritable(made.fd)));
      const plain = s.handle(datagram({ abstract: abstractName("plain") }));
      const client = s.handle(datagram());
      client.sendToSync("a", adopted.addr);
      client.sendToSync("p", plain.addr);
      assert.deepEqual(adopted.tryReceiveFrom().credentials, me());
      assert.equal("credentials" in plain.tryReceiveFrom(), false);
    },
  );

  await t.step("descriptors sent along are closed, never installed", async () => {
    await using s = new TestScope();
    const name = abstractName("fds");
    const server = s.handle(datagram({ abstract: name, credentials: true }));
    const conn = s.handle(await connect({ abstract: name, type: "datagram" }));
    const p = s.pipe();
    const copies = copiesOf(p.writer.fd);
    const before = copies();
    conn.sendFds([p.writer], "with an fd");
    const d = server.tryReceiveFrom();
    assert.equal(new TextDecoder().decode(d.data), "with an fd");
    assert.deepEqual(d.credentials, me());
    assert.equal(copies(), before);
  });

  await t.step("refused before any call where it does not apply", () => {
    const any = (x: unknown) => x as never;
    assert.throws(() => datagram(any({ port: 0, credentials: true })), /credentials/);
    assert.throws(() => datagram(any({ credentials: true })), /credentials/);
    assert.throws(
      () => datagram({ abstract: abstractName("bad"), credentials: any("yes") }),
      TypeError,
    );
  });
});
