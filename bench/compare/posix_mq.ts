/**
 * Cross-process POSIX message queue comparison: a 64 B ping-pong over two
 * queues (parent → child on one, back on the other), in C (posix_mq.c:
 * blocking `mq_send`/`mq_receive`, fork), with raw libc calls through
 * `Deno.dlopen` (the floor: the least any Deno program pays), with this
 * library's sync and async forms, and in Python 3 with `posix_ipc` where that
 * module is installed (python/posix_mq.py). Every row is measured in the same
 * run, at every placement of harness.ts, and reported as a ratio to the C
 * baseline.
 *
 * Run: `deno task bench:compare:posix-mq` (Linux; needs a C compiler as `cc`),
 * or all drivers with `deno task bench:compare`. `--raw` also prints every
 * sample. Every queue is removed, whatever happens: the C program unlinks its
 * queues as soon as both processes hold them (so does the Python program), the
 * driver in `finally`.
 *
 * @module
 */
import { type ChildProcess, PosixMessageQueue, spawn } from "../../mod.ts";
import {
  atInterrupt,
  checkStatus,
  type Measure,
  type Mode,
  MSG,
  pingPongSection,
  placed,
  RoundClock,
  standalone,
} from "./harness.ts";
import { rawMq } from "./posix_mq_child.ts";
import { pyPingPong, Python } from "./python/python.ts";

const CHILD = new URL("posix_mq_child.ts", import.meta.url);

let serial = 0;

function unlinkQuietly(name: string): void {
  try {
    PosixMessageQueue.unlink(name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** One 64 B ping-pong run in `mode` against posix_mq_child.ts: µs per round trip. */
export function ffiPingPong(mode: Mode): Measure {
  return async (where, laps) => {
    const base = `/libc-ipc-bench-${Deno.pid}-${++serial}`;
    const down = `${base}-down`;
    const up = `${base}-up`;
    const size = { create: true, exclusive: true, maxMessages: 10, messageSize: MSG } as const;
    const forget = atInterrupt(() => [down, up].forEach(unlinkQuietly));
    using tx = PosixMessageQueue.open(down, { ...size, access: "write" });
    using rx = PosixMessageQueue.open(up, { ...size, access: "read" });
    let child: ChildProcess | undefined;
    const mq = rawMq();
    // The raw row blocks in mq_send/mq_receive, as C does: descriptors of its own.
    const rawTx = mode === "raw" ? mq.open(down, "write") : -1;
    const rawRx = mode === "raw" ? mq.open(up, "read") : -1;
    try {
      child = placed(where, () => spawn(CHILD, { args: [`echo-${mode}`, down, up] }));
      const buf = new Uint8Array(MSG);
      const into = new Uint8Array(MSG);
      const clock = new RoundClock();
      for (let i = 0; i < clock.total; i++) {
        clock.tick(i);
        buf[0] = i & 255;
        let back: Uint8Array;
        if (mode === "sync") {
          tx.sendSync(buf);
          back = rx.receiveSync().data;
        } else if (mode === "async") {
          await tx.send(buf);
          back = (await rx.receive()).data;
        } else {
          mq.send(rawTx, buf, MSG);
          back = into.subarray(0, mq.receive(rawRx, into));
        }
        if (back.byteLength !== MSG || back[0] !== (i & 255)) throw new Error("bad echo");
        // The child holds both queues now: their names can go.
        if (i === 0) [down, up].forEach(unlinkQuietly);
      }
      clock.tick(clock.total);
      if (mode === "raw") mq.send(rawTx, buf, 0);
      else tx.sendSync(new Uint8Array(0));
      await checkStatus(child.status, "posix_mq_child.ts");
      return clock.laps(laps);
    } finally {
      if (rawTx >= 0) mq.close(rawTx);
      if (rawRx >= 0) mq.close(rawRx);
      [down, up].forEach(unlinkQuietly);
      forget();
      if (child !== undefined) {
        try {
          child.kill("SIGKILL");
        } catch {
          // Already ended.
        }
        await child.status.catch(() => {});
      }
    }
  };
}

/** Measures every row; returns the section of the report. */
export async function main(): Promise<string> {
  const python = (await Python.find()).row(
    "posix_ipc.MessageQueue send/receive",
    pyPingPong("posix_mq.py"),
    { needs: "posix_ipc" },
  );
  return await pingPongSection({
    title: "POSIX message queues",
    over: "two POSIX message queues",
    source: "posix_mq.c",
    names: {
      c: "C (fork; blocking mq_send/mq_receive)",
      raw: "raw libc via Deno.dlopen, blocking (floor)",
      sync: "@libc/ipc sync: sendSync/receiveSync",
      async: "@libc/ipc async: await send/receive",
    },
    measure: ffiPingPong,
    others: python,
  });
}

if (import.meta.main) await standalone(main);
