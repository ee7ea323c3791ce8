/**
 * Cross-process System V message queue comparison, over one queue (type 1
 * parent → child, type 2 back): a 64 B ping-pong, and a stream of 8 KiB
 * messages parent → child, in messages per second. In C (msg_queue.c: fork,
 * blocking msgsnd/msgrcv), through raw libc calls from Deno (the floor),
 * through this library's sync and async forms, and in Python 3 with
 * `sysv_ipc` where that module is installed (python/msg_queue.py). Every row
 * is measured in the same run, at every placement of harness.ts, and
 * reported as a ratio to the C baseline.
 *
 * The stream's messages are 8192 bytes, the largest the kernel takes by
 * default (`kernel.msgmax`), and the queue keeps the capacity a new queue
 * gets (`kernel.msgmnb`: 16 KiB by default, two such messages in flight).
 *
 * Run: `deno task bench:compare:mq` (Linux; needs a C compiler as `cc`), or
 * all drivers with `deno task bench:compare`. `--raw` also prints every sample.
 * Every queue is removed, whatever happens short of SIGKILL: the driver's in
 * `finally` and on Ctrl-C (its Deno children block SIGINT so that they see
 * a run through, see {@link spawnChild}), the C and Python programs' on
 * every exit, Ctrl-C included.
 *
 * Also shared with posix_mq.ts: the stream ({@link BULK}), the conversion of a
 * C or Python program's figure ({@link printedMessages}), the throughput
 * table ({@link throughputTable}) and how a Deno child starts ({@link spawnChild}).
 *
 * @module
 */
import { type ChildProcess, MessageQueue, spawn } from "../../mod.ts";
import { Transfer } from "./common.ts";
import {
  atInterrupt,
  checkStatus,
  cPingPong,
  fixed,
  goalsOf,
  mark,
  type Measure,
  measure,
  type Mode,
  MSG,
  pingPongIntro,
  pingPongTable,
  placed,
  type Placement,
  placements,
  printedTransfer,
  procText,
  quick,
  RoundClock,
  type Row,
  row,
  runC,
  section,
  standalone,
  table,
  withC,
} from "./harness.ts";
import { DOWN, MTYPE, rawReceive, rawSend, UP } from "./msg_queue_child.ts";
import { THROUGHPUT_GOAL } from "./socket.ts";
import { pyPingPong, Python, type PythonModule, runPython } from "./python/python.ts";

const CHILD = new URL("msg_queue_child.ts", import.meta.url);

/**
 * Bytes per message of the throughput tables: the largest message the kernel
 * takes by default (System V `kernel.msgmax`, POSIX `fs.mqueue.msgsize_max`).
 */
export const MESSAGE = 8192;
/**
 * Throughput: timed bytes, bytes per message, untimed bytes sent first. The
 * untimed messages are many for the reason of the harness's WARMUP: with 200
 * of them, the library's code and even raw FFI calls had not settled (System
 * V on two CPUs: 88 000 and 121 000 messages/s, against 211 000 and 283 000
 * after 20 000).
 */
export const BULK = new Transfer(
  quick(10_000, 60) * MESSAGE,
  MESSAGE,
  quick(20_000, 20) * MESSAGE,
);
/** Messages per throughput run: the timed ones, and the untimed ones sent first. */
export const MESSAGES = BULK.total / MESSAGE;
export const WARM_MESSAGES = BULK.warm / MESSAGE;
/** Room for what a throughput child says: "R" when ready, then "count checksum\n". */
export const ANSWER = 64;

/** Messages per second of {@link BULK}'s timed messages, sent in `ms`. */
export function messageRate(ms: number): number {
  return MESSAGES / (ms / 1000);
}

/** A C or Python transfer's measure (MiB/s of {@link BULK}) in messages per second. */
export function inMessages(mibPerSecond: Measure): Measure {
  return async (where) => await mibPerSecond(where) * 2 ** 20 / MESSAGE;
}

/** The C or Python row of the throughput: `run(["transfer", TOTAL, CHUNK, WARM, [CHILD_CPU]])`. */
export function printedMessages(run: (args: string[]) => Promise<string>): Measure {
  return inMessages(printedTransfer(BULK, run));
}

/** The paragraph above a throughput table: `over` is what carries the messages, `about` ends it. */
export function throughputIntro(over: string, about: string): string {
  return `**Throughput**: ${MESSAGES} messages of ${MESSAGE} bytes parent → child ` +
    `over ${over}, after ${WARM_MESSAGES} unmeasured; the child counts and checksums ` +
    "every message's bytes and answers when the last is taken, which stops the clock. " + about;
}

