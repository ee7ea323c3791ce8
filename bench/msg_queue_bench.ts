/**
 * One-process System V message queue costs: send a message and take it back,
 * 64 B and 4 KiB, through this library's sync and async forms, against the
 * same libc calls made through a plain `Deno.dlopen` (the least any Deno code
 * can pay: no checks, no copy of the received bytes). The difference is what
 * the library adds per call: argument checks, the msgbuf layout, the copy
 * handed to the caller, errno handling, promises. The raw calls followed by a
 * `slice` of the received bytes show what a message with bytes of its own
 * costs in Deno before any library code (a new ArrayBuffer is several
 * allocations in C); `receiveIntoSync` shows the library without that cost.
 *
 * Run: `deno bench --allow-ffi bench/msg_queue_bench.ts`. Two-process
 * figures (ping-pong against C) are in bench/compare/msg_queue.ts.
 *
 * @module
 */
import { MessageQueue } from "../mod.ts";
import { LIBC_PATH } from "../ffi/platform.ts";

const libc = Deno.dlopen(LIBC_PATH, {
  // Declared as the library declares them (u32 sizes keep the calls on V8's fast path).
  msgsnd: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  msgrcv: { parameters: ["i32", "buffer", "u32", "i64", "i32"], result: "i32" },
}).symbols;

const IPC_NOWAIT = 0o4000;
const MTYPE = 8; // sizeof(long): mtext follows mtype in a msgbuf
const SMALL = 64;
const LARGE = 4096;

const queues: MessageQueue[] = [];
// Deno.bench has no teardown hook; the queues are removed when the bench module unloads.
globalThis.addEventListener("unload", () => queues.forEach((q) => q.remove()));

function fixture(size: number) {
  const q = MessageQueue.open("private");
  queues.push(q);
  const msgbuf = new Uint8Array(MTYPE + size).fill(7);
  new DataView(msgbuf.buffer).setBigInt64(0, 1n, true);
  return {
    q,
    id: q.id,
    data: new Uint8Array(size).fill(7),
    msgbuf,
    into: new Uint8Array(MTYPE + size),
  };
}

/** Fails loudly rather than timing a call that did nothing. */
function expect(n: number, size: number): void {
  if (n !== size) throw new Error(`moved ${n} bytes, expected ${size}`);
}

for (const size of [SMALL, LARGE]) {
  const label = size === SMALL ? "64 B" : "4 KiB";
  const group = `${label} send + receive`;

  {
    const f = fixture(size);
    Deno.bench({
      name: `${label} raw libc msgsnd + msgrcv (Deno.dlopen)`,
      group,
      baseline: true,
      fn() {
        expect(libc.msgsnd(f.id, f.msgbuf, size, IPC_NOWAIT) === 0 ? size : -1, size);
        expect(libc.msgrcv(f.id, f.into, size, 0n, IPC_NOWAIT), size);
      },
    });
  }
  {
    const f = fixture(size);
    Deno.bench({
      name: `${label} raw libc msgsnd + msgrcv + slice (a message's own bytes)`,
      group,
      fn() {
        expect(libc.msgsnd(f.id, f.msgbuf, size, IPC_NOWAIT) === 0 ? size : -1, size);
        expect(libc.msgrcv(f.id, f.into, size, 0n, IPC_NOWAIT), size);
        expect(f.into.slice(MTYPE).byteLength, size);
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
        f.q.sendSync(f.data);
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
        f.q.sendSync(f.data);
        expect(f.q.receiveSync().data.byteLength, size);
      },
    });
  }
  {
    const f = fixture(size);
    Deno.bench({
      name: `${label} await send + receive`,
      group,
      async fn() {
        await f.q.send(f.data);
        expect((await f.q.receive()).data.byteLength, size);
      },
    });
  }
  {
    const f = fixture(size);
    Deno.bench({
      name: `${label} sendSync + receiveSync, typed (type 5, maxSize)`,
      group,
      fn() {
        f.q.sendSync(f.data, { type: 5 });
        expect(f.q.receiveSync({ type: 5, maxSize: size }).data.byteLength, size);
      },
    });
  }
}

// Code runs cold right after a system call: a copy of 64 B costs several times
// what it costs in a loop of its own (src/_copy.ts copies small messages by hand
// for that reason). Each case takes one message, then copies its bytes.
{
  const f = fixture(SMALL);
  const text = f.into.subarray(MTYPE);
  const target = new Uint8Array(SMALL);
  const roundTrip = () => {
    libc.msgsnd(f.id, f.msgbuf, SMALL, IPC_NOWAIT);
    expect(libc.msgrcv(f.id, f.into, SMALL, 0n, IPC_NOWAIT), SMALL);
  };
  const group = "64 B copy after a msgrcv";
  Deno.bench({ name: "msgsnd + msgrcv, no copy", group, baseline: true, fn: roundTrip });
  Deno.bench({
    name: "msgsnd + msgrcv, then target.set(subarray)",
    group,
    fn() {
      roundTrip();
      target.set(f.into.subarray(MTYPE, MTYPE + SMALL));
    },
  });
  Deno.bench({
    name: "msgsnd + msgrcv, then a loop copy",
    group,
    fn() {
      roundTrip();
      for (let i = 0; i < SMALL; i++) target[i] = text[i];
    },
  });
  Deno.bench({
    name: "target.set(subarray) alone",
    group,
    fn() {
      target.set(f.into.subarray(MTYPE, MTYPE + SMALL));
    },
  });
}
