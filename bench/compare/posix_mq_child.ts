/**
 * The Deno child of bench/compare/posix_mq.ts, on the queues named DOWN
 * (parent → child) and UP (child → parent):
 *
 *   echo-MODE DOWN UP   echo every message of DOWN onto UP until a zero-length one
 *   sink-MODE DOWN UP   say "R" on UP, take the messages of DOWN until a zero-length
 *                       one, then answer "count checksum\n" of all their bytes on UP
 *                       (common.ts's stamps)
 *
 * MODE is `sync` or `async` (this library's receiveSync/sendSync or await
 * receive/send; the sink: receiveIntoSync or await receiveInto), `into` (the
 * echo only: receiveIntoSync/sendSync), or `raw`
 * (the floor: mq_receive/mq_send through a plain `Deno.dlopen`, on blocking
 * descriptors, as C does). The sink's "R" and answer are sent with sendSync
 * in every mode of the library: they are not measured.
 *
 * Imported, it only provides {@link rawMq}, which the driver shares.
 *
 * @module
 */
import { PosixMessageQueue } from "../../mod.ts";
import { C, LIBC_PATH } from "../../ffi/platform.ts";
import { foldStamps } from "./common.ts";

const symbols = {
  mq_open: { parameters: ["buffer", "i32", "u32", "buffer"], result: "i32" },
  mq_close: { parameters: ["i32"], result: "i32" },
  mq_send: { parameters: ["i32", "buffer", "u32", "u32"], result: "i32" },
  mq_receive: { parameters: ["i32", "buffer", "u32", "buffer"], result: "i32" },
} as const;

/** Raw blocking queue calls: the least any Deno program pays. */
export interface RawMq {
  /** Opens `name` blocking, for reading (`"read"`) or writing (`"write"`). */
  open(name: string, access: "read" | "write"): number;
  /** Blocking `mq_send`. */
  send(q: number, buf: Uint8Array, len: number): void;
  /** Blocking `mq_receive` into `buf` (as large as the queue's message size); returns the length. */
  receive(q: number, buf: Uint8Array): number;
  /** `mq_close`. */
  close(q: number): void;
}

let raw: RawMq | undefined;

/** Opens libc for the raw rows on first use. */
export function rawMq(): RawMq {
  if (raw !== undefined) return raw;
  const lib = Deno.dlopen(LIBC_PATH, symbols).symbols;
  return raw = {
    open(name, access) {
      const c = new TextEncoder().encode(`${name}\0`);
      const q = lib.mq_open(
        c,
        (access === "read" ? C.O_RDONLY : C.O_WRONLY) | C.O_CLOEXEC,
        0,
        null,
      );
      if (q < 0) throw new Error(`mq_open ${name} failed`);
      return q;
    },
    send(q, buf, len) {
      // EINTR cannot happen here: Deno installs no signal handler that interrupts the main thread's calls.
      if (lib.mq_send(q, buf, len, 0) < 0) throw new Error("mq_send failed");
    },
    receive(q, buf) {
      const n = lib.mq_receive(q, buf, buf.byteLength, null);
      if (n < 0) throw new Error("mq_receive failed");
      return n;
    },
    close(q) {
      lib.mq_close(q);
    },
  };
}

/** Large enough for any queue of the driver: the kernel's default largest message. */
const ROOM = 8192;

if (import.meta.main) {
  const [role, mode] = Deno.args[0]?.split("-") ?? [];
  const [down, up] = Deno.args.slice(1);
  if (down === undefined || up === undefined) usage();
  if (role === "echo") await echo(mode, down, up);
  else if (role === "sink") await sink(mode, down, up);
  else usage();
}

/** Echoes every message of `down` onto `up` until a zero-length one. */
async function echo(mode: string, down: string, up: string): Promise<void> {
  if (mode === "raw") {
    const mq = rawMq();
    const input = mq.open(down, "read");
    const output = mq.open(up, "write");
    const buf = new Uint8Array(ROOM);
    for (let n; (n = mq.receive(input, buf)) > 0;) mq.send(output, buf, n);
    mq.close(input);
    mq.close(output);
  } else if (mode === "into") {
    using input = PosixMessageQueue.open(down, { access: "read" });
    using output = PosixMessageQueue.open(up, { access: "write" });
    const buf = new Uint8Array(ROOM);
    for (let n; (n = input.receiveIntoSync(buf).size) > 0;) output.sendSync(buf.subarray(0, n));
  } else if (mode === "sync" || mode === "async") {
    using input = PosixMessageQueue.open(down, { access: "read" });
    using output = PosixMessageQueue.open(up, { access: "write" });
    if (mode === "sync") {
      for (let m; (m = input.receiveSync().data).byteLength > 0;) output.sendSync(m);
    } else {
      for (let m; (m = (await input.receive()).data).byteLength > 0;) await output.send(m);
    }
  } else {
    usage();
  }
}

/** Says "R", folds the stamps of `down`'s messages until an empty one, answers "count checksum". */
async function sink(mode: string, down: string, up: string): Promise<void> {
  let pos = 0;
  let sum = 0;
  if (mode === "raw") {
    const mq = rawMq();
    const input = mq.open(down, "read");
    const output = mq.open(up, "write");
    const say = (line: string) => {
      const text = new TextEncoder().encode(line);
      mq.send(output, text, text.byteLength);
    };
    const buf = new Uint8Array(ROOM);
    say("R");
    for (let n; (n = mq.receive(input, buf)) > 0;) {
      sum = foldStamps(sum, buf, n, pos);
      pos += n;
    }
    say(`${pos} ${sum}\n`);
    mq.close(input);
    mq.close(output);
  } else if (mode === "sync" || mode === "async") {
    using input = PosixMessageQueue.open(down, { access: "read" });
    using output = PosixMessageQueue.open(up, { access: "write" });
    const buf = new Uint8Array(input.messageSize);
    output.sendSync("R");
    for (;;) {
      const n = mode === "sync"
        ? input.receiveIntoSync(buf).size
        : (await input.receiveInto(buf)).size;
      if (n === 0) break;
      sum = foldStamps(sum, buf, n, pos);
      pos += n;
    }
    output.sendSync(`${pos} ${sum}\n`);
  } else {
    usage();
  }
}

function usage(): never {
  throw new TypeError(`usage: posix_mq_child.ts echo-MODE|sink-MODE DOWN UP, got ${Deno.args}`);
}
