import assert from "node:assert/strict";
import {
  FdReader,
  FdWriter,
  Fifo,
  IpcError,
  socketpair,
  spawnProgram,
  type SystemErrorInfo,
} from "../mod.ts";
import {
  affinityOf,
  cstr,
  dupInheritable,
  EPOLLIN,
  EPOLLOUT,
  isNonBlocking,
  libc,
  MOD_URL,
  rawPipe,
  readersGone,
  runCollect,
  setAffinity,
  systemError,
  TestScope,
  waitedOn,
} from "./_kernel.ts";

/** Reads until end of file through the Web Stream (`reader.readable`). */
async function readAll(reader: FdReader): Promise<Uint8Array> {
  return new Uint8Array(await new Response(reader.readable).arrayBuffer());
}

function pattern(size: number, seed: number): Uint8Array {
  const b = new Uint8Array(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

// Every test makes its pipes through a TestScope: at its end, even when it
// fails, they are closed, and no descriptor may still refer to any of them.

Deno.test("pipe() carries bytes and strings, sync and async", async (t) => {
  await t.step("writeSync + readSync", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    assert.equal(p.writer.writeSync(new Uint8Array([1, 2, 3])), 3);
    const buf = new Uint8Array(8);
    assert.equal(p.reader.readSync(buf), 3);
    assert.deepEqual([...buf.subarray(0, 3)], [1, 2, 3]);
  });
  await t.step("write + read, UTF-8 strings", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    assert.equal(await p.writer.write("héllo"), 6);
    const buf = new Uint8Array(16);
    const n = await p.reader.read(buf);
    assert.equal(new TextDecoder().decode(buf.subarray(0, n!)), "héllo");
  });
  await t.step("a read waits in the kernel for data written later", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const buf = new Uint8Array(4);
    let settled = false;
    const pending = p.reader.read(buf).finally(() => settled = true);
    // The read waits in epoll_wait for the reader's fd; only then comes the data.
    await waitedOn(p.reader.fd, EPOLLIN);
    assert.equal(settled, false, "the read waited for the data");
    p.writer.writeSync("late");
    assert.equal(await pending, 4);
    assert.equal(new TextDecoder().decode(buf), "late");
  });
  await t.step("an empty buffer reads 0 at once, an empty write writes 0", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    assert.equal(await p.reader.read(new Uint8Array(0)), 0);
    assert.equal(p.reader.readSync(new Uint8Array(0)), 0);
    assert.equal(await p.writer.write(new Uint8Array(0)), 0);
  });
  await t.step("tryRead/tryWrite never wait", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    assert.throws(
      () => p.reader.tryRead(new Uint8Array(4)),
      systemError(Deno.errors.WouldBlock, "EAGAIN", "read", { fd: p.reader.fd }),
    );
    // Fill the pipe: tryWrite takes what fits, then refuses.
    const big = new Uint8Array(1 << 20);
    const n = p.writer.tryWrite(big);
    assert.ok(n > 0 && n < big.length);
    assert.throws(
      () => p.writer.tryWrite(big),
      systemError(Deno.errors.WouldBlock, "EAGAIN", "write", { fd: p.writer.fd }),
    );
    assert.equal(p.reader.tryRead(new Uint8Array(10)), 10);
  });
});

Deno.test("pipe() end of file comes when every writer has closed", async (t) => {
  await t.step("in one process", async () => {
    await using s = new TestScope();
    const { reader, writer } = s.pipe();
    writer.writeSync("last words");
    writer.close();
    const buf = new Uint8Array(64);
    assert.equal(await reader.read(buf), 10);
    assert.equal(await reader.read(buf), null);
    assert.equal(reader.readSync(buf), null);
    reader.close();
  });
  await t.step(
    "a child's copy of the writer keeps the pipe open until the child exits",
    async () => {
      await using s = new TestScope();
      const { reader, writer } = s.pipe();
      const child = s.fixture("pipe_write.ts", {
        args: ["text", "from child"],
        fds: { 3: writer },
      });
      writer.close();
      const got = new TextDecoder().decode(await child.check(() => readAll(reader)));
      await child.exits(0);
      await child.check(() => assert.equal(got, "from child"));
    },
  );
});

