/**
 * Cross-process System V message queue comparison: a 64 B ping-pong over one
 * queue (type 1 parent → child, type 2 back), in C (fork, blocking
 * msgsnd/msgrcv), through raw libc calls from Deno (the floor), and through
 * this library's sync and async forms. Every row is measured in the same run
 * and reported as a ratio to the C baseline.
 *
 * As in run.ts, each row is measured with both processes on one CPU, with one
 * CPU each, and where the scheduler likes: on a small VM where the two
 * processes run decides more than any code.
 *
 * Run: `deno run --allow-ffi --allow-read --allow-write --allow-run bench/compare/msg_queue.ts`
 * (Linux; needs a C compiler as `cc`). `--raw` also prints every sample.
 *
 * @module
 */
import { type ChildProcess, MessageQueue, spawn } from "../../mod.ts";
import { rawLibc } from "./common.ts";
import { DOWN, MTYPE, rawReceive, rawSend, UP } from "./msg_queue_child.ts";

const REPS = 7;
const MSG = 64;
const ROUNDS = 5000;
const WARMUP = 500;
const RAW = Deno.args.includes("--raw");

const here = (name: string) => new URL(name, import.meta.url);
const CHILD = here("msg_queue_child.ts");
const decoder = new TextDecoder();

// ---------------------------------------------------------------- placement

/** Where the parent and the child run: CPU lists, as `sched_setaffinity` takes them. */
interface Placement {
  name: string;
  parent: number[];
  child: number[];
}

const CPU_SET_BYTES = 128;

function cpuSet(cpus: number[]): Uint8Array {
  const set = new Uint8Array(CPU_SET_BYTES);
  for (const c of cpus) set[c >> 3] |= 1 << (c & 7);
  return set;
}

function cpusOf(pid: number): number[] {
  const set = new Uint8Array(CPU_SET_BYTES);
  if (rawLibc().sched_getaffinity(pid, BigInt(CPU_SET_BYTES), set) < 0) {
    throw new Error("sched_getaffinity");
  }
  const cpus = [];
  for (let c = 0; c < CPU_SET_BYTES * 8; c++) if (set[c >> 3] & (1 << (c & 7))) cpus.push(c);
  return cpus;
}

/** Pins the calling thread (0) or thread `tid`. */
function pin(cpus: number[], tid = 0): void {
  rawLibc().sched_setaffinity(tid, BigInt(CPU_SET_BYTES), cpuSet(cpus));
}

/** Pins every thread of this process (threads started later inherit it). */
function pinProcess(cpus: number[]): void {
  const { opendir, readdir, closedir } = rawLibc();
  const dir = opendir(new TextEncoder().encode("/proc/self/task\0"));
  if (dir === null) throw new Error("cannot list /proc/self/task");
  try {
    for (let entry; (entry = readdir(dir)) !== null;) {
      // struct dirent on 64-bit Linux: d_name at byte 19.
      const tid = Number(Deno.UnsafePointerView.getCString(entry, 19));
      if (tid > 0) pin(cpus, tid);
    }
  } finally {
    closedir(dir);
  }
}

/** Starts a Deno child on the placement's child CPUs (a new process inherits its starter's mask). */
function placed(where: Placement, start: () => ChildProcess): ChildProcess {
  pin(where.child);
  let child: ChildProcess;
  try {
    child = start();
  } finally {
    pinProcess(where.parent);
  }
  const got = cpusOf(child.pid);
  if (got.join() !== where.child.join()) {
    child.kill();
    throw new Error(`child ${child.pid} runs on CPUs ${got}, not ${where.child}`);
  }
  return child;
}

// ------------------------------------------------------------------ the rows

/** One measurement at a placement: µs per round trip. */
type Measure = (where: Placement) => Promise<number>;

function cPingPong(bin: string): Measure {
  return async (where) => {
    const args = ["pingpong", `${ROUNDS}`, `${WARMUP}`, `${MSG}`];
    // The C program forks its own child; it is given the child's CPU when there is one.
    if (where.child.length === 1) args.push(`${where.child[0]}`);
    const out = await new Deno.Command(bin, { args, stdout: "piped", stderr: "inherit" })
      .output();
    if (!out.success) throw new Error(`${bin} ${args.join(" ")} failed: ${out.code}`);
    return Number(decoder.decode(out.stdout).trim()) / 1000 / ROUNDS;
  };
}

type Mode = "sync" | "async" | "raw";