/** The throughput table: messages/s, MiB/s, the ratio to row `cRow`, the goal of `goals`' rows. */
export function throughputTable(
  rows: Row[],
  where: Placement[],
  cRow: string,
  goals: string[],
): string[] {
  return table(rows, where, "messages/s", 0, ["MiB/s", "vs C", "goal"], (r, m, at) => {
    const c = m / at(cRow);
    const goal = goals.includes(r.name)
      ? `≥ ${THROUGHPUT_GOAL}× C ${mark(c >= THROUGHPUT_GOAL)}`
      : "";
    return [fixed(m * MESSAGE / 2 ** 20, 0), `${fixed(c, 2)}×`, goal];
  });
}

/**
 * Starts the Deno child `module` with `args` at `where`, with SIGINT blocked.
 * Ctrl-C signals the whole process group: a child it ended would leave this
 * process blocked for ever in a raw or sync call, where the SIGINT listener of
 * harness.ts never gets to run. Blocked, the child sees the run through, and
 * the listener then ends it (SIGKILL) and removes the queues. posix_mq.ts uses
 * it too.
 */
export function spawnChild(where: Placement, module: URL, args: string[]): ChildProcess {
  return placed(where, () => spawn(module, { args, blockSignals: ["SIGINT"] }));
}

/**
 * Runs `use` with a new private queue and msg_queue_child.ts `args` (then the
 * queue's id and `size`) started on it; checks the child's exit, and removes
 * the queue whatever happens (which also wakes a child still waiting: EIDRM).
 */
async function withChild<T>(
  where: Placement,
  args: string,
  size: number,
  use: (q: MessageQueue) => Promise<T>,
): Promise<T> {
  const q = MessageQueue.open("private");
  // Ctrl-C finds a queue by the pids that used it: none has yet.
  const forget = atInterrupt(() => q.remove());
  let child: ChildProcess | undefined;
  try {
    child = spawnChild(where, CHILD, [args, `${q.id}`, `${size}`]);
    const result = await use(q);
    await checkStatus(child.status, "msg_queue_child.ts");
    return result;
  } finally {
    forget();
    q.remove();
    if (child !== undefined) await child.status.catch(() => {});
  }
}

/**
 * A queue ping-pong's form: {@link Mode}'s, or `into`: the sync form that
 * receives into a buffer the caller keeps (`receiveIntoSync`), with no new
 * bytes per message.
 */
export type QueueMode = Mode | "into";

/** One 64 B ping-pong run in `mode` against msg_queue_child.ts: µs per round trip. */
export function denoPingPong(mode: QueueMode): Measure {
  return (where, laps) =>
    withChild(where, `echo-${mode}`, MSG, async (q) => {
      const data = new Uint8Array(MSG).fill(7);
      const msgbuf = new Uint8Array(MTYPE + MSG);
      const view = new DataView(msgbuf.buffer);
      const up = BigInt(UP);
      const down = { type: DOWN };
      const back = { type: UP, maxSize: MSG };
      const into = new Uint8Array(MSG);
      const clock = new RoundClock();
      for (let i = 0; i < clock.total; i++) {
        clock.tick(i);
        let n: number;
        if (mode === "sync") {
          q.sendSync(data, down);
          n = q.receiveSync(back).data.byteLength;
        } else if (mode === "into") {
          q.sendSync(data, down);
          n = q.receiveIntoSync(into, back).size;
        } else if (mode === "async") {
          await q.send(data, down);
          n = (await q.receive(back)).data.byteLength;
        } else {
          rawSend(q.id, msgbuf, view, DOWN, MSG);
          n = rawReceive(q.id, msgbuf, up, MSG);
        }
        if (n !== MSG) throw new Error(`short echo: ${n} bytes`);
      }
      clock.tick(clock.total);
      q.sendSync(new Uint8Array(0), down); // ends the child
      return clock.laps(laps);
    });
}

