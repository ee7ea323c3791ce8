/**
 * The Deno children of bench/compare/wait.ts: each waits the way one figure
 * asks and reports on its last line of output. Every kernel object it uses is
 * created and removed by the driver.
 *
 *   cancel QID NAME FIFO N    N aborts of each kind of parked wait -> JSON { kind: ms[] }
 *   recv-sysv-MODE QID WARM ACK      MODE async (await receive()), sync (receiveSync())
 *                                    or parked (await msgrcv as a raw `nonblocking` FFI call)
 *   recv-posix-MODE NAME WARM ACK
 *       Acks "ready" (the CLOCK_MONOTONIC time, int64 ns, as a type-1 message
 *       on System V queue ACK), receives until the 1-byte message ->
 *       "cpu_ns wall_ns count" from message WARM on (as wait.c's recv-*).
 *   readfile FILE PIPES QIDS PER_QUEUE CALLS
 *       CALLS timed Deno.readTextFile(FILE) with no wait pending, then with a
 *       read() pending on each of PIPES pipes and PER_QUEUE receive() on each
 *       queue of QIDS (comma-separated; types 1..PER_QUEUE) -> JSON { none: ms[], waits: ms[] }
 *
 * @module
 */
import { Fifo, MessageQueue, pipe, PosixMessageQueue } from "../../mod.ts";
import { cpuNs, monotonicNs } from "./common.ts";
import { MTYPE, rawSend } from "./msg_queue_child.ts";
import { LIBC_PATH } from "../../ffi/platform.ts";

/** Type of the acks on the ack queue. */
export const ACK = 1;
/** The message that ends a receiver: 1 byte (data messages have 8). */
export const STOP_SIZE = 1;
/** Bytes of every data message. */
export const DATA_SIZE = 8;

const ackBuf = new Uint8Array(MTYPE + 8);
const ackView = new DataView(ackBuf.buffer);

function ack(queue: number, ns: number): void {
  ackView.setBigInt64(MTYPE, BigInt(Math.round(ns)), true);
  rawSend(queue, ackBuf, ackView, ACK, 8);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits that must stay pending until `abort()`: it aborts them, waits for
 * their ends, and throws if any ended before (an error, or a message) or
 * did not reject with the abort's reason.
 */
class PendingWaits {
  readonly #ac = new AbortController();
  readonly #ends: Promise<void>[] = [];
  #endedEarly = 0;
  readonly signal: AbortSignal = this.#ac.signal;

  add(wait: Promise<unknown>): void {
    const early = () => {
      if (!this.signal.aborted) this.#endedEarly++;
    };
    this.#ends.push(wait.then(
      () => {
        early();
        throw new Error("a wait completed: nothing was to arrive");
      },
      (e) => {
        early();
        if (e !== this.signal.reason) throw e;
      },
    ));
  }

  get size(): number {
    return this.#ends.length;
  }

  async abort(): Promise<void> {
    const early = this.#endedEarly;
    this.#ac.abort();
    await Promise.all(this.#ends);
    if (early > 0) throw new Error(`${early} of ${this.size} waits ended before the abort`);
  }
}

const parkedSymbols = {
  msgrcv: {
    parameters: ["i32", "buffer", "usize", "i64", "i32"],
    result: "isize",
    nonblocking: true,
  },
} as const;
let parkedLib: Deno.DynamicLibrary<typeof parkedSymbols>["symbols"] | undefined;

/**
 * A blocking `msgrcv` of any message on queue `id` as a raw `nonblocking` FFI
 * call (on one of Deno's pool threads): the least parking a call costs.
 */
function parkedReceiver(id: number): () => Promise<number> {
  const { msgrcv } = parkedLib ??= Deno.dlopen(LIBC_PATH, parkedSymbols).symbols;
  const msgbuf = new Uint8Array(MTYPE + 64);
  return async () => {
    const n = Number(await msgrcv(id, msgbuf, 64n, 0n, 0));
    if (n < 0) throw new Error("msgrcv failed");
    return n;
  };
}

/** The time from `abort()` to the rejection being seen, in ms; throws if the wait did not reject. */
async function abortTime(start: (signal: AbortSignal) => Promise<unknown>): Promise<number> {
  const ac = new AbortController();
  const p = start(ac.signal);
  let rejected = false;
  const seen = p.then(() => {}, () => {
    rejected = true;
  });
  // Well past the spin and the first event-loop turns: the wait is parked.
  await sleep(20);
  const t0 = performance.now();
  ac.abort();
  await seen;
  const ms = performance.now() - t0;
  if (!rejected) throw new Error("a wait resolved instead of rejecting");
  return ms;
}

