/**
 * Web Streams interop of the byte handles (`FdReader`/`FdWriter`, stream
 * `Connection`s): with each other, with Deno's own streams and a child
 * process, and what a cancel, a released lock or a failing peer leaves behind.
 */
import assert from "node:assert/strict";
import { type Connection, socketpair } from "../mod.ts";
import { EPOLLIN, EPOLLOUT, systemError, TestScope, waitedOn, within } from "./_kernel.ts";

const decode = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/** Bytes no run of repeated data would pass for: each position has its own value. */
function pattern(n: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 31 + (i >> 8)) & 0xff;
  return bytes;
}

Deno.test("Connection.readable: a cancel mid-read leaves the next bytes to the connection", async () => {
  await using s = new TestScope();
  const [a, b] = s.handle(socketpair());
  const r = b.readable.getReader();
  const pending = r.read();
  await waitedOn(b.fd, EPOLLIN); // the stream's read waits for data
  await r.cancel();
  assert.deepEqual(await pending, { value: undefined, done: true });
  // A read the stream left waiting would be first in line for these bytes.
  const mine = b.read(new Uint8Array(16));
  await waitedOn(b.fd, EPOLLIN);
  a.writeSync("after");
  a.shutdown("write");
  const buf = new Uint8Array(16);
  const n = await mine;
  assert.equal(n, 5, "the connection's own read gets the bytes");
  assert.equal(await b.read(buf), null);
  assert.equal(b.closed, false, "cancelling the readable leaves the connection open");
});

Deno.test("Connection.readable: a pipeTo whose destination fails leaves later bytes to the connection", async () => {
  await using s = new TestScope();
  const [a, b] = s.handle(socketpair());
  let fail!: (e: unknown) => void;
  const dest = new WritableStream<Uint8Array>({ start: (c) => void (fail = (e) => c.error(e)) });
  const piping = b.readable.pipeTo(dest);
  await waitedOn(b.fd, EPOLLIN);
  fail(new Error("destination broke"));
  await assert.rejects(piping, { message: "destination broke" });
  const mine = b.read(new Uint8Array(16));
  await waitedOn(b.fd, EPOLLIN);
  a.writeSync("later");
  a.shutdown("write");
  assert.equal(await mine, 5);
});

Deno.test("chunks of a default reader are fresh: kept ones stay intact", async () => {
  await using s = new TestScope();
  const { reader, writer } = s.pipe();
  const [a, b] = s.handle(socketpair());
  for (const [source, write] of [[reader, writer], [b, a]] as const) {
    const r = source.readable.getReader();
    const kept: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) {
      write.writeSync(new Uint8Array(8).fill(i));
      kept.push((await r.read()).value!);
    }
    r.releaseLock();
    assert.deepEqual(kept.map((c) => [...c]), [0, 1, 2, 3].map((i) => Array(8).fill(i)));
    // Each in a buffer of its own, of its size: no 64 KiB allocated for 8 bytes.
    assert.deepEqual(kept.map((c) => c.buffer.byteLength), [8, 8, 8, 8]);
  }
});

Deno.test("releaseLock() mid-read: the read's bytes go to the next reader, the handle stays open", async () => {
  await using s = new TestScope();
  const { reader, writer } = s.pipe();
  const [a, b] = s.handle(socketpair());
  for (const [source, write] of [[reader, writer], [b, a]] as const) {
    const r = source.readable.getReader();
    const pending = r.read();
    await waitedOn(source.fd, EPOLLIN);
    r.releaseLock();
    await assert.rejects(pending, TypeError);
    write.writeSync("kept");
    const next = source.readable.getReader();
    assert.equal(decode((await next.read()).value), "kept");
    next.releaseLock();
    assert.equal(source.closed, false);
  }
});

