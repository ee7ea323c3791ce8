/**
 * Cross-process System V message queue comparison: a 64 B ping-pong over one
 * queue (type 1 parent → child, type 2 back), in C (msg_queue.c: fork,
 * blocking msgsnd/msgrcv), through raw libc calls from Deno (the floor),
 * through this library's sync and async forms, and in Python 3 with
 * `sysv_ipc` where that module is installed (python/msg_queue.py). Every row
 * is measured in the same run, at every placement of harness.ts, and
 * reported as a ratio to the C baseline.
 *
 * Run: `deno task bench:compare:mq` (Linux; needs a C compiler as `cc`), or
 * all drivers with `deno task bench:compare`. `--raw` also prints every sample.
 *
 * @module
 */
import { type ChildProcess, MessageQueue, spawn } from "../../mod.ts";
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
import { DOWN, MTYPE, rawReceive, rawSend, UP } from "./msg_queue_child.ts";
import { pyPingPong, Python } from "./python/python.ts";

const CHILD = new URL("msg_queue_child.ts", import.meta.url);

/** One 64 B ping-pong run in `mode` against msg_queue_child.ts: µs per round trip. */
export function denoPingPong(mode: Mode): Measure {
  return async (where, laps) => {
    const q = MessageQueue.open("private");
    // Ctrl-C finds a queue by the pids that used it: none has yet.
    const forget = atInterrupt(() => q.remove());
    let child: ChildProcess | undefined;
    try {
      child = placed(where, () => spawn(CHILD, { args: [`echo-${mode}`, `${q.id}`, `${MSG}`] }));
      const data = new Uint8Array(MSG).fill(7);
      const msgbuf = new Uint8Array(MTYPE + MSG);
      const view = new DataView(msgbuf.buffer);
      const up = BigInt(UP);
      const down = { type: DOWN };
      const back = { type: UP, maxSize: MSG };
      const clock = new RoundClock();
      for (let i = 0; i < clock.total; i++) {
        clock.tick(i);
        let n: number;
        if (mode === "sync") {
          q.sendSync(data, down);
          n = q.receiveSync(back).data.byteLength;
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
      await checkStatus(child.status, "msg_queue_child.ts");
      return clock.laps(laps);
    } finally {
      // Wakes a child still waiting (EIDRM), should anything have failed.
      forget();
      q.remove();
      if (child !== undefined) await child.status.catch(() => {});
    }
  };
}

/** Measures every row; returns the section of the report. */
export async function main(): Promise<string> {
  const python = (await Python.find()).row(
    "sysv_ipc.MessageQueue send/receive",
    pyPingPong("msg_queue.py"),
    { needs: "sysv_ipc" },
  );
  return await pingPongSection({
    title: "System V message queues",
    over: "one System V queue (type 1 down, type 2 up)",
    source: "msg_queue.c",
    names: {
      c: "C (fork; blocking msgsnd/msgrcv)",
      raw: "raw libc via Deno.dlopen (floor)",
      sync: "@libc/ipc sync: sendSync/receiveSync",
      async: "@libc/ipc async: await send/receive",
    },
    measure: denoPingPong,
    others: python,
  });
}

if (import.meta.main) await standalone(main);