async function cancel(qid: number, name: string, fifo: string, n: number): Promise<void> {
  using q = MessageQueue.fromId(qid);
  using pq = PosixMessageQueue.open(name, { access: "read" });
  using p = pipe();
  const buf = new Uint8Array(DATA_SIZE);
  const kinds: Record<string, (signal: AbortSignal) => Promise<unknown>> = {
    "sysv-receive": (signal) => q.receive({ signal }),
    "pipe-read": (signal) => p.reader.read(buf, { signal }),
    "posix-receive": (signal) => pq.receive({ signal }),
    "fifo-open": (signal) => Fifo.open(fifo, "read", { signal }),
  };
  const out: Record<string, number[]> = {};
  for (let i = 0; i < n; i++) {
    for (const [kind, start] of Object.entries(kinds)) {
      (out[kind] ??= []).push(await abortTime(start));
    }
  }
  console.log(JSON.stringify(out));
}

async function recv(kind: string, target: string, warm: number, ackId: number): Promise<void> {
  let receive: () => number | Promise<number>;
  let close: () => void;
  const [family, mode] = kind.split("-");
  if (family === "sysv" && mode === "parked") {
    close = () => {};
    receive = parkedReceiver(Number(target));
  } else if (family === "sysv") {
    const q = MessageQueue.fromId(Number(target));
    close = () => q.close();
    receive = mode === "sync"
      ? () => q.receiveSync().data.byteLength
      : async () => (await q.receive()).data.byteLength;
  } else if (family === "posix") {
    const q = PosixMessageQueue.open(target, { access: "read" });
    close = () => q.close();
    receive = mode === "sync"
      ? () => q.receiveSync().data.byteLength
      : async () => (await q.receive()).data.byteLength;
  } else {
    usage();
  }
  if (mode !== "sync" && mode !== "async" && mode !== "parked") usage();
  let count = 0;
  let cpu0 = 0;
  let wall0 = 0;
  ack(ackId, monotonicNs());
  while ((await receive()) !== STOP_SIZE) {
    if (++count === warm) {
      cpu0 = cpuNs();
      wall0 = monotonicNs();
    }
  }
  const cpu = cpuNs() - cpu0;
  const wall = monotonicNs() - wall0;
  close();
  if (count < warm) throw new Error("fewer messages than WARM");
  console.log(`${cpu} ${wall} ${count - warm}`);
}

/**
 * `calls` timed reads of `file`, spaced by 5–27 ms (a fixed irregular
 * sequence), so that they sample every moment of the waits' cycles (the poll
 * clock runs all its due tries in one go) rather than one burst of calls.
 */
async function timedReads(file: string, calls: number): Promise<number[]> {
  const out = [];
  for (let i = 0; i < calls; i++) {
    await sleep(5 + (i * 7919) % 23);
    const t0 = performance.now();
    await Deno.readTextFile(file);
    out.push(performance.now() - t0);
  }
  return out;
}

async function readFile(
  file: string,
  pipes: number,
  qids: number[],
  perQueue: number,
  calls: number,
): Promise<void> {
  await timedReads(file, 10); // warm-up
  const none = await timedReads(file, calls);
  const pending = new PendingWaits();
  const { signal } = pending;
  const ps = Array.from({ length: pipes }, () => pipe());
  const qs = qids.map((id) => MessageQueue.fromId(id));
  for (const p of ps) pending.add(p.reader.read(new Uint8Array(1), { signal }));
  // Each of its own type: waits for one queue and selection would share one parked call.
  for (let i = 0; i < perQueue; i++) {
    for (const q of qs) pending.add(q.receive({ type: i + 1, signal }));
  }
  await sleep(300); // every wait parked, or polling on the poll clock
  const waits = await timedReads(file, calls);
  await pending.abort();
  for (const p of ps) {
    p.reader.close();
    p.writer.close();
  }
  for (const q of qs) q.close();
  console.log(JSON.stringify({ none, waits, pending: pending.size }));
}

function usage(): never {
  throw new TypeError(`usage: see wait_child.ts; got ${Deno.args.join(" ")}`);
}

if (import.meta.main) {
  const [role, ...a] = Deno.args;
  const [what, kind] = role?.split(/-(.*)/) ?? [];
  if (role === "cancel" && a.length === 4) {
    await cancel(Number(a[0]), a[1], a[2], Number(a[3]));
  } else if (what === "recv" && a.length === 3) {
    await recv(kind, a[0], Number(a[1]), Number(a[2]));
  } else if (role === "readfile" && a.length === 5) {
    await readFile(a[0], Number(a[1]), a[2].split(",").map(Number), Number(a[3]), Number(a[4]));
  } else {
    usage();
  }
}