Deno.test("readable is a byte stream: a BYOB reader reads into the caller's buffer", async () => {
  await using s = new TestScope();
  const { reader, writer } = s.pipe();
  const r = reader.readable.getReader({ mode: "byob" });
  writer.writeSync("abcdef");
  const first = await r.read(new Uint8Array(4));
  assert.equal(decode(first.value), "abcd");
  const pending = r.read(new Uint8Array(8), { min: 4 });
  await waitedOn(reader.fd, EPOLLIN); // 2 bytes are not enough: it waits for more
  writer.writeSync("gh");
  assert.equal(decode((await pending).value), "efgh");
  writer.close();
  assert.equal((await r.read(new Uint8Array(8))).done, true);
  assert.equal(reader.closed, true, "end of file closes the reader");
});

Deno.test("pipeTo between our handles, through a child's stdin/stdout and compression, byte for byte", async () => {
  await using s = new TestScope();
  const into = s.pipe();
  const out = s.pipe();
  const [a, b] = s.handle(socketpair());
  const data = pattern(300_000); // several pipe and socket buffers
  const cat = new Deno.Command("cat", { stdin: "piped", stdout: "piped" }).spawn();
  const flows = Promise.all([
    into.writer.write(data).then(() => into.writer.close()),
    into.reader.readable.pipeTo(cat.stdin),
    cat.stdout.pipeThrough(new CompressionStream("gzip")).pipeTo(a.writable),
    b.readable.pipeThrough(new DecompressionStream("gzip")).pipeTo(out.writer.writable),
    cat.status,
  ]);
  const got = new Uint8Array(await new Response(out.reader.readable).arrayBuffer());
  await flows;
  assert.deepEqual(got, data);
  assert.ok(into.reader.closed && out.writer.closed && out.reader.closed);
  assert.equal(b.closed, false, "the end of a connection's readable leaves it open");
});

Deno.test("text through TextEncoderStream into a writable, TextDecoderStream out of a readable", async () => {
  await using s = new TestScope();
  const [a, b] = s.handle(socketpair());
  const words = ["héllo ", "wörld ", "✓"];
  const writing = ReadableStream.from(words).pipeThrough(new TextEncoderStream()).pipeTo(
    a.writable,
  );
  let text = "";
  for await (const piece of b.readable.pipeThrough(new TextDecoderStream())) text += piece;
  await writing;
  assert.equal(text, words.join(""));
});

Deno.test("a full pipe or socket: the writable waits in the kernel for room, and the reader's end ends it", async () => {
  await using s = new TestScope();
  const { reader, writer } = s.pipe();
  const [a, b] = s.handle(socketpair());
  for (const [sink, peer] of [[writer, reader], [a, b]] as const) {
    const endless = new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(65536)) });
    const piping = endless.pipeTo(sink.writable);
    await waitedOn(sink.fd, EPOLLOUT); // a wait in epoll_wait, not a loop of tries
    peer.close();
    await assert.rejects(
      piping,
      sink === writer
        ? systemError(Deno.errors.BrokenPipe, "EPIPE", "write")
        : (e) => e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.ConnectionReset,
    );
    assert.equal(sink.closed, true, "a write that failed closes the handle");
  }
});

Deno.test("pipeTo with preventCancel: a failed destination leaves the reader open and its bytes", async () => {
  await using s = new TestScope();
  const { reader, writer } = s.pipe();
  let fail!: (e: unknown) => void;
  const dest = new WritableStream<Uint8Array>({ start: (c) => void (fail = (e) => c.error(e)) });
  const piping = reader.readable.pipeTo(dest, { preventCancel: true });
  await waitedOn(reader.fd, EPOLLIN);
  fail(new Error("destination broke"));
  await assert.rejects(piping, { message: "destination broke" });
  assert.equal(reader.closed, false);
  writer.writeSync("still here");
  const next = reader.readable.getReader(); // (Response refuses a stream already read)
  assert.equal(decode((await next.read()).value), "still here");
  next.releaseLock();
});

Deno.test("closing a handle while its readable waits errors the stream with BadResource", async () => {
  await using s = new TestScope();
  const { reader } = s.pipe();
  const [, b] = s.handle(socketpair());
  for (const handle of [reader, b]) {
    const reading = new Response(handle.readable).text();
    await waitedOn(handle.fd, EPOLLIN);
    handle.close();
    await assert.rejects(reading, Deno.errors.BadResource);
  }
});