Deno.test("pipe() writing with no reader is BrokenPipe, not a SIGPIPE death", async () => {
  await using s = new TestScope();
  const { reader, writer } = s.pipe();
  reader.close();
  await readersGone(writer);
  const check = systemError(Deno.errors.BrokenPipe, "EPIPE", "write", { fd: writer.fd });
  assert.throws(() => writer.writeSync("x"), check);
  await assert.rejects(writer.write("x"), check);
  writer.close();
});

Deno.test("pipe() a 16 MiB write arrives whole", async (t) => {
  const size = 16 << 20;
  await t.step("async write and read in one process", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const data = pattern(size, 1);
    const writing = p.writer.write(data).then((n) => {
      p.writer.close();
      return n;
    });
    const got = await readAll(p.reader);
    assert.equal(await writing, size);
    assert.equal(got.length, size);
    assert.deepEqual(got, data);
  });
  await t.step("one writeSync in a child, read in the parent", async () => {
    await using s = new TestScope();
    const { reader, writer } = s.pipe();
    const child = s.fixture("pipe_write.ts", {
      args: ["pattern", String(size), "7"],
      fds: { 3: writer },
    });
    writer.close();
    const got = await child.check(() => readAll(reader));
    await child.exits(0);
    await child.check(() => {
      assert.equal(got.length, size);
      assert.deepEqual(got, pattern(size, 7));
    });
  });
});

Deno.test("pipe() readSync of no bytes returns 0 while the peer shares this CPU", async () => {
  // With its peer on the same CPU, a sync read soon blocks in read(2) at once, without a
  // first try (Spinner.blocksFirst): a read of no bytes must still return 0 there, not the
  // null of end of file. An empty read every 8th round, when the reader has learned that.
  await using s = new TestScope();
  const down = s.pipe();
  const up = s.pipe();
  const child = s.fixture("pipe_echo.ts", { fds: { 3: down.reader, 4: up.writer } });
  down.reader.close();
  up.writer.close();
  const before = affinityOf(0);
  const one = new Uint8Array([7]);
  const buf = new Uint8Array(1);
  const none = new Uint8Array(0);
  try {
    setAffinity(0, [before[0]]);
    setAffinity(child.pid, [before[0]]);
    await child.check(() => {
      for (let i = 0; i < 400; i++) {
        down.writer.writeSync(one);
        if (i % 8 === 7) assert.equal(up.reader.readSync(none), 0, `empty read of round ${i}`);
        assert.equal(up.reader.readSync(buf), 1);
        assert.equal(buf[0], 7);
      }
    });
  } finally {
    setAffinity(0, before);
  }
  down.writer.close();
  await child.exits(0);
});

Deno.test("pipe() writes of at most PIPE_BUF bytes from several processes never interleave", async () => {
  await using s = new TestScope();
  const { reader, writer } = s.pipe();
  const writers = 4, records = 200, size = 4096;
  const children = Array.from(
    { length: writers },
    (_, i) =>
      s.fixture("pipe_write.ts", {
        args: ["records", String(i + 1), String(records), String(size)],
        fds: { 3: writer },
      }),
  );
  writer.close();
  const got = await s.check(() => readAll(reader));
  for (const c of children) await c.exits(0);
  await s.check(() => {
    assert.equal(got.length, writers * records * size);
    const counts = new Array(writers + 1).fill(0);
    for (let off = 0; off < got.length; off += size) {
      const id = got[off];
      assert.ok(got.subarray(off, off + size).every((b) => b === id), `record at ${off} is torn`);
      counts[id]++;
    }
    assert.deepEqual(counts.slice(1), new Array(writers).fill(records));
  });
});

