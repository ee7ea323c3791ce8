/**
 * Cross-process POSIX message queue comparison: a 64 B ping-pong over two
 * queues (parent → child on one, back on the other), in C (blocking
 * `mq_send`/`mq_receive`, fork), with raw libc calls through `Deno.dlopen`
 * (the floor: the least any Deno program pays) and with this library's sync
 * and async forms. Every row is measured in the same run, interleaved, and
 * reported as a ratio to the C baseline.
 *
 * As in run.ts, each row is measured with both processes on one CPU, with one
 * CPU each, and where the scheduler likes: on a small VM where the processes
 * run decides more than any code.
 *
 * Run: `deno run --allow-ffi --allow-read --allow-write --allow-run bench/compare/posix_mq.ts`
 * (Linux; needs a C compiler as `cc`). `--raw` also prints every sample.
 * Every queue is removed, whatever happens: the C program unlinks its queues
 * as soon as both processes hold them, the driver in `finally`.
 *
 * @module
 */
import { type ChildProcess, PosixMessageQueue, spawn } from "../../mod.ts";
import { rawLibc } from "./common.ts";
import { rawMq } from "./posix_mq_child.ts";

const REPS = 7;
const MSG = 64;
const ROUNDS = 5000;
const WARMUP = 500;
const RAW = Deno.args.includes("--raw");

const here = (name: string) => new URL(name, import.meta.url);
const CHILD = here("posix_mq_child.ts");
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

/** Starts a child on the placement's child CPUs (a new process inherits the starting thread's mask). */
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
    child.kill("SIGKILL");
    throw new Error(`child ${child.pid} runs on CPUs ${got}, not ${where.child}`);
  }
  return child;
}

// ---------------------------------------------------------------- the rows

/** One measurement at a placement: µs per round trip. */
type Measure = (where: Placement) => Promise<number>;

async function compile(dir: string): Promise<string> {
  const bin = `${dir}/posix_mq`;
  const out = await new Deno.Command("cc", {
    args: ["-O2", "-o", bin, here("posix_mq.c").pathname],
    stderr: "inherit",
  }).output().catch((e) => {
    throw new Error(`cannot run the C compiler "cc": ${e.message}`);
  });
  if (!out.success) throw new Error("cc failed to compile posix_mq.c");
  return bin;
}

function cPingPong(bin: string): Measure {
  return async (where) => {
    // The C program forks its own child; it is given the child's CPU when there is one.
    const cpu = where.child.length === 1 ? [`${where.child[0]}`] : [];
    const args = ["pingpong", `${ROUNDS}`, `${WARMUP}`, `${MSG}`, ...cpu];
    const out = await new Deno.Command(bin, { args, stdout: "piped", stderr: "inherit" }).output();
    if (!out.success) throw new Error(`${bin} ${args.join(" ")} failed: ${out.code}`);
    return Number(decoder.decode(out.stdout).trim()) / 1000 / ROUNDS;
  };
}

type Mode = "raw" | "sync" | "async";
let serial = 0;

