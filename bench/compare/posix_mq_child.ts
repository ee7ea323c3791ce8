/**
 * The Deno child of bench/compare/posix_mq.ts: echoes every message of queue
 * DOWN onto queue UP until a zero-length message comes.
 *
 *   echo-MODE DOWN UP
 *
 * MODE is `sync` or `async` (this library's receiveSync/sendSync or await
 * receive/send), or `raw` (the floor: mq_receive/mq_send through a plain
 * `Deno.dlopen`, on blocking descriptors, as C does).
 *
 * Imported, it only provides {@link rawMq}, which the driver shares.
 *
 * @module
 */
import { PosixMessageQueue } from "../../mod.ts";
import { C, LIBC_PATH } from "../../ffi/platform.ts";

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

if (import.meta.main) {
  const [role, mode] = Deno.args[0]?.split("-") ?? [];
  const [down, up] = Deno.args.slice(1);
  if (role !== "echo" || down === undefined || up === undefined) {
    throw new TypeError(`usage: posix_mq_child.ts echo-MODE DOWN UP, got ${Deno.args}`);
  }
  if (mode === "raw") {
    const mq = rawMq();
    const input = mq.open(down, "read");
    const output = mq.open(up, "write");
    // Large enough for any queue of the driver.
    const buf = new Uint8Array(8192);
    for (let n; (n = mq.receive(input, buf)) > 0;) mq.send(output, buf, n);
    mq.close(input);
    mq.close(output);
  } else if (mode === "sync" || mode === "async") {
    using input = PosixMessageQueue.open(down, { access: "read" });
    using output = PosixMessageQueue.open(up, { access: "write" });
    if (mode === "sync") {
      for (let m; (m = input.receiveSync().data).byteLength > 0;) output.sendSync(m);
    } else {
      for (let m; (m = (await input.receive()).data).byteLength > 0;) await output.send(m);
    }
  } else {
    throw new TypeError(`unknown mode ${mode}`);
  }
}