function denoPingPong(mode: Mode): Measure {
  return async (where) => {
    const q = MessageQueue.open("private");
    let child: ChildProcess | undefined;
    try {
      child = placed(where, () => spawn(CHILD, { args: [`echo-${mode}`, `${q.id}`, `${MSG}`] }));
      const data = new Uint8Array(MSG).fill(7);
      const msgbuf = new Uint8Array(MTYPE + MSG);
      const view = new DataView(msgbuf.buffer);
      const up = BigInt(UP);
      const down = { type: DOWN };
      const back = { type: UP, maxSize: MSG };
      let t0 = 0;
      for (let i = 0; i < WARMUP + ROUNDS; i++) {
        if (i === WARMUP) t0 = performance.now();
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
      const us = (performance.now() - t0) * 1000 / ROUNDS;
      q.sendSync(new Uint8Array(0), down); // ends the child
      const status = await child.status;
      if (!status.success) throw new Error(`msg_queue_child.ts exited with code ${status.code}`);
      return us;
    } finally {
      // Wakes a child still waiting (EIDRM), should anything have failed.
      q.remove();
      if (child !== undefined) await child.status.catch(() => {});
    }
  };
}

// ------------------------------------------------------------------ helpers

interface Row {
  name: string;
  measure: Measure;
  /** Samples by placement name. */
  samples: Map<string, number[]>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function compile(dir: string): Promise<string> {
  const bin = `${dir}/msg_queue`;
  const out = await new Deno.Command("cc", {
    args: ["-O2", "-o", bin, here("msg_queue.c").pathname],
    stderr: "inherit",
  }).output().catch((e) => {
    throw new Error(`cannot run the C compiler "cc": ${e.message}`);
  });
  if (!out.success) throw new Error("cc failed to compile msg_queue.c");
  return bin;
}

/** Every row REPS times at every placement, interleaved and rotated, so noise hits all alike. */
async function measure(rows: Row[], placements: Placement[]): Promise<void> {
  for (let rep = 0; rep < REPS; rep++) {
    for (const where of placements) {
      pinProcess(where.parent);
      for (let i = 0; i < rows.length; i++) {
        const row = rows[(i + rep) % rows.length];
        const samples = row.samples.get(where.name) ?? [];
        row.samples.set(where.name, samples);
        samples.push(await row.measure(where));
      }
    }
  }
}

const fixed = (x: number, digits: number) => x.toFixed(digits);

// --------------------------------------------------------------------- main

const C_ROW = "C (fork; blocking msgsnd/msgrcv)";
const FLOOR_ROW = "raw libc via Deno.dlopen (floor)";
const SYNC_ROW = "@libc/ipc sync: sendSync/receiveSync";
const ASYNC_ROW = "@libc/ipc async: await send/receive";
const GOALS: Record<string, number> = { [SYNC_ROW]: 1.2, [ASYNC_ROW]: 2 };

if (Deno.build.os !== "linux") {
  console.error("bench/compare runs on Linux only (sched_setaffinity, /proc).");
  Deno.exit(1);
}
const cpus = cpusOf(0);
const placements: Placement[] = [{ name: "one CPU", parent: [cpus[0]], child: [cpus[0]] }];
if (cpus.length >= 2) placements.push({ name: "two CPUs", parent: [cpus[0]], child: [cpus[1]] });
placements.push({ name: "any CPU", parent: cpus, child: cpus });

const dir = await Deno.makeTempDir({ prefix: "ipc-bench-" });
try {
  const bin = await compile(dir);
  const rows: Row[] = [
    { name: C_ROW, measure: cPingPong(bin), samples: new Map() },
    { name: FLOOR_ROW, measure: denoPingPong("raw"), samples: new Map() },
    { name: SYNC_ROW, measure: denoPingPong("sync"), samples: new Map() },
    { name: ASYNC_ROW, measure: denoPingPong("async"), samples: new Map() },
  ];
  const started = performance.now();
  await measure(rows, placements);
  pinProcess(cpus);
  const seconds = (performance.now() - started) / 1000;

  const out = [
    `Deno ${Deno.version.deno}, ${Deno.build.os} ${Deno.build.arch}, ${cpus.length} CPUs; ` +
    `median of ${REPS} runs per cell, rows interleaved (${fixed(seconds, 0)} s in all).`,
    "",
    `**Ping-pong**: ${MSG} B there and back over one System V queue (type 1 down, type 2 up); ` +
    `${ROUNDS} round trips per run, after ${WARMUP} unmeasured ones.`,
    "",
    "| placement | row | µs / round trip | min – max | vs C | goal |",
    "|---|---|---:|---:|---:|---|",
  ];
  for (const where of placements) {
    const c = median(rows[0].samples.get(where.name)!);
    rows.forEach((r, i) => {
      const s = r.samples.get(where.name)!;
      const m = median(s);
      const ratio = m / c;
      const goal = GOALS[r.name];
      const verdict = goal === undefined ? "" : `≤ ${goal}× ${ratio <= goal ? "✓" : "✗"}`;
      out.push(
        `| ${i === 0 ? `**${where.name}**` : ""} | ${r.name} | ${fixed(m, 1)} | ` +
          `${fixed(Math.min(...s), 1)} – ${fixed(Math.max(...s), 1)} | ${
            fixed(ratio, 2)
          }× | ${verdict} |`,
      );
    });
  }
  if (RAW) {
    out.push("", "Samples:");
    for (const r of rows) {
      for (const [where, s] of r.samples) {
        out.push(`- ${r.name}, ${where}: ${s.map((x) => fixed(x, 1)).join(", ")}`);
      }
    }
  }
  console.log(out.join("\n"));
} finally {
  await Deno.remove(dir, { recursive: true });
}