function unlinkQuietly(name: string): void {
  try {
    PosixMessageQueue.unlink(name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

function ffiPingPong(mode: Mode): Measure {
  return async (where) => {
    const base = `/libc-ipc-bench-${Deno.pid}-${++serial}`;
    const down = `${base}-down`;
    const up = `${base}-up`;
    const size = { create: true, exclusive: true, maxMessages: 10, messageSize: MSG } as const;
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
      let t0 = 0;
      for (let i = 0; i < WARMUP + ROUNDS; i++) {
        if (i === WARMUP) t0 = performance.now();
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
      const us = (performance.now() - t0) * 1000 / ROUNDS;
      if (mode === "raw") mq.send(rawTx, buf, 0);
      else tx.sendSync(new Uint8Array(0));
      const status = await child.status;
      if (!status.success) throw new Error(`posix_mq_child.ts exited with code ${status.code}`);
      return us;
    } finally {
      if (rawTx >= 0) mq.close(rawTx);
      if (rawRx >= 0) mq.close(rawRx);
      [down, up].forEach(unlinkQuietly);
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

// ------------------------------------------------------------------ report

interface Row {
  name: string;
  measure: Measure;
  /** Samples by placement name. */
  samples: Map<string, number[]>;
}

function row(name: string, measure: Measure): Row {
  return { name, measure, samples: new Map() };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs every row REPS times at every placement, interleaved (rotating the order). */
async function measure(rows: Row[], placements: Placement[]): Promise<void> {
  for (let rep = 0; rep < REPS; rep++) {
    for (const where of placements) {
      pinProcess(where.parent);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[(i + rep) % rows.length];
        const samples = r.samples.get(where.name) ?? [];
        r.samples.set(where.name, samples);
        samples.push(await r.measure(where));
      }
    }
  }
}

const C_ROW = "C (fork; blocking mq_send/mq_receive)";
const FLOOR_ROW = "raw libc via Deno.dlopen, blocking (floor)";
const SYNC_ROW = "@libc/ipc sync: sendSync/receiveSync";
const ASYNC_ROW = "@libc/ipc async: await send/receive";
const GOAL: Record<string, number> = { [SYNC_ROW]: 1.2, [ASYNC_ROW]: 2 };

function table(rows: Row[], placements: Placement[]): string[] {
  const out = [
    "| placement | row | µs / round trip | min – max | vs C | goal |",
    "|---|---|---:|---:|---:|---|",
  ];
  for (const where of placements) {
    const c = median(rows.find((r) => r.name === C_ROW)!.samples.get(where.name)!);
    rows.forEach((r, i) => {
      const s = r.samples.get(where.name)!;
      const m = median(s);
      const ratio = m / c;
      const goal = GOAL[r.name];
      const mark = goal === undefined ? "" : `≤ ${goal}× ${ratio <= goal ? "✓" : "✗"}`;
      out.push(
        `| ${i === 0 ? `**${where.name}**` : ""} | ${r.name} | ${m.toFixed(1)} | ` +
          `${Math.min(...s).toFixed(1)} – ${Math.max(...s).toFixed(1)} | ${
            ratio.toFixed(2)
          }× | ${mark} |`,
      );
    });
  }
  return out;
}

// --------------------------------------------------------------------- main

if (Deno.build.os !== "linux") {
  console.error("bench/compare runs on Linux only (mqueue, sched_setaffinity, /proc).");
  Deno.exit(1);
}
const cpus = cpusOf(0);
const placements: Placement[] = [{ name: "one CPU", parent: [cpus[0]], child: [cpus[0]] }];
if (cpus.length >= 2) placements.push({ name: "two CPUs", parent: [cpus[0]], child: [cpus[1]] });
placements.push({ name: "any CPU", parent: cpus, child: cpus });

const dir = await Deno.makeTempDir({ prefix: "ipc-bench-" });
try {
  const bin = await compile(dir);
  const rows = [
    row(C_ROW, cPingPong(bin)),
    row(FLOOR_ROW, ffiPingPong("raw")),
    row(SYNC_ROW, ffiPingPong("sync")),
    row(ASYNC_ROW, ffiPingPong("async")),
  ];
  const started = performance.now();
  await measure(rows, placements);
  pinProcess(cpus);
  const seconds = (performance.now() - started) / 1000;
  const out = [
    `Deno ${Deno.version.deno}, ${Deno.build.os} ${Deno.build.arch}, ${cpus.length} CPUs; ` +
    `median of ${REPS} runs per cell, rows interleaved (${seconds.toFixed(0)} s in all).`,
    "",
    `**Ping-pong**: ${MSG} B there and back over two POSIX message queues; ${ROUNDS} round ` +
    `trips per run, after ${WARMUP} unmeasured ones.`,
    "",
    ...table(rows, placements),
  ];
  if (RAW) {
    out.push("", "Samples:");
    for (const r of rows) {
      for (const [where, s] of r.samples) {
        out.push(`- ${r.name}, ${where}: ${s.map((x) => x.toFixed(1)).join(", ")}`);
      }
    }
  }
  console.log(out.join("\n"));
} finally {
  await Deno.remove(dir, { recursive: true });
}
