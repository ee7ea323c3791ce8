import assert from "node:assert/strict";
import { errorFromCode } from "../src/errors.ts";
import { IpcError, MessageQueue, pipe, PosixMessageQueue, RecordLocks } from "../mod.ts";
import { evalInChild, MOD_URL, TestScope } from "./_kernel.ts";
import { ERRNO } from "../ffi/platform.ts";

Deno.test("errors: a kernel refusal becomes Deno's class where one fits, else IpcError", async (t) => {
  const cases: Array<[string, new (...args: never[]) => Error]> = [
    ["ENOENT", Deno.errors.NotFound],
    ["EEXIST", Deno.errors.AlreadyExists],
    ["EACCES", Deno.errors.PermissionDenied],
    ["EPERM", Deno.errors.PermissionDenied],
    ["EAGAIN", Deno.errors.WouldBlock],
    ["ETIMEDOUT", Deno.errors.TimedOut],
    ["EINTR", Deno.errors.Interrupted],
    ["EPIPE", Deno.errors.BrokenPipe],
    ["EBADF", Deno.errors.BadResource],
    ["EADDRINUSE", Deno.errors.AddrInUse],
    ["ECONNREFUSED", Deno.errors.ConnectionRefused],
    ["EINVAL", IpcError],
    ["EIDRM", IpcError],
    ["E2BIG", IpcError],
    ["ENXIO", IpcError],
  ];
  for (const [code, Class] of cases) {
    await t.step(`${code} → ${Class.name}`, () => {
      const e = errorFromCode(ERRNO[code], "msgrcv", { path: "/x" });
      assert.ok(e instanceof Class);
      assert.equal(e.code, code);
      assert.equal(e.errno, ERRNO[code]);
      assert.equal(e.syscall, "msgrcv");
      assert.equal(e.path, "/x");
      assert.match(e.message, new RegExp(`\\(os error ${ERRNO[code]}\\): msgrcv '/x'$`));
    });
  }
  await t.step("the message names the fd or pid when there is no path", () => {
    assert.match(errorFromCode(ERRNO.EBADF, "read", { fd: 7 }).message, /: read fd 7$/);
    assert.match(errorFromCode(ERRNO.ESRCH, "kill", { pid: 42 }).message, /: kill pid 42$/);
  });
  await t.step("IpcError carries the object it concerns as typed fields", () => {
    const e = errorFromCode(ERRNO.EIDRM, "msgrcv", { id: 7 });
    assert.ok(e instanceof IpcError);
    assert.equal(e.id, 7);
    const k = errorFromCode(ERRNO.EINVAL, "msgget", { key: 0x41 });
    assert.ok(k instanceof IpcError);
    assert.equal(k.key, 0x41);
    assert.match(k.message, /: msgget key 0x00000041$/);
  });
  await t.step("IpcError is an Error with a name of its own", () => {
    const e = errorFromCode(ERRNO.EINVAL, "semop");
    assert.ok(e instanceof Error);
    assert.equal(e.name, "IpcError");
    assert.match(e.message, /^Invalid argument \(os error 22\): semop$/);
  });
});

Deno.test("an error's stack reaches the line that called the library, sync and async", async () => {
  // Ten frames of the library's own came first, and a timeout was made in Deno's timer code.
  const q = MessageQueue.open("private");
  const { writer, reader } = pipe();
  try {
    q.sendSync("hello");
    const stackOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as Error).stack ?? "";
      }
      assert.fail("no error");
    };
    for (
      const f of [
        () => q.tryReceive({ maxSize: 1 }),
        () => PosixMessageQueue.open("/no-such"),
        () => RecordLocks.open("/no-such-dir/lock"),
      ]
    ) {
      const stack = stackOf(f);
      assert.ok(stack.includes(import.meta.url), stack);
    }
    reader.close();
    assert.ok(stackOf(() => writer.tryWrite("x")).includes(import.meta.url));
    try {
      await q.receive({ type: 9, timeout: 1 });
      assert.fail("no timeout");
    } catch (e) {
      assert.ok(e instanceof Deno.errors.TimedOut);
      // `at async <caller>` where the timer ended it; the caller's own frame where the
      // deadline had passed before the wait began (a slow machine: the first check ends it).
      assert.ok(e.stack?.includes(import.meta.url), e.stack);
    }
  } finally {
    writer.close();
    q.remove();
  }
});

Deno.test("with Error frozen (hardened setups), errors are still the library's and close() works", async () => {
  // Setting a frozen Error's stackTraceLimit threw: every error became that TypeError, and a
  // close() with a read pending threw it half-way, leaving the fd open and the read pending.
  await using s = new TestScope();
  const lockFile = `${await s.tempDir()}/lock`;
  await evalInChild(
    s,
    `
    import assert from "node:assert/strict";
    import { pipe, PosixMessageQueue, RecordLocks } from "${MOD_URL}";
    const { reader, writer } = pipe();
    Object.freeze(Error);
    assert.throws(() => PosixMessageQueue.open("/no-such-queue"), { code: "ENOENT" });
    const pending = reader.read(new Uint8Array(1));
    reader.close();
    await assert.rejects(pending, { name: "BadResource", code: "EBADF" });
    writer.close();
    // A lock wait, and the close() of its handle (which releases its locks first).
    assert.throws(() => RecordLocks.open("${lockFile}-none"), { code: "ENOENT" });
    using holder = RecordLocks.open("${lockFile}", { create: true });
    holder.tryLock();
    const locks = RecordLocks.open("${lockFile}");
    assert.throws(() => locks.tryLock(), { name: "WouldBlock", code: "EAGAIN" });
    const waiting = locks.lock();
    locks.close();
    await assert.rejects(waiting, { name: "BadResource", code: "EBADF" });
    assert.throws(() => locks.tryLock(), { name: "BadResource", code: "EBADF" });
    `,
  );
});
