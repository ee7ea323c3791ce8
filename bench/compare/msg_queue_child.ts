/**
 * The Deno child of bench/compare/msg_queue.ts, on the System V queue ID:
 * it takes type 1 (parent → child) and answers with type 2 (child → parent).
 *
 *   echo-MODE ID SIZE   echo each message of at most SIZE bytes back until an empty one
 *   sink-MODE ID SIZE   say "R", take messages of at most SIZE bytes until an empty one,
 *                       then answer "count checksum\n" of all their bytes (common.ts's stamps)
 *
 * MODE is `sync` (receiveSync/sendSync; the sink: receiveIntoSync), `into`
 * (the echo only: receiveIntoSync/sendSync) or `async` (await receive/send;
 * the sink: await receiveInto) of this library, or `raw`
 * (the floor: blocking msgrcv/msgsnd through a plain `Deno.dlopen`, see
 * {@link rawMsg}). The sink's "R" and answer are sent with sendSync in
 * every mode of the library: they are not measured.
 *
 * @module
 */
import { MessageQueue } from "../../mod.ts";
import { LIBC_PATH } from "../../ffi/platform.ts";
import { foldStamps } from "./common.ts";

/** Parent → child. */
export const DOWN = 1;
/** Child → parent. */
export const UP = 2;
/** sizeof(long): the message text follows the type in a msgbuf. */
export const MTYPE = 8;

const symbols = {
  msgsnd: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  msgrcv: { parameters: ["i32", "buffer", "u32", "i64", "i32"], result: "i32" },
} as const;

/** msgsnd/msgrcv, declared as the library declares them. */
export type RawMsg = Deno.DynamicLibrary<typeof symbols>["symbols"];

let raw: RawMsg | undefined;

/** Opens libc's message-queue calls on first use. */
export function rawMsg(): RawMsg {
  return raw ??= Deno.dlopen(LIBC_PATH, symbols).symbols;
}

/** A blocking msgsnd of `size` bytes of `msgbuf` (type set here). */
export function rawSend(
  id: number,
  msgbuf: Uint8Array,
  view: DataView,
  type: number,
  size: number,
) {
  view.setBigInt64(0, BigInt(type), true);
  if (rawMsg().msgsnd(id, msgbuf, size, 0) < 0) throw new Error("msgsnd failed");
}

/** A blocking msgrcv of a message of `type`; returns its size. */
export function rawReceive(id: number, msgbuf: Uint8Array, type: bigint, max: number): number {
  const n = rawMsg().msgrcv(id, msgbuf, max, type, 0);
  if (n < 0) throw new Error("msgrcv failed");
  return n;
}

if (import.meta.main) {
  const [role, mode] = Deno.args[0]?.split("-") ?? [];
  const id = Number(Deno.args[1]);
  const size = Number(Deno.args[2]);
  if (!(size > 0)) usage();
  if (role === "echo") await echo(mode, id, size);
  else if (role === "sink") await sink(mode, id, size);
  else usage();
}

/** Echoes type-1 messages back as type 2 until an empty one. */
async function echo(mode: string, id: number, size: number): Promise<void> {
  if (mode === "raw") {
    const msgbuf = new Uint8Array(MTYPE + size);
    const view = new DataView(msgbuf.buffer);
    const down = BigInt(DOWN);
    for (let n; (n = rawReceive(id, msgbuf, down, size)) > 0;) rawSend(id, msgbuf, view, UP, n);
  } else if (mode === "into") {
    using q = MessageQueue.fromId(id);
    const buf = new Uint8Array(size);
    const into = { type: DOWN };
    const out = { type: UP };
    for (let n; (n = q.receiveIntoSync(buf, into).size) > 0;) q.sendSync(buf.subarray(0, n), out);
  } else if (mode === "sync" || mode === "async") {
    using q = MessageQueue.fromId(id);
    const into = { type: DOWN, maxSize: size };
    const out = { type: UP };
    if (mode === "sync") {
      for (let m; (m = q.receiveSync(into)).data.byteLength > 0;) q.sendSync(m.data, out);
    } else {
      for (let m; (m = await q.receive(into)).data.byteLength > 0;) await q.send(m.data, out);
    }
  } else {
    usage();
  }
}

/** Says "R", folds the stamps of type-1 messages until an empty one, answers "count checksum". */
async function sink(mode: string, id: number, size: number): Promise<void> {
  let pos = 0;
  let sum = 0;
  if (mode === "raw") {
    const msgbuf = new Uint8Array(MTYPE + size);
    const view = new DataView(msgbuf.buffer);
    const text = msgbuf.subarray(MTYPE);
    const say = (line: string) => {
      const { written } = new TextEncoder().encodeInto(line, text);
      rawSend(id, msgbuf, view, UP, written);
    };
    const down = BigInt(DOWN);
    say("R");
    for (let n; (n = rawReceive(id, msgbuf, down, size)) > 0;) {
      sum = foldStamps(sum, text, n, pos);
      pos += n;
    }
    say(`${pos} ${sum}\n`);
  } else if (mode === "sync" || mode === "async") {
    using q = MessageQueue.fromId(id);
    const buf = new Uint8Array(size);
    const into = { type: DOWN };
    const out = { type: UP };
    q.sendSync("R", out);
    for (;;) {
      const n = mode === "sync"
        ? q.receiveIntoSync(buf, into).size
        : (await q.receiveInto(buf, into)).size;
      if (n === 0) break;
      sum = foldStamps(sum, buf, n, pos);
      pos += n;
    }
    q.sendSync(`${pos} ${sum}\n`, out);
  } else {
    usage();
  }
}

function usage(): never {
  throw new TypeError(`usage: msg_queue_child.ts echo-MODE|sink-MODE ID SIZE, got ${Deno.args}`);
}