Deno.test("a stream ends cleanly after its handle was closed by the code that uses it", async () => {
  // As Deno's own streams do: closing the connection in the loop that reads it, then leaving.
  await using s = new TestScope();
  const [a, b] = s.handle(socketpair());
  b.writeSync("chunk");
  for await (const _ of a.readable) {
    a.close();
    break;
  }
  const p = s.pipe();
  const reader = p.reader.readable.getReader();
  p.reader.close();
  await reader.cancel();
  const writer = p.writer.writable.getWriter();
  p.writer.close();
  await writer.close();
});

/**
 * A two-way proxy as the README has it: client <-> [a | proxy | b] <-> upstream, both
 * connections closed once both pipes have settled, or as soon as one fails.
 */
function proxy(a: Connection, b: Connection): Promise<PromiseSettledResult<void>[]> {
  const closeBoth = () => {
    a.close();
    b.close();
  };
  const pipes = [a.readable.pipeTo(b.writable), b.readable.pipeTo(a.writable)];
  for (const pipe of pipes) pipe.catch(closeBoth);
  return Promise.allSettled(pipes).finally(closeBoth);
}

Deno.test("a two-way proxy, closed as the README says", async (t) => {
  await t.step("a client's half-close: the reply still comes back", async () => {
    await using s = new TestScope();
    const [client, a] = s.handle(socketpair());
    const [b, upstream] = s.handle(socketpair());
    const piping = proxy(a, b);
    client.writeSync("hello");
    client.shutdown("write");
    const asked = await new Response(upstream.readable).text(); // to the end: the client's
    upstream.writeSync(`echo:${asked}`);
    upstream.close();
    assert.equal(await within(new Response(client.readable).text(), "the reply"), "echo:hello");
    const outcomes = await within(piping, "both pipes");
    assert.deepEqual(outcomes.map((o) => o.status), ["fulfilled", "fulfilled"]);
  });

  await t.step(
    "a client that vanishes while the upstream never reads: both pipes end",
    async () => {
      await using s = new TestScope();
      const [client, a] = s.handle(socketpair());
      const [b, upstream] = s.handle(socketpair());
      const piping = proxy(a, b);
      // More than b's buffer and the upstream's take: the pipe into b waits for room.
      const flood = client.write(pattern(4 << 20)).catch(() => {});
      await waitedOn(b.fd, EPOLLOUT);
      client.close();
      await flood;
      upstream.writeSync("late"); // to the client, who is gone: that pipe fails
      const outcomes = await within(piping, "both pipes");
      assert.deepEqual(outcomes.map((o) => o.status), ["rejected", "rejected"]);
    },
  );
});

Deno.test("a writable's close waits for a write() still going out: its bytes arrive whole", async (t) => {
  const size = 4 << 20;
  const ends = {
    pipe: (s: TestScope) => {
      const p = s.pipe();
      return { from: p.writer, to: p.reader };
    },
    socketpair: (s: TestScope) => {
      const [a, b] = s.handle(socketpair());
      return { from: a, to: b };
    },
  };
  for (const [name, make] of Object.entries(ends)) {
    await t.step(name, async () => {
      await using s = new TestScope();
      const { from, to } = make(s);
      // More than the kernel buffers: the write is still going out when the stream closes.
      const written = from.write(new Uint8Array(size).fill(7));
      const piped = ReadableStream.from<Uint8Array>([]).pipeTo(from.writable);
      let got = 0;
      for await (const chunk of to) got += chunk.length;
      assert.equal(await written, size);
      await piped;
      assert.equal(got, size);
    });
  }
});

Deno.test("a writable takes any view or ArrayBuffer, as Deno.FsFile.writable does", async () => {
  await using s = new TestScope();
  const { reader, writer } = s.pipe();
  const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const chunks = [
    bytes.buffer.slice(0, 2),
    new DataView(bytes.buffer, 2, 2),
    new Uint16Array(bytes.buffer.slice(4, 8)),
  ];
  await ReadableStream.from(chunks as unknown as Uint8Array[]).pipeTo(writer.writable);
  assert.deepEqual(await new Response(reader.readable).bytes(), bytes);
});