Deno.test("pipe() Web Streams like Deno.FsFile", async (t) => {
  await t.step("pipeTo(writer.writable) then reader.readable", async () => {
    await using s = new TestScope();
    const { reader, writer } = s.pipe();
    const chunks = ["one ", "two ", "three"].map((s) => new TextEncoder().encode(s));
    const [, text] = await Promise.all([
      ReadableStream.from(chunks).pipeTo(writer.writable),
      new Response(reader.readable).text(),
    ]);
    assert.equal(text, "one two three");
    assert.ok(writer.closed, "closing the writable closes the writer");
    assert.ok(reader.closed, "end of the readable closes the reader");
  });
  await t.step("cancelling the readable closes the reader", async () => {
    await using s = new TestScope();
    const { reader, writer } = s.pipe();
    await reader.readable.cancel();
    assert.ok(reader.closed);
    writer.close();
  });
  await t.step(
    "aborting the writable closes the writer; the reader still gets what was written",
    async () => {
      await using s = new TestScope();
      const { reader, writer } = s.pipe();
      const w = writer.writable.getWriter();
      await w.write(new Uint8Array([9]));
      await w.abort();
      assert.ok(writer.closed);
      assert.deepEqual([...await readAll(reader)], [9]);
    },
  );
  await t.step("aborting the writable ends a write that waits for room", async () => {
    await using s = new TestScope();
    const { reader, writer } = s.pipe();
    const w = writer.writable.getWriter();
    // More than the pipe holds, and nobody reads: the write waits for room for ever.
    const pending = w.write(new Uint8Array(4 * 1024 * 1024));
    await waitedOn(writer.fd, EPOLLOUT);
    const reason = new Error("no more");
    await w.abort(reason);
    // The pipe took some bytes first: the write says how many, with the reason as cause.
    await assert.rejects(pending, (e) => {
      assert.ok(e instanceof Deno.errors.Interrupted, `${e}`);
      assert.equal(e.cause, reason);
      assert.ok((e as Error & { bytesWritten: number }).bytesWritten > 0);
      return true;
    });
    assert.ok(writer.closed);
    reader.close();
  });
  await t.step("an aborted pipeTo that waits for room ends when the writer closes", async () => {
    await using s = new TestScope();
    const { reader, writer } = s.pipe();
    const fill = new Uint8Array(64 * 1024);
    for (;;) {
      try {
        writer.tryWrite(fill);
      } catch (e) {
        if (e instanceof Deno.errors.WouldBlock) break;
        throw e;
      }
    }
    const abort = new AbortController();
    const piping = ReadableStream.from([new Uint8Array(1)]).pipeTo(writer.writable, {
      signal: abort.signal,
    });
    await waitedOn(writer.fd, EPOLLOUT);
    const reason = new Error("stop piping");
    // By the Streams spec, pipeTo lets the chunk in progress finish before it
    // aborts the writable (so the sink's signal never fires): the writable's
    // JSDoc says to close the writer on the signal, which ends that write.
    abort.signal.addEventListener("abort", () => writer.close());
    abort.abort(reason);
    await assert.rejects(piping, (e) => e === reason);
    assert.ok(writer.closed);
    reader.close();
  });
  await t.step("a failed write closes the writer and errors the stream", async () => {
    await using s = new TestScope();
    const { reader, writer } = s.pipe();
    reader.close();
    await readersGone(writer);
    await assert.rejects(
      ReadableStream.from([new Uint8Array(3)]).pipeTo(writer.writable),
      Deno.errors.BrokenPipe,
    );
    assert.ok(writer.closed, "the fd is released");
  });
});

