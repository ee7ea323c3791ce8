/**
 * The async iteration of byte streams (`FdReader`, stream `Connection`s):
 * chunks land in the buffer that received bytes share, stay intact whatever
 * is read later, and come whole and in order.
 */
import assert from "node:assert/strict";
import { socketpair } from "../mod.ts";
import { assertKeptIntact } from "./_kept.ts";
import { EPOLLIN, TestScope, waitedOn } from "./_kernel.ts";

const decode = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/** The most a chunk that lands in the shared buffer takes; bulk ones take up to 64 KiB. */
const CHUNK_ROOM = 16 * 1024;

/** A reader and writer of each kind: a pipe, a Unix stream socket pair. */
function sources(s: TestScope) {
  const p = s.pipe();
  const [a, b] = s.handle(socketpair());
  return [
    { name: "FdReader", source: p.reader, writer: p.writer },
    { name: "Connection", source: b, writer: a },
  ] as const;
}

Deno.test("iterated chunks stay intact across shared buffers, and a transferred one breaks nothing", async () => {
  await using s = new TestScope();
  for (const { name, source, writer } of sources(s)) {
    const chunks = source[Symbol.asyncIterator]();
    // Sizes that fill several 64 KiB buffers, odd ones included (alignment), up to the most
    // that lands there: each write is one chunk, as it is all there is when the read comes.
    // After a full one, the next lands in a buffer of its own (a transfer of bulk, maybe).
    const sizeOf = (i: number) => i % 50 === 0 ? CHUNK_ROOM : (i * 37) % 2000 + 1;
    const kept: Uint8Array<ArrayBuffer>[] = [];
    for (let i = 0; i < 600; i++) {
      writer.writeSync(new Uint8Array(sizeOf(i)).fill(i & 255));
      const { value } = await chunks.next();
      assert.equal(value!.byteLength, sizeOf(i), `${name}: chunk ${i}`);
      kept.push(value!);
    }
    assert.ok(new Set(kept.map((c) => c.buffer)).size > 2, `${name}: several shared buffers`);
    assertKeptIntact(kept, sizeOf);
    writer.writeSync("after");
    assert.equal(decode((await chunks.next()).value as Uint8Array), "after");
    await chunks.return(undefined);
  }
});

Deno.test("iterated chunks: a large transfer comes whole, in order, at most 64 KiB a chunk", async () => {
  await using s = new TestScope();
  for (const { name, source, writer } of sources(s)) {
    const sent = new Uint8Array(1 << 20);
    for (let i = 0; i < sent.length; i++) sent[i] = (i * 31 + (i >> 8)) & 0xff;
    const writing = writer.write(sent).then(() => writer.close());
    const got = new Uint8Array(sent.length);
    let at = 0;
    const buffers = new Set<ArrayBuffer>();
    let bulk = 0;
    for await (const chunk of source) {
      assert.ok(
        chunk.byteLength <= 4 * CHUNK_ROOM,
        `${name}: a chunk of ${chunk.byteLength} bytes`,
      );
      // Past what the shared buffer takes, a chunk has a buffer of its own.
      if (chunk.byteLength > CHUNK_ROOM) {
        assert.ok(!buffers.has(chunk.buffer), name);
        bulk++;
      }
      buffers.add(chunk.buffer);
      got.set(chunk, at);
      at += chunk.byteLength;
    }
    await writing;
    // The first read fills what lands in the shared buffer: the next ones take more at once.
    assert.ok(bulk > 0, `${name}: no chunk of bulk`);
    assert.equal(at, sent.length, name);
    assert.deepEqual(got, sent, name);
  }
});

Deno.test("FdReader iteration: end of file and break close the reader; a Connection stays open", async (t) => {
  await t.step("end of file", async () => {
    await using s = new TestScope();
    const { reader, writer } = s.pipe();
    writer.writeSync("one");
    writer.close();
    const chunks: string[] = [];
    for await (const chunk of reader) chunks.push(decode(chunk));
    assert.deepEqual(chunks, ["one"]);
    assert.equal(reader.closed, true);
  });

  await t.step("break", async () => {
    await using s = new TestScope();
    const [{ source: reader, writer }, { source: conn, writer: peer }] = sources(s);
    for (const [source, write] of [[reader, writer], [conn, peer]] as const) {
      write.writeSync("one");
      for await (const chunk of source) {
        assert.equal(decode(chunk), "one");
        break;
      }
    }
    assert.equal(reader.closed, true);
    assert.equal(conn.closed, false);
  });

  await t.step("closed while it waits: it ends cleanly", async () => {
    await using s = new TestScope();
    const { reader } = s.pipe();
    const next = reader[Symbol.asyncIterator]().next();
    await waitedOn(reader.fd, EPOLLIN);
    reader.close();
    assert.deepEqual(await next, { value: undefined, done: true });
  });
});
