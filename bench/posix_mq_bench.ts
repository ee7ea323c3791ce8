/**
 * One-process POSIX message queue costs: send a message and receive it back,
 * 64 B and 4 KiB, through this library's sync, try and async forms, against
 * the same libc calls made through a plain `Deno.dlopen` (the least any Deno
 * code can pay). The difference is what the library adds per message: checks,
 * errno handling, the copy of the received bytes, promises. The raw calls
 * followed by a `slice` show what a message with bytes of its own costs in
 * Deno before any library code; `receiveIntoSync` shows the library without
 * that cost.
 *
 * Run: `deno bench --allow-ffi bench/posix_mq_bench.ts`. Two-process figures
 * against C are in bench/compare/posix_mq.ts.
 *
 * @module
 */
import { PosixMessageQueue } from "../mod.ts";
import { LIBC_PATH } from "../ffi/platform.ts";

const libc = Deno.dlopen(LIBC_PATH, {
  mq_send: { parameters: ["i32", "buffer", "u32", "u32"], result: "i32" },
  mq_receive: { parameters: ["i32", "buffer", "u32", "buffer"], result: "i32" },
}).symbols;

const SMALL = 64;
const LARGE = 4096;

const queues: PosixMessageQueue[] = [];
// Deno.bench has no teardown hook; the queues are closed when the bench module unloads.
globalThis.addEventListener("unload", () => queues.forEach((q) => q.close()));

function fixture(size: number) {
  const name = `/libc-ipc-bench-${Deno.pid}-${queues.length}`;
  const q = PosixMessageQueue.open(name, {
    create: true,
    exclusive: true,
    maxMessages: 2,
    messageSize: size,
  });
  // The name goes at once: the open descriptor keeps the queue, and nothing is left behind.
  PosixMessageQueue.unlink(name);
  queues.push(q);
  return {
    q,
    fd: q.fd,
    out: new Uint8Array(size).fill(7),
    // mq_receive(3) wants room for the queue's largest message.
    into: new Uint8Array(size),
    prio: new Uint32Array(1),
  };
}

/** Fails loudly rather than timing a short transfer. */
function expect(n: number, size: number): void {
  if (n !== size) throw new Error(`moved ${n} bytes, expected ${size}`);
}

for (const size of [SMALL, LARGE]) {
  const label = size === SMALL ? "64 B" : "4 KiB";
  const group = `${label} send + receive`;

  {
    const f = fixture(size);
    Deno.bench({
      name: `${label} raw libc mq_send + mq_receive (Deno.dlopen)`,
      group,
      baseline: true,
      fn() {
        if (libc.mq_send(f.fd, f.out, size, 1) !== 0) throw new Error("mq_send failed");
        expect(libc.mq_receive(f.fd, f.into, size, f.prio), size);
      },
    });
  }
  {
    const f = fixture(size);
    Deno.bench({
      name: `${label} raw libc mq_send + mq_receive + slice (a message's own bytes)`,
      group,
      fn() {
        if (libc.mq_send(f.fd, f.out, size, 1) !== 0) throw new Error("mq_send failed");
        expect(libc.mq_receive(f.fd, f.into, size, f.prio), size);
        expect(f.into.slice().byteLength, size);
      },
    });
  }
  {
    const f = fixture(size);
    const into = new Uint8Array(size);
    Deno.bench({
      name: `${label} sendSync + receiveIntoSync`,
      group,
      fn() {
        f.q.sendSync(f.out, { priority: 1 });
        expect(f.q.receiveIntoSync(into).size, size);
      },
    });
  }
  {
    const f = fixture(size);
    Deno.bench({
      name: `${label} sendSync + receiveSync`,
      group,
      fn() {
        f.q.sendSync(f.out, { priority: 1 });
        expect(f.q.receiveSync().data.byteLength, size);
      },
    });
  }
  {
    const f = fixture(size);
    Deno.bench({
      name: `${label} trySend + tryReceive`,
      group,
      fn() {
        f.q.trySend(f.out, { priority: 1 });
        expect(f.q.tryReceive().data.byteLength, size);
      },
    });
  }
  {
    const f = fixture(size);
    Deno.bench({
      name: `${label} await send + await receive`,
      group,
      async fn() {
        await f.q.send(f.out, { priority: 1 });
        expect((await f.q.receive()).data.byteLength, size);
      },
    });
  }
}