/** One throughput run in `mode` against msg_queue_child.ts: messages per second. */
export function denoTransfer(mode: Mode): Measure {
  return (where) =>
    withChild(where, `sink-${mode}`, MESSAGE, async (q) => {
      const msgbuf = new Uint8Array(MTYPE + MESSAGE);
      const view = new DataView(msgbuf.buffer);
      const chunk = msgbuf.subarray(MTYPE);
      const answer = new Uint8Array(ANSWER);
      const up = BigInt(UP);
      const down = { type: DOWN };
      const back = { type: UP };
      const decoder = new TextDecoder();
      /** What the child says (type 2), taken in `mode`. */
      const heard = async () => {
        if (mode === "raw") {
          return decoder.decode(chunk.subarray(0, rawReceive(q.id, msgbuf, up, ANSWER)));
        }
        const { size } = mode === "sync"
          ? q.receiveIntoSync(answer, back)
          : await q.receiveInto(answer, back);
        return decoder.decode(answer.subarray(0, size));
      };
      // The child says when it is ready, so its start-up time stays out of the figure.
      if (await heard() !== "R") throw new Error("no ready from the child");
      const t0 = await BULK.send(
        chunk,
        mode === "sync"
          ? () => q.sendSync(chunk, down)
          : mode === "async"
          ? () => q.send(chunk, down)
          : () => rawSend(q.id, msgbuf, view, DOWN, MESSAGE),
      );
      if (mode === "raw") rawSend(q.id, msgbuf, view, DOWN, 0);
      else q.sendSync(new Uint8Array(0), down); // ends the stream
      const report = await heard();
      const ms = performance.now() - t0;
      BULK.check(report);
      return messageRate(ms);
    });
}

// --------------------------------------------------------------------- main

/** What a queue driver measures, and how it names it: the section is built alike for both kinds. */
export interface QueueDriver {
  title: string;
  /** The C program (`<program>.c`) and the Python one (`python/<program>.py`). */
  program: string;
  python: { needs: PythonModule; how: string };
  /** The ping-pong rows' names, by form. */
  names: Record<"c" | "raw" | "sync" | "into" | "async", string>;
  pingPong: (mode: QueueMode) => Measure;
  transfer: (mode: Mode) => Measure;
  /** What the ping-pong and the stream go over, and the limits the stream's paragraph states. */
  pingPongOver: string;
  transferOver: string;
  limits: string;
}

const BULK_SYNC = "@libc/ipc sync: sendSync/receiveIntoSync";
const BULK_ASYNC = "@libc/ipc async: await send/receiveInto";

/** Measures a queue driver's ping-pong and throughput rows; returns its section of the report. */
export async function queueSection(q: QueueDriver): Promise<string> {
  const where = placements();
  const { needs, how } = q.python;
  const py = await Python.find();
  const pyPing = py.row(how, pyPingPong(`${q.program}.py`), { needs });
  const pyBulk = py.row(
    how,
    printedMessages((args) => runPython(`${q.program}.py`, args)),
    { needs },
  );
  return await withC([`${q.program}.c`], async ([bin]) => {
    const pingpong = [
      row(q.names.c, cPingPong(bin)),
      // "into" after "sync": the goals and the engine's table take the first sync row.
      ...(["raw", "sync", "into", "async"] as const).map((mode) =>
        row(q.names[mode], q.pingPong(mode))
      ),
      ...pyPing.rows,
    ];
    const transfer = [
      row(q.names.c, printedMessages((args) => runC(bin, args))),
      row(q.names.raw, q.transfer("raw")),
      row(BULK_SYNC, q.transfer("sync")),
      row(BULK_ASYNC, q.transfer("async")),
      ...pyBulk.rows,
    ];
    const seconds = await measure(pingpong, where) + await measure(transfer, where);
    return section(q.title, seconds, [
      pingPongIntro(q.pingPongOver),
      pingPongTable(pingpong, where, q.names.c, goalsOf(q.names)),
      ...pyPing.notes,
      throughputIntro(q.transferOver, q.limits),
      throughputTable(transfer, where, q.names.c, [BULK_SYNC, BULK_ASYNC]),
      ...pyBulk.notes,
    ], [...pingpong, ...transfer]);
  });
}

/** Measures every row; returns the section of the report. */
export function main(): Promise<string> {
  const capacity = Number(procText("/proc/sys/kernel/msgmnb"));
  return queueSection({
    title: "System V message queues",
    program: "msg_queue",
    python: { needs: "sysv_ipc", how: "sysv_ipc.MessageQueue send/receive" },
    names: {
      c: "C (fork; blocking msgsnd/msgrcv)",
      raw: "raw libc via Deno.dlopen (floor)",
      sync: "@libc/ipc sync: sendSync/receiveSync",
      into: "@libc/ipc sync: sendSync/receiveIntoSync",
      async: "@libc/ipc async: await send/receive",
    },
    pingPong: denoPingPong,
    transfer: denoTransfer,
    pingPongOver: "one System V queue (type 1 down, type 2 up)",
    transferOver: "one System V queue (type 1; the child answers with type 2)",
    limits: `${MESSAGE} bytes is the largest message the kernel takes by default ` +
      `(\`kernel.msgmax\`); the queue has the capacity a new one gets (\`kernel.msgmnb\`: ` +
      `${capacity} bytes here, ${Math.floor(capacity / MESSAGE)} such messages).`,
  });
}

if (import.meta.main) await standalone(main);
