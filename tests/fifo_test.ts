import assert from "node:assert/strict";
import { FdReader, Fifo, type IpcError, pipe, spawn } from "../mod.ts";
import { openFds } from "./_helpers.ts";

const peer = new URL("./fixtures/fifo_peer.ts", import.meta.url);

/**
 * A fresh directory for FIFOs, removed (with whatever a test left) after `fn`,
 * which must leave no descriptor open on anything in it.
 */
async function inTempDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "libc-ipc-fifo-" });
  try {
    await fn(dir);
    const left = [...openFds()].filter(([, target]) => target.startsWith(`${dir}/`));
    assert.deepEqual(left, [], "descriptors left open on FIFOs");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("Fifo.create() makes an owner-only FIFO, or exactly the mode asked", async (t) => {
  await inTempDir(async (dir) => {
    await t.step("default mode 0600", () => {
      Fifo.create(`${dir}/a`);
      const st = Deno.statSync(`${dir}/a`);
      assert.ok(st.isFifo);
      assert.equal(st.mode! & 0o7777, 0o600);
    });
    await t.step("an explicit mode is not narrowed by the umask", () => {
      Fifo.create(`${dir}/b`, { mode: 0o666 });
      assert.equal(Deno.statSync(`${dir}/b`).mode! & 0o7777, 0o666);
    });
    await t.step("an existing FIFO is reused, unless exclusive", () => {
      Fifo.create(`${dir}/a`);
      assert.throws(() => Fifo.create(`${dir}/a`, { exclusive: true }), (e: unknown) => {
        assert.ok(e instanceof Deno.errors.AlreadyExists);
        assert.equal((e as IpcError).code, "EEXIST");
        assert.equal((e as IpcError).syscall, "mkfifo");
        return true;
      });
    });
    await t.step("an existing non-FIFO is a clear AlreadyExists", () => {
      Deno.writeTextFileSync(`${dir}/file`, "x");
      assert.throws(
        () => Fifo.create(`${dir}/file`),
        (e: unknown) =>
          e instanceof Deno.errors.AlreadyExists && /is a file, not a FIFO/.test(e.message),
      );
      Deno.mkdirSync(`${dir}/sub`);
      assert.throws(() => Fifo.create(`${dir}/sub`), /is a directory, not a FIFO/);
    });
    await t.step("a missing directory is NotFound naming the path", () => {
      assert.throws(() => Fifo.create(`${dir}/missing/x`), (e: unknown) => {
        assert.ok(e instanceof Deno.errors.NotFound);
        assert.equal((e as IpcError & { path: string }).path, `${dir}/missing/x`);
        return true;
      });
    });
    await t.step("file: URLs are accepted", () => {
      const url = new URL(`file://${dir}/url fifo`);
      Fifo.create(url);
      assert.ok(Deno.statSync(`${dir}/url fifo`).isFifo);
      Fifo.unlink(url);
    });
  });
});

Deno.test("Fifo bad arguments are TypeError/RangeError before any syscall", async () => {
  await inTempDir(async (dir) => {
    // deno-lint-ignore no-explicit-any
    const any = (v: unknown) => v as any;
    assert.throws(() => Fifo.create(""), TypeError);
    assert.throws(() => Fifo.create(any(42)), TypeError);
    assert.throws(() => Fifo.create(`${dir}/a\0b`), /NUL/);
    assert.throws(() => Fifo.create(`${dir}/${"x".repeat(5000)}`), RangeError);
    assert.throws(() => Fifo.create(new URL("https://example.com/x")), TypeError);
    assert.throws(() => Fifo.create(`${dir}/m`, { mode: 0o10000 }), RangeError);
    assert.throws(() => Fifo.create(`${dir}/m`, { mode: any("600") }), RangeError);
    Fifo.create(`${dir}/f`);
    await assert.rejects(Fifo.open(`${dir}/f`, any("rw")), TypeError);
    await assert.rejects(Fifo.open(`${dir}/f`, "read", { timeout: -5 }), RangeError);
    assert.throws(() => Fifo.openSync(`${dir}/f`, any(1)), TypeError);
    assert.equal([...Deno.readDirSync(dir)].length, 1, "nothing else was created");
  });
});

Deno.test("Fifo.open() waits for the other side, across processes", async (t) => {
  await inTempDir(async (dir) => {
    const path = `${dir}/fifo`;
    Fifo.create(path);
    await t.step("parent writes, child reads", async () => {
      const out = pipe();
      const child = spawn(peer, { args: ["read", path], fds: { 1: out.writer } });
      out.writer.close();
      const writer = await Fifo.open(path, "write", { timeout: 30_000 });
      await writer.write("Hello from parent process");
      writer.close();
      assert.equal(await new Response(out.reader.readable).text(), "Hello from parent process\n");
      assert.equal((await child.status).code, 0);
    });
    await t.step("child writes, parent reads", async () => {
      const child = spawn(peer, { args: ["write", path, "Hello from child process"] });
      const reader = await Fifo.open(path, "read", { timeout: 30_000 });
      assert.equal(await new Response(reader.readable).text(), "Hello from child process");
      assert.equal((await child.status).code, 0);
    });
    await t.step("both sides in one process", async () => {
      const [r, w] = await Promise.all([Fifo.open(path, "read"), Fifo.open(path, "write")]);
      w.writeSync("same process");
      w.close();
      assert.equal(await new Response(r.readable).text(), "same process");
    });
    Fifo.unlink(path);
  });
});

Deno.test("Fifo.open() waits are cancellable and leave nothing behind", async (t) => {
  await inTempDir(async (dir) => {
    const path = `${dir}/fifo`;
    Fifo.create(path);
    for (const side of ["read", "write"] as const) {
      await t.step(`side ${side}: timeout rejects with TimedOut`, async () => {
        await assert.rejects(Fifo.open(path, side, { timeout: 20 }), Deno.errors.TimedOut);
      });
      await t.step(`side ${side}: abort rejects with the signal's reason`, async () => {
        const ac = new AbortController();
        const pending = Fifo.open(path, side, { signal: ac.signal });
        setTimeout(() => ac.abort(new Error("changed my mind")), 20);
        await assert.rejects(pending, /changed my mind/);
        await assert.rejects(Fifo.open(path, side, { signal: ac.signal }), /changed my mind/);
      });
    }
    await t.step("more cancelled opens than pool threads the library may hold", async () => {
      const ac = new AbortController();
      const pending = Array.from(
        { length: 12 },
        () => Fifo.open(path, "read", { signal: ac.signal }),
      );
      ac.abort();
      const results = await Promise.allSettled(pending);
      assert.ok(results.every((r) => r.status === "rejected"));
      // The pool is free again: an open that has a partner completes.
      const [r, w] = await Promise.all([Fifo.open(path, "read"), Fifo.open(path, "write")]);
      r.close();
      w.close();
    });
    await t.step("a child process that cancels its open exits by itself", async () => {
      const out = pipe();
      const child = spawn(new URL("./fixtures/fifo_cancel.ts", import.meta.url), {
        args: [path],
        fds: { 1: out.writer },
      });
      out.writer.close();
      const text = await new Response(out.reader.readable).text();
      assert.equal(text, "TimedOut\nTimeoutError\n");
      assert.equal((await child.status).code, 0);
    });
    Fifo.unlink(path);
  });
});

Deno.test("Fifo.tryOpen() and openSync()", async (t) => {
  await inTempDir(async (dir) => {
    const path = `${dir}/fifo`;
    Fifo.create(path);
    await t.step("writing with no reader would block (ENXIO)", () => {
      assert.throws(() => Fifo.tryOpen(path, "write"), (e: unknown) => {
        assert.ok(e instanceof Deno.errors.WouldBlock);
        assert.equal((e as IpcError).syscall, "open");
        assert.equal((e as IpcError).path, path);
        return true;
      });
    });
    await t.step("openSync() times out with no partner", () => {
      for (const side of ["read", "write"] as const) {
        assert.throws(() => Fifo.openSync(path, side, { timeout: 5 }), (e: unknown) => {
          assert.ok(e instanceof Deno.errors.TimedOut);
          assert.equal((e as IpcError).code, "ETIMEDOUT");
          assert.equal((e as IpcError).path, path);
          return true;
        });
      }
    });
    await t.step("reading opens at once; then a writer can open without waiting", () => {
      using r = Fifo.tryOpen(path, "read");
      using w = Fifo.openSync(path, "write");
      w.writeSync("now");
      const buf = new Uint8Array(8);
      assert.equal(r.readSync(buf), 3);
      assert.ok(r instanceof FdReader);
    });
    Fifo.unlink(path);
  });
});

Deno.test("Fifo refuses what is not a FIFO, and unlink() removes only FIFOs", async () => {
  await inTempDir(async (dir) => {
    Deno.writeTextFileSync(`${dir}/file`, "keep me");
    await assert.rejects(Fifo.open(`${dir}/file`, "read"), /is not a FIFO \(it is a file\)/);
    assert.throws(() => Fifo.openSync(`${dir}/file`, "write"), /is not a FIFO/);
    assert.throws(() => Fifo.unlink(`${dir}/file`), /is not a FIFO/);
    assert.equal(Deno.readTextFileSync(`${dir}/file`), "keep me");
    await assert.rejects(Fifo.open(`${dir}/none`, "read"), Deno.errors.NotFound);
    assert.throws(() => Fifo.unlink(`${dir}/none`), (e: unknown) => {
      assert.ok(e instanceof Deno.errors.NotFound);
      assert.equal((e as IpcError).syscall, "unlink");
      return true;
    });
    Fifo.create(`${dir}/f`);
    Fifo.unlink(`${dir}/f`);
    assert.throws(() => Deno.statSync(`${dir}/f`), Deno.errors.NotFound);
  });
});
