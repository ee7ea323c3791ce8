/**
 * The Deno child of bench/compare/msg_queue.ts: echoes messages on the System
 * V queue <id>, taking type 1 (parent → child) and answering with type 2
 * (child → parent), until an empty message arrives.
 *
 *   echo-MODE ID SIZE
 *
 * MODE is `sync` (receiveSync/sendSync) or `async` (await receive/send) of
 * this library, or `raw` (the floor: blocking msgrcv/msgsnd through a plain
 * `Deno.dlopen`, see {@link rawMsg}).
 *
 * @module
 */
import { MessageQueue } from "../../mod.ts";
import { LIBC_PATH } from "../../ffi/platform.ts";

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
  if (role !== "echo" || !(size > 0)) usage();
  if (mode === "raw") {
    const msgbuf = new Uint8Array(MTYPE + size);
    const view = new DataView(msgbuf.buffer);
    const down = BigInt(DOWN);
    for (let n; (n = rawReceive(id, msgbuf, down, size)) > 0;) rawSend(id, msgbuf, view, UP, n);
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

function usage(): never {
  throw new TypeError(`usage: msg_queue_child.ts echo-MODE ID SIZE, got ${Deno.args}`);
}
