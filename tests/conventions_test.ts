/**
 * One convention for every handle: `x()` / `xSync()` / `tryX()`, the same
 * option names, `timeout: Infinity` and timeouts of any size, TimedOut and
 * closed-handle errors that carry their code and name their object, reads that
 * refuse detached buffers. Checked the same way on every kind of handle.
 */
import assert from "node:assert/strict";
import {
  Fifo,
  MessageQueue,
  pipe,
  PosixMessageQueue,
  spawnProgram,
  type SystemError,
} from "../mod.ts";
import { within } from "./_kernel.ts";

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
  handle: { closed: boolean; close(): void; [Symbol.asyncIterator]?: unknown };
  cleanup(): void;
}

let serial = 0;
function receivers(): Receiver[] {
  const p = pipe();
  const buf = new Uint8Array(64);
  const q = MessageQueue.open("private");
  const name = `/libc-ipc-conv-${Deno.pid}-${serial++}`;
  const pq = PosixMessageQueue.open(name, { create: true, exclusive: true, messageSize: 64 });
  return [
    {
      name: "FdReader",
      syscall: "read",
      subject: { fd: p.reader.fd },
      receive: (o) => p.reader.read(buf, o),
      receiveSync: (o) => p.reader.readSync(buf, o),
      tryReceive: () => p.reader.tryRead(buf),
      feed: () => p.writer.writeSync("x"),
      handle: p.reader,
      cleanup: () => p[Symbol.dispose](),
    },
    {
      name: "MessageQueue",
      syscall: "msgrcv",
      subject: { id: q.id },
      receive: (o) => q.receive(o),
      receiveSync: (o) => q.receiveSync(o),
      tryReceive: () => q.tryReceive(),
      feed: () => MessageQueue.fromId(q.id).sendSync("x"),
      handle: q,
      cleanup: () => MessageQueue.fromId(q.id).remove(),
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
      handle: pq,
      cleanup: () => {
        pq.close();
        PosixMessageQueue.unlink(name);
      },
    },
  ];
}

function matches(e: unknown, r: Receiver, Class: ErrorConstructor, code: string, errno: number) {
  assert.ok(e instanceof Class, `${r.name}: ${e}`);
  const info = e as SystemError;
  assert.deepEqual([info.code, info.errno, info.syscall], [code, errno, r.syscall], r.name);
  for (const [k, v] of Object.entries(r.subject)) {
    assert.equal(info[k as "fd"], v, `${r.name}.${k}`);
  }
  return true;
}

