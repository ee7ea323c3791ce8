/**
 * Cross-process POSIX message queue comparison, over two queues (parent →
 * child on one, back on the other): a 64 B ping-pong, and a stream of 8 KiB
 * messages parent → child, in messages per second. In C (posix_mq.c:
 * blocking `mq_send`/`mq_receive`, fork), with raw libc calls through
 * `Deno.dlopen` (the floor: the least any Deno program pays), with this
 * library's sync and async forms, and in Python 3 with `posix_ipc` where that
 * module is installed (python/posix_mq.py). Every row is measured in the same
 * run, at every placement of harness.ts, and reported as a ratio to the C
 * baseline.
 *
 * The stream's messages are 8192 bytes, the largest the kernel takes by
 * default (`fs.mqueue.msgsize_max`), in a queue of 10 (`fs.mqueue.msg_max`,
 * the most a queue made without privileges may hold by default); the answers
 * come back on a queue of 64-byte messages. The stream's size, and its table,
 * are msg_queue.ts's.
 *
 * Run: `deno task bench:compare:posix-mq` (Linux; needs a C compiler as `cc`),
 * or all drivers with `deno task bench:compare`. `--raw` also prints every
 * sample. Every queue is removed, whatever happens: the C program unlinks its
 * queues as soon as both processes hold them (so does the Python program), the
 * driver once the child has opened them, and in `finally` and on Ctrl-C (its
 * Deno children block SIGINT so that they see a run through: see
 * msg_queue.ts's `spawnChild`).
 *
 * @module
 */
import { type ChildProcess, PosixMessageQueue } from "../../mod.ts";
import {
  atInterrupt,
  checkStatus,
  type Measure,
  type Mode,
  MSG,
  RoundClock,
  standalone,
} from "./harness.ts";
import {
  ANSWER,
  BULK,
  MESSAGE,
  messageRate,
  type QueueMode,
  queueSection,
  spawnChild,
} from "./msg_queue.ts";
import { type RawMq, rawMq } from "./posix_mq_child.ts";

const CHILD = new URL("posix_mq_child.ts", import.meta.url);

let serial = 0;

function unlinkQuietly(name: string): void {
  try {
    PosixMessageQueue.unlink(name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** What a run made: closes the raw descriptors, unlinks the queues, kills the child if it runs. */
async function release(
  mq: RawMq,
  fds: number[],
  names: string[],
  forget: () => void,
  child: ChildProcess | undefined,
): Promise<void> {
  for (const fd of fds) if (fd >= 0) mq.close(fd);
  names.forEach(unlinkQuietly);
  forget();
  if (child === undefined) return;
  try {
    child.kill("SIGKILL");
  } catch {
    // Already ended.
  }
  await child.status.catch(() => {});
}

/** One 64 B ping-pong run in `mode` against posix_mq_child.ts: µs per round trip. */
export function ffiPingPong(mode: QueueMode): Measure {
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
      child = spawnChild(where, CHILD, [`echo-${mode}`, down, up]);
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
        } else if (mode === "into") {
          tx.sendSync(buf);
          back = into.subarray(0, rx.receiveIntoSync(into).size);
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
      await release(mq, [rawTx, rawRx], [down, up], forget, child);
    }
  };
}

/** One throughput run in `mode` against posix_mq_child.ts: messages per second. */
export function ffiTransfer(mode: Mode): Measure {
  return async (where) => {
    const base = `/libc-ipc-bench-${Deno.pid}-${++serial}`;
    const down = `${base}-down`;
    const up = `${base}-up`;
    const made = { create: true, exclusive: true, maxMessages: 10 } as const;
    const forget = atInterrupt(() => [down, up].forEach(unlinkQuietly));
    let child: ChildProcess | undefined;
    const mq = rawMq();
    let rawTx = -1;
    let rawRx = -1;
    try {
      using tx = PosixMessageQueue.open(down, { ...made, messageSize: MESSAGE, access: "write" });
      using rx = PosixMessageQueue.open(up, { ...made, messageSize: ANSWER, access: "read" });
      // The raw row blocks in mq_send/mq_receive, as C does: descriptors of its own.
      if (mode === "raw") {
        rawTx = mq.open(down, "write");
        rawRx = mq.open(up, "read");
      }
      child = spawnChild(where, CHILD, [`sink-${mode}`, down, up]);
      const chunk = new Uint8Array(MESSAGE);
      const answer = new Uint8Array(ANSWER);
      const decoder = new TextDecoder();
      /** What the child says on `up`, taken in `mode`. */
      const heard = async () => {
        const n = mode === "raw"
          ? mq.receive(rawRx, answer)
          : mode === "sync"
          ? rx.receiveIntoSync(answer).size
          : (await rx.receiveInto(answer)).size;
        return decoder.decode(answer.subarray(0, n));
      };
      // The child says when it is ready, so its start-up time stays out of the figure.
      if (await heard() !== "R") throw new Error("no ready from the child");
      // The child holds both queues now: their names can go.
      [down, up].forEach(unlinkQuietly);
      const t0 = await BULK.send(
        chunk,
        mode === "sync"
          ? () => tx.sendSync(chunk)
          : mode === "async"
          ? () => tx.send(chunk)
          : () => mq.send(rawTx, chunk, MESSAGE),
      );
      if (mode === "raw") mq.send(rawTx, chunk, 0);
      else tx.sendSync(new Uint8Array(0)); // ends the stream
      const report = await heard();
      const ms = performance.now() - t0;
      await checkStatus(child.status, "posix_mq_child.ts");
      BULK.check(report);
      return messageRate(ms);
    } finally {
      await release(mq, [rawTx, rawRx], [down, up], forget, child);
    }
  };
}

// --------------------------------------------------------------------- main

/** Measures every row; returns the section of the report. */
export function main(): Promise<string> {
  return queueSection({
    title: "POSIX message queues",
    program: "posix_mq",
    python: { needs: "posix_ipc", how: "posix_ipc.MessageQueue send/receive" },
    names: {
      c: "C (fork; blocking mq_send/mq_receive)",
      raw: "raw libc via Deno.dlopen, blocking (floor)",
      sync: "@libc/ipc sync: sendSync/receiveSync",
      into: "@libc/ipc sync: sendSync/receiveIntoSync",
      async: "@libc/ipc async: await send/receive",
    },
    pingPong: ffiPingPong,
    transfer: ffiTransfer,
    pingPongOver: "two POSIX message queues",
    transferOver: "a POSIX message queue (10 messages deep; the child answers on a second one)",
    limits: `${MESSAGE} bytes is the largest message the kernel takes by default ` +
      "(`fs.mqueue.msgsize_max`), 10 the most messages a queue may hold by default " +
      "(`fs.mqueue.msg_max`).",
  });
}

if (import.meta.main) await standalone(main);