Deno.test("pipe() handles: close, dispose, use after close, bad arguments", async (t) => {
  await t.step("close twice is a no-op; use after close is BadResource", async () => {
    await using s = new TestScope();
    const { reader, writer } = s.pipe();
    reader.close();
    reader.close();
    writer.close();
    writer[Symbol.dispose]();
    assert.throws(() => reader.readSync(new Uint8Array(1)), Deno.errors.BadResource);
    await assert.rejects(reader.read(new Uint8Array(1)), Deno.errors.BadResource);
    assert.throws(() => writer.writeSync("x"), Deno.errors.BadResource);
    await assert.rejects(writer.write("x"), Deno.errors.BadResource);
    // Even operations that would not touch the fd (empty reads and writes).
    const empty = new Uint8Array(0);
    assert.throws(() => reader.readSync(empty), Deno.errors.BadResource);
    assert.throws(() => reader.tryRead(empty), Deno.errors.BadResource);
    await assert.rejects(reader.read(empty), Deno.errors.BadResource);
    assert.throws(() => writer.writeSync(empty), Deno.errors.BadResource);
    assert.throws(() => writer.tryWrite(""), Deno.errors.BadResource);
    await assert.rejects(writer.write(empty), Deno.errors.BadResource);
  });
  await t.step("the fd of a closed handle: BadResource naming the handle and its fd", async () => {
    await using s = new TestScope();
    const { reader, writer } = s.pipe();
    for (const [end, what] of [[reader, "reader"], [writer, "writer"]] as const) {
      const fd = end.fd;
      end.close();
      assert.throws(() => end.fd, (e) => {
        assert.ok(e instanceof Deno.errors.BadResource, `${e}`);
        const { code, errno, syscall, fd: held } = e as Error & SystemErrorInfo;
        assert.deepEqual({ code, errno, syscall, held }, {
          code: "EBADF",
          errno: 9,
          syscall: "fd",
          held: fd,
        });
        assert.match(
          e.message,
          new RegExp(`\\(os error 9\\): the ${what} is closed \\(it held fd ${fd}\\)$`),
        );
        return true;
      });
    }
  });
  await t.step("errors of fds that are not pipes are the classes the JSDoc names", async () => {
    await using s = new TestScope();
    const [O_RDONLY, O_WRONLY, O_CLOEXEC] = [0, 1, 0o2000000];
    const open = (path: string, flags: number) => {
      const fd = libc.open(cstr(path), flags | O_CLOEXEC, 0);
      assert.ok(fd >= 0, `open ${path}`);
      return fd;
    };
    // EISDIR is Deno's IsADirectory, in every form of read.
    const dir = s.handle(new FdReader(open("/", O_RDONLY)));
    const isDir = systemError(Deno.errors.IsADirectory, "EISDIR", "read", { fd: dir.fd });
    assert.throws(() => dir.readSync(new Uint8Array(1)), isDir);
    assert.throws(() => dir.tryRead(new Uint8Array(1)), isDir);
    await assert.rejects(dir.read(new Uint8Array(1)), isDir);
    // ENOSPC has no Deno class: IpcError, in every form of write.
    const full = s.handle(new FdWriter(open("/dev/full", O_WRONLY)));
    const noSpace = (e: unknown) => {
      assert.ok(e instanceof IpcError, `${e}`);
      const { code, errno, syscall, fd } = e;
      assert.deepEqual({ code, errno, syscall, fd }, {
        code: "ENOSPC",
        errno: 28,
        syscall: "write",
        fd: full.fd,
      });
      assert.equal((e as { bytesWritten?: number }).bytesWritten, 0);
      return true;
    };
    assert.throws(() => full.writeSync("x"), noSpace);
    assert.throws(() => full.tryWrite("x"), noSpace);
    await assert.rejects(full.write("x"), noSpace);
  });
  await t.step("closing a reader rejects its pending read", async () => {
    await using s = new TestScope();
    const { reader, writer } = s.pipe();
    const fd = reader.fd;
    const pending = reader.read(new Uint8Array(1));
    await waitedOn(fd, EPOLLIN);
    reader.close();
    await assert.rejects(pending, systemError(Deno.errors.BadResource, "EBADF", "read"));
    writer.close();
  });
  await t.step("using closes both ends", async () => {
    await using s = new TestScope();
    let kept: FdReader;
    let keptWriter: FdWriter;
    {
      using p = s.pipe();
      kept = p.reader;
      keptWriter = p.writer;
    }
    assert.ok(kept.closed);
    assert.ok(keptWriter.closed);
  });
  await t.step("bad arguments are TypeError/RangeError before any syscall", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    // deno-lint-ignore no-explicit-any
    const bad = [1, "x", [1], new ArrayBuffer(4), null] as any[];
    for (const b of bad) {
      assert.throws(() => p.reader.readSync(b), TypeError);
      await assert.rejects(p.reader.read(b), TypeError);
    }
    // deno-lint-ignore no-explicit-any
    assert.throws(() => p.writer.writeSync(42 as any), TypeError);
    await assert.rejects(p.reader.read(new Uint8Array(1), { timeout: -1 }), RangeError);
    // deno-lint-ignore no-explicit-any
    await assert.rejects(p.reader.read(new Uint8Array(1), { signal: {} as any }), TypeError);
    assert.throws(() => new FdReader(-1), RangeError);
    assert.throws(() => new FdReader(1.5), RangeError);
    assert.throws(() => new FdReader("3" as unknown as number), TypeError);
    const [r, w] = rawPipe().map((fd) => s.fd(fd));
    assert.throws(() => new FdReader(w), /not open for reading/);
    assert.throws(() => new FdWriter(r), /not open for writing/);
    // A descriptor an open handle owns: a second owner would close it under the first.
    for (const adopt of [() => new FdReader(p.reader.fd), () => new FdWriter(p.writer.fd)]) {
      assert.throws(adopt, /belongs to an open (reader|writer), which closes it/);
    }
    assert.equal(p.reader.closed || p.writer.closed, false);
    assert.throws(
      () => new FdReader(1 << 20),
      systemError(Deno.errors.BadResource, "EBADF", "fcntl", { fd: 1 << 20 }),
    );
  });
  await t.step("timeouts reject with TimedOut, sync and async", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    await assert.rejects(
      p.reader.read(new Uint8Array(1), { timeout: 10 }),
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", "read", "after 10 ms"),
    );
    assert.throws(
      () => p.reader.readSync(new Uint8Array(1), { timeout: 10 }),
      systemError(Deno.errors.TimedOut, "ETIMEDOUT", "read", "after 10 ms"),
    );
    p.writer.tryWrite(new Uint8Array(1 << 20)); // fill it
    const err = await p.writer.write(new Uint8Array(1 << 20), { timeout: 10 }).catch((e) => e);
    assert.ok(err instanceof Deno.errors.TimedOut);
    assert.equal((err as { bytesWritten?: number }).bytesWritten, 0);
  });
  await t.step("a write aborted after a partial write says how much went out", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const ac = new AbortController();
    const reason = new Error("enough");
    const pending = p.writer.write(new Uint8Array(1 << 20), { signal: ac.signal });
    ac.abort(reason);
    const err = await pending.catch((e) => e);
    assert.ok(err instanceof Deno.errors.Interrupted, String(err));
    assert.equal(err.cause, reason);
    const written = (err as { bytesWritten?: number }).bytesWritten!;
    assert.ok(written > 0 && written < 1 << 20, `bytesWritten ${written}`);
    // Which write of which fd, as every other error of the library says.
    assert.equal(
      err.message,
      `write fd ${p.writer.fd} aborted after ${written} of ${1 << 20} bytes`,
    );
    assert.deepEqual([(err as { syscall?: string }).syscall, (err as { fd?: number }).fd], [
      "write",
      p.writer.fd,
    ]);
    // Exactly that many bytes are in the pipe.
    p.writer.close();
    let got = 0;
    const buf = new Uint8Array(1 << 16);
    for (let n; (n = p.reader.readSync(buf)) !== null;) got += n;
    assert.equal(got, written);
  });
  await t.step("an aborted read rejects with the signal's reason", async () => {
    await using s = new TestScope();
    const p = s.pipe();
    const ac = new AbortController();
    const pending = p.reader.read(new Uint8Array(1), { signal: ac.signal });
    ac.abort(new Error("stop"));
    await assert.rejects(pending, /stop/);
    await assert.rejects(p.reader.read(new Uint8Array(1), { signal: ac.signal }), /stop/);
  });
});