Deno.test("every receiving handle follows one convention", async (t) => {
  const all = receivers();
  try {
    await t.step(
      "x({ timeout }) and xSync({ timeout }): TimedOut, ETIMEDOUT, the operation and object",
      async () => {
        for (const r of all) {
          const Timed = Deno.errors.TimedOut as unknown as ErrorConstructor;
          await assert.rejects(
            r.receive({ timeout: 5 }),
            (e) => matches(e, r, Timed, "ETIMEDOUT", 110),
          );
          assert.throws(
            () => r.receiveSync({ timeout: 5 }),
            (e) => matches(e, r, Timed, "ETIMEDOUT", 110),
          );
          await assert.rejects(r.receive({ timeout: 0 }), Deno.errors.TimedOut);
        }
      },
    );

    await t.step("tryX(): WouldBlock with the call's errno", () => {
      for (const r of all) {
        assert.throws(() => r.tryReceive(), (e: unknown) => {
          assert.ok(e instanceof Deno.errors.WouldBlock, r.name);
          assert.equal((e as SystemError).syscall, r.syscall);
          assert.ok(["EAGAIN", "ENOMSG"].includes((e as SystemError).code), r.name);
          return true;
        });
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
            // An overflowing setTimeout would fire within a millisecond or two.
            await new Promise((res) => setTimeout(res, 10));
            assert.equal(settled, false, `${r.name} timeout ${timeout} ended early`);
            r.feed();
            await within(got, `${r.name} receive({ timeout: ${timeout} })`);
          }
          for (const timeout of [Infinity, 2 ** 31 + 5]) {
            r.feed();
            r.receiveSync({ timeout });
          }
        }
      },
    );

    await t.step("bad options: TypeError/RangeError before any wait", async () => {
      for (const r of all) {
        for (const timeout of [-1, NaN, "5" as unknown as number]) {
          await assert.rejects(r.receive({ timeout }), RangeError);
          assert.throws(() => r.receiveSync({ timeout }), RangeError);
        }
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
      "close(): pending and later operations fail with BadResource, EBADF, the object",
      async () => {
        for (const r of all) {
          const pending = [r.receive(), r.receive({ timeout: 60_000 })];
          r.handle.close();
          r.handle.close(); // twice: nothing
          assert.equal(r.handle.closed, true);
          const Bad = Deno.errors.BadResource as unknown as ErrorConstructor;
          const errors = await Promise.all(pending.map((p) => p.then(() => null, (e) => e)));
          for (const e of errors) matches(e, r, Bad, "EBADF", 9);
          assert.notEqual(errors[0], errors[1], "each wait gets an error of its own");
          await assert.rejects(r.receive(), (e) => matches(e, r, Bad, "EBADF", 9));
          assert.throws(() => r.receiveSync(), (e) => matches(e, r, Bad, "EBADF", 9));
          assert.throws(() => r.tryReceive(), (e) => matches(e, r, Bad, "EBADF", 9));
        }
      },
    );
  } finally {
    for (const r of all) r.cleanup();
  }
});

Deno.test("reads into a view of a detached buffer throw TypeError", async () => {
  using p = pipe();
  p.writer.writeSync("data");
  await assert.rejects(p.reader.read(detached()), TypeError);
  assert.throws(() => p.reader.readSync(detached()), TypeError);
  assert.throws(() => p.reader.tryRead(detached()), TypeError);
  assert.equal(p.reader.tryRead(new Uint8Array(8)), 4, "the data is still there");
  const q = MessageQueue.open("private");
  try {
    q.sendSync("m");
    await assert.rejects(q.receiveInto(detached()), TypeError);
    assert.throws(() => q.receiveIntoSync(detached()), TypeError);
    assert.throws(() => q.tryReceiveInto(detached()), TypeError);
    assert.equal(q.stat().messages, 1);
  } finally {
    q.remove();
  }
});

Deno.test("readSync({ timeout: Infinity }) blocks until a writer in another process writes", async () => {
  for (const timeout of [Infinity, 2 ** 31 + 5]) {
    using p = pipe();
    const child = spawnProgram("/bin/sh", ["-c", "sleep 0.05; printf x >&3"], {
      fds: { 3: p.writer },
    });
    p.writer.close();
    assert.equal(p.reader.readSync(new Uint8Array(8), { timeout }), 1);
    assert.ok((await child.status).success);
  }
});

Deno.test("FIFO opens: Infinity and huge timeouts wait; TimedOut names the path", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/fifo`;
    Fifo.create(path);
    await assert.rejects(Fifo.open(path, "read", { timeout: 5 }), { code: "ETIMEDOUT", path });
    for (const timeout of [Infinity, 2 ** 31 + 5]) {
      const reading = Fifo.open(path, "read", { timeout });
      await new Promise((res) => setTimeout(res, 10));
      using w = await within(Fifo.open(path, "write", { timeout }), "open for writing");
      using r = await within(reading, "open for reading");
      w.writeSync("x");
      assert.equal(r.readSync(new Uint8Array(4)), 1);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("MessageQueue.open(key) without create asks for no permission bits", async () => {
  const dir = Deno.makeTempDirSync();
  const key = MessageQueue.ftok(dir, 1);
  // Owner may read, not write: C's msgget(key, 0) opens it; asking for 0600 would be EACCES.
  const q = MessageQueue.open(key, { create: true, exclusive: true, mode: 0o400 });
  try {
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
    });
  } finally {
    q.remove();
    Deno.removeSync(dir, { recursive: true });
  }
});