Deno.test("adopting a terminal or Deno's own stdio leaves the description others share as it was", async (t) => {
  await t.step("a character device gets a non-blocking description of its own", () => {
    using s = new TestScope();
    // /dev/zero stands for a terminal: a character device that a shell would share.
    const fd = libc.open(cstr("/dev/zero"), 0o2000000, 0); // O_RDONLY | O_CLOEXEC, blocking
    assert.ok(fd >= 0);
    const other = s.fd(dupInheritable(fd)); // the same description, as a shell's copy
    using reader = new FdReader(fd);
    assert.equal(isNonBlocking(reader.fd), true);
    assert.equal(isNonBlocking(other), false, "the shared description is left blocking");
  });
  await t.step(
    "fd 1: the handle takes a number of its own, and Deno's stdout still writes",
    async () => {
      await using s = new TestScope();
      const code = `
      import { FdWriter } from "${MOD_URL}";
      const w = new FdWriter(1);
      w.writeSync("mine\\n");
      console.log("deno's", w.fd !== 1);
      w.close();
      console.log("still");
    `;
      const { status, stdout, stderr } = await runCollect((out, err) =>
        s.child(
          spawnProgram(Deno.execPath(), ["eval", "--ext=ts", code], { fds: { 1: out, 2: err } }),
        )
      );
      assert.equal(status.code, 0, stderr);
      assert.equal(stdout, "mine\ndeno's true\nstill\n");
    },
  );
  await t.step(
    "fd 1 a socket or a regular file: Deno's stdout keeps its mode (a socket is refused)",
    async () => {
      // A copy shares the description: O_NONBLOCK on it made Deno's own writes fail (EAGAIN).
      await using s = new TestScope();
      const dir = await s.tempDir();
      const code = `
      import { FdWriter } from "${MOD_URL}";
      import { isNonBlocking } from "${new URL("./_kernel.ts", import.meta.url).href}";
      let outcome = "adopted";
      try {
        new FdWriter(1).close();
      } catch (e) {
        outcome = e.name + ": " + e.message;
      }
      Deno.writeTextFileSync("${dir}/result", JSON.stringify({ outcome, nonBlocking: isNonBlocking(1) }));
    `;
      const [mine, theirs] = s.handle(socketpair());
      const file = s.fd(libc.open(cstr(`${dir}/out`), 0o2000101, 0o600)); // O_WRONLY|O_CREAT|O_CLOEXEC
      for (const [stdout, adopted] of [[theirs, false], [file, true]] as const) {
        const { status, stderr } = await runCollect((_out, err) =>
          s.child(
            spawnProgram(Deno.execPath(), ["eval", "--ext=ts", code], {
              fds: { 1: stdout, 2: err },
            }),
          )
        );
        assert.equal(status.code, 0, stderr);
        const { outcome, nonBlocking } = JSON.parse(Deno.readTextFileSync(`${dir}/result`));
        assert.equal(nonBlocking, false, "Deno's stdout keeps its mode");
        if (adopted) assert.equal(outcome, "adopted");
        else assert.match(outcome, /^TypeError: FdWriter: fd 1 is a socket that Deno's own stdout/);
      }
      assert.equal(mine.closed, false);
    },
  );
  await t.step(
    "fd 0 a pipe this process may not open again: refused, and Deno's stdin keeps its mode",
    async () => {
      // O_NONBLOCK went on the description Deno's stdin shares (and a parent's), where the
      // reopen was refused: for a process that dropped privileges, say.
      await using s = new TestScope();
      const dir = await s.tempDir();
      const fifo = `${dir}/in`;
      Fifo.create(fifo);
      const reader = s.fd(libc.open(cstr(fifo), 0o2004000, 0)); // O_RDONLY|O_NONBLOCK|O_CLOEXEC
      const writer = s.fd(libc.open(cstr(fifo), 0o2000001, 0)); // O_WRONLY|O_CLOEXEC
      Deno.chmodSync(fifo, 0); // no one without CAP_DAC_OVERRIDE opens it again
      const kernel = new URL("./_kernel.ts", import.meta.url).href;
      const code = `
      import { FdReader } from "${MOD_URL}";
      import { dropCapability, isNonBlocking } from "${kernel}";
      dropCapability(1); // CAP_DAC_OVERRIDE
      dropCapability(2); // CAP_DAC_READ_SEARCH
      let outcome = "adopted";
      try {
        new FdReader(0).close();
      } catch (e) {
        outcome = e.name + " " + e.code + " " + e.syscall + ": " + e.message;
      }
      console.log(JSON.stringify({ outcome, nonBlocking: isNonBlocking(0) }));
    `;
      const { status, stdout, stderr } = await runCollect((out, err) =>
        s.child(
          spawnProgram(Deno.execPath(), ["eval", "--ext=ts", code], {
            fds: { 0: reader, 1: out, 2: err },
          }),
        )
      );
      assert.equal(status.code, 0, stderr);
      const { outcome, nonBlocking } = JSON.parse(stdout);
      assert.match(outcome, /^PermissionDenied EACCES open: .*fd 0, Deno's own stdin, cannot be/);
      assert.equal(nonBlocking, false, "the shared description keeps its mode");
      assert.ok(writer >= 0);
    },
  );
});

Deno.test("a read whose buffer is resized smaller while it waits: a TypeError, and the data stays", async () => {
  using s = new TestScope();
  const p = s.pipe();
  const ab = new ArrayBuffer(8, { maxByteLength: 8 });
  const pending = p.reader.read(new Uint8Array(ab));
  ab.resize(0);
  p.writer.writeSync("data");
  await assert.rejects(pending, (e: Error) => e instanceof TypeError && /shrank/.test(e.message));
  const buf = new Uint8Array(8);
  assert.equal(p.reader.readSync(buf), 4);
});
