/**
 * Cross-process pipe comparison: this library against C, against the least any
 * Deno program pays (raw libc calls through `Deno.dlopen`) and against Deno's
 * own child-process pipes. Every row is measured in the same run and reported
 * as a ratio to the C baseline.
 *
 * On a small VM, where the scheduler puts the two processes decides more than
 * any code: two processes on one CPU hand over by a context switch, two on
 * separate CPUs must wake an idle CPU, which costs tens of µs on a VM. Each
 * row is therefore measured with both processes on one CPU, with one CPU
 * each, and where the scheduler likes (which mixes the two from run to run,
 * so that group is the noisiest).
 *
 * Run: `deno task bench:compare` (Linux; needs a C compiler as `cc`).
 * `--raw` also prints every sample.
 *
 * @module
 */
import { type ChildProcess, pipe, spawn } from "../../mod.ts";
import type { FdReader } from "../../mod.ts";
import {
  expectedChecksum,
  makeBlocking,
  rawLibc,
  rawReadFull,
  rawWriteAll,
  stampChunk,
} from "./common.ts";

const REPS = 7;
const MSG = 64;
const ROUNDS = 5000;
const WARMUP = 500;
const TOTAL = 64 * 1024 * 1024;
const CHUNK = 64 * 1024;
const RAW = Deno.args.includes("--raw");

const here = (name: string) => new URL(name, import.meta.url);
const PIPE_CHILD = here("pipe_child.ts");
const COMMAND_CHILD = here("command_child.ts").pathname;
const CHECKSUM = expectedChecksum(TOTAL);
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

/** Pins the calling thread (0) or thread `tid`; false if that thread is gone. */
function pin(cpus: number[], tid = 0): boolean {
  return rawLibc().sched_setaffinity(tid, BigInt(CPU_SET_BYTES), cpuSet(cpus)) === 0;
}

/** Pins every thread of this process (threads started later inherit it). */
function pinProcess(cpus: number[]): void {
  // Deno's own file API asks for --allow-all to read /proc/self; libc does not.
  const { opendir, readdir, closedir } = rawLibc();
  const dir = opendir(new TextEncoder().encode("/proc/self/task\0"));
  if (dir === null) throw new Error("cannot list /proc/self/task");
  try {
    for (let entry; (entry = readdir(dir)) !== null;) {
      // struct dirent on 64-bit Linux: d_name follows d_ino, d_off, d_reclen, d_type (byte 19).
      const tid = Number(Deno.UnsafePointerView.getCString(entry, 19));
      if (tid > 0) pin(cpus, tid);
    }
  } finally {
    closedir(dir);
  }
}

/**
 * Starts a child on the placement's child CPUs: a new process inherits the
 * CPU mask of the thread that starts it, and both `posix_spawn` and
 * `Deno.Command` start it from this (the main) thread; `checkPlaced` verifies.
 */
function placed<T extends { pid: number; kill(): void }>(where: Placement, start: () => T): T {
  pin(where.child);
  let child: T;
  try {
    child = start();
  } finally {
    // All threads: one started meanwhile would have inherited the child's CPUs.
    pinProcess(where.parent);
  }
  try {
    checkPlaced(child.pid, where.child);
  } catch (e) {
    child.kill();
    throw e;
  }
  return child;
}

function checkPlaced(pid: number, cpus: number[]): void {
  const got = cpusOf(pid);
  if (got.join() !== cpus.join()) throw new Error(`child ${pid} runs on CPUs ${got}, not ${cpus}`);
}

// ---------------------------------------------------------------- C baseline

async function runC(bin: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(bin, { args, stdout: "piped", stderr: "inherit" }).output();
  if (!out.success) throw new Error(`${bin} ${args.join(" ")} failed: ${out.code}`);
  return decoder.decode(out.stdout).trim();
}

/** The C program forks its own child; it is given the child's CPU when there is one. */
function cChildCpu(where: Placement): string[] {
  return where.child.length === 1 ? [`${where.child[0]}`] : [];
}

function cPingPong(bin: string): Measure {
  return async (where) => {
    const args = ["pingpong", `${ROUNDS}`, `${WARMUP}`, `${MSG}`, ...cChildCpu(where)];
    return Number(await runC(bin, args)) / 1000 / ROUNDS;
  };
}

function cTransfer(bin: string): Measure {
  return async (where) => {
    const report = await runC(bin, ["transfer", `${TOTAL}`, `${CHUNK}`, ...cChildCpu(where)]);
    const [ns, ...rest] = report.split(" ");
    checkTransfer(rest.join(" "));
    return mibPerSecond(Number(ns) / 1e6);
  };
}

// ------------------------------------------------- this library, and the floor

type Mode = "sync" | "async" | "raw";

function readFullSync(reader: FdReader, buf: Uint8Array): void {
  let got = 0;
  while (got < buf.byteLength) {
    const n = reader.readSync(got === 0 ? buf : buf.subarray(got));
    if (n === null) throw new Error("child closed its pipe early");
    got += n;
  }
}

async function readFull(reader: FdReader, buf: Uint8Array): Promise<void> {
  let got = 0;
  while (got < buf.byteLength) {
    const n = await reader.read(got === 0 ? buf : buf.subarray(got));
    if (n === null) throw new Error("child closed its pipe early");
    got += n;
  }
}

/** Everything the reader yields until end of file, as text. */
async function readText(reader: FdReader, mode: Mode): Promise<string> {
  const buf = new Uint8Array(256);
  let text = "";
  for (;;) {
    let n: number | null;
    if (mode === "raw") {
      n = rawLibc().read(reader.fd, buf, buf.byteLength);
      if (n < 0) throw new Error("read failed");
      if (n === 0) n = null;
    } else {
      n = mode === "sync" ? reader.readSync(buf) : await reader.read(buf);
    }
    if (n === null) return text;
    text += decoder.decode(buf.subarray(0, n));
  }
}

/** Starts pipe_child.ts with `input` as its fd 3 and `output` as its fd 4, and closes them here. */
function startPipeChild(
  where: Placement,
  args: string[],
  input: { fd: number; close(): void },
  output: { fd: number; close(): void },
): ChildProcess {
  const child = placed(where, () => spawn(PIPE_CHILD, { args, fds: { 3: input, 4: output } }));
  // The child holds its own copies now; ours would keep end of file from ever coming.
  input.close();
  output.close();
  return child;
}

function ffiPingPong(mode: Mode): Measure {
  return async (where) => {
    using down = pipe();
    using up = pipe();
    const child = startPipeChild(where, [`echo-${mode}`, `${MSG}`], down.reader, up.writer);
    try {
      const buf = new Uint8Array(MSG);
      if (mode === "raw") {
        makeBlocking(down.writer.fd);
        makeBlocking(up.reader.fd);
      }
      let t0 = 0;
      for (let i = 0; i < WARMUP + ROUNDS; i++) {
        if (i === WARMUP) t0 = performance.now();
        if (mode === "sync") {
          down.writer.writeSync(buf);
          readFullSync(up.reader, buf);
        } else if (mode === "async") {
          await down.writer.write(buf);
          await readFull(up.reader, buf);
        } else {
          rawWriteAll(down.writer.fd, buf);
          if (!rawReadFull(up.reader.fd, buf)) throw new Error("child closed its pipe early");
        }
      }
      return (performance.now() - t0) * 1000 / ROUNDS;
    } finally {
      down.writer.close();
      up.reader.close();
      await checkStatus(child.status, "pipe_child.ts");
    }
  };
}

function ffiTransfer(mode: Mode): Measure {
  return async (where) => {
    using data = pipe();
    using result = pipe();
    const child = startPipeChild(where, [`sink-${mode}`], data.reader, result.writer);
    try {
      const chunk = new Uint8Array(CHUNK);
      const ready = new Uint8Array(1);
      // The child says when it is ready, so its start-up time stays out of the figure.
      if (mode === "raw") {
        makeBlocking(data.writer.fd);
        makeBlocking(result.reader.fd);
        rawReadFull(result.reader.fd, ready);
      } else if (mode === "sync") {
        readFullSync(result.reader, ready);
      } else {
        await readFull(result.reader, ready);
      }
      const t0 = performance.now();
      for (let offset = 0; offset < TOTAL; offset += CHUNK) {
        stampChunk(chunk, offset);
        if (mode === "sync") data.writer.writeSync(chunk);
        else if (mode === "async") await data.writer.write(chunk);
        else rawWriteAll(data.writer.fd, chunk);
      }
      data.writer.close();
      const report = await readText(result.reader, mode);
      const ms = performance.now() - t0;
      checkTransfer(report);
      return mibPerSecond(ms);
    } finally {
      data.writer.close();
      result.reader.close();
      await checkStatus(child.status, "pipe_child.ts");
    }
  };
}

// ------------------------------------------------------------- Deno.Command

function command(where: Placement, args: string[]): Deno.ChildProcess {
  return placed(where, () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", COMMAND_CHILD, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn());
}

function commandPingPong(): Measure {
  return async (where) => {
    const child = command(where, ["echo", `${MSG}`]);
    const writer = child.stdin.getWriter();
    const reader = child.stdout.getReader({ mode: "byob" });
    try {
      // A BYOB reader fills our buffer (it hands the memory back in a new view): no copies.
      let buf = new Uint8Array(MSG);
      let t0 = 0;
      for (let i = 0; i < WARMUP + ROUNDS; i++) {
        if (i === WARMUP) t0 = performance.now();
        await writer.write(buf);
        let got = 0;
        while (got < MSG) {
          const { value, done } = await reader.read(new Uint8Array(buf.buffer, got, MSG - got));
          if (done) throw new Error("child closed its stdout early");
          got += value.byteLength;
          buf = new Uint8Array(value.buffer);
        }
      }
      return (performance.now() - t0) * 1000 / ROUNDS;
    } finally {
      await writer.close().catch(() => {});
      await reader.cancel().catch(() => {});
      await checkStatus(child.status, "command_child.ts");
    }
  };
}

function commandTransfer(): Measure {
  return async (where) => {
    const child = command(where, ["sink"]);
    const writer = child.stdin.getWriter();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      const chunk = new Uint8Array(CHUNK);
      let text = "";
      while (!text.startsWith("R")) {
        const { value, done } = await lines.read();
        if (done) throw new Error("child closed its stdout early");
        text += value;
      }
      text = text.slice(1);
      const t0 = performance.now();
      for (let offset = 0; offset < TOTAL; offset += CHUNK) {
        stampChunk(chunk, offset);
        await writer.write(chunk);
      }
      await writer.close();
      for (;;) {
        const { value, done } = await lines.read();
        if (done) break;
        text += value;
      }
      const ms = performance.now() - t0;
      checkTransfer(text);
      return mibPerSecond(ms);
    } finally {
      await writer.close().catch(() => {});
      await lines.cancel().catch(() => {});
      await checkStatus(child.status, "command_child.ts");
    }
  };
}

// ------------------------------------------------------------------ helpers

/** One measurement at a placement: µs per round trip, or MiB/s. */
type Measure = (where: Placement) => Promise<number>;

interface Row {
  name: string;
  measure: Measure;
  /** Samples by placement name. */
  samples: Map<string, number[]>;
}

function mibPerSecond(ms: number): number {
  return TOTAL / (1024 * 1024) / (ms / 1000);
}

/** The receiver must have seen every byte, in order: its count and checksum say so. */
function checkTransfer(report: string): void {
  const [count, sum] = report.trim().split(" ").map(Number);
  if (count !== TOTAL || sum !== CHECKSUM) {
    throw new Error(`receiver reported "${report.trim()}", expected "${TOTAL} ${CHECKSUM}"`);
  }
}

async function checkStatus(
  status: Promise<{ success: boolean; code: number }>,
  what: string,
): Promise<void> {
  const s = await status;
  if (!s.success) throw new Error(`${what} exited with code ${s.code}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function compile(dir: string): Promise<string> {
  const bin = `${dir}/pipe`;
  const out = await new Deno.Command("cc", {
    args: ["-O2", "-o", bin, here("pipe.c").pathname],
    stderr: "inherit",
  }).output().catch((e) => {
    throw new Error(`cannot run the C compiler "cc": ${e.message}`);
  });
  if (!out.success) throw new Error("cc failed to compile pipe.c");
  return bin;
}

/**
 * Runs every row REPS times at every placement, interleaved so that a noisy
 * moment of the machine hits every row alike.
 */
async function measure(rows: Row[], placements: Placement[]): Promise<void> {
  for (let rep = 0; rep < REPS; rep++) {
    for (const where of placements) {
      pinProcess(where.parent);
      for (let i = 0; i < rows.length; i++) {
        // Rotate the order, so no row always runs right after the same neighbour.
        const row = rows[(i + rep) % rows.length];
        const samples = row.samples.get(where.name) ?? [];
        row.samples.set(where.name, samples);
        samples.push(await row.measure(where));
      }
    }
  }
}

function row(name: string, measure: Measure): Row {
  return { name, measure, samples: new Map() };
}

const fixed = (x: number, digits: number) => x.toFixed(digits);
const mark = (ok: boolean) => ok ? "✓" : "✗";

/** A markdown table: one group of rows per placement. */
function table(
  rows: Row[],
  placements: Placement[],
  unit: string,
  digits: number,
  columns: string[],
  extra: (row: Row, m: number, at: (name: string) => number) => string[],
): string[] {
  const out = [
    `| placement | row | ${unit} | min – max | ${columns.join(" | ")} |`,
    `|---|---|---:|---:|${columns.map((c) => c === "goal" ? "---|" : "---:|").join("")}`,
  ];
  for (const where of placements) {
    const at = (name: string) =>
      median(rows.find((r) => r.name === name)!.samples.get(where.name)!);
    rows.forEach((r, i) => {
      const s = r.samples.get(where.name)!;
      const m = median(s);
      const range = `${fixed(Math.min(...s), digits)} – ${fixed(Math.max(...s), digits)}`;
      const place = i === 0 ? `**${where.name}**` : "";
      out.push(
        `| ${place} | ${r.name} | ${fixed(m, digits)} | ${range} | ${
          extra(r, m, at).join(" | ")
        } |`,
      );
    });
  }
  return out;
}

// --------------------------------------------------------------------- main

const C_ROW = "C (fork; blocking read/write)";
const FLOOR_ROW = "raw libc via Deno.dlopen (floor)";
const SYNC_ROW = "@libc/ipc sync: writeSync/readSync";
const ASYNC_ROW = "@libc/ipc async: await write/read";
const COMMAND_ROW = "Deno.Command stdin/stdout";

if (Deno.build.os !== "linux") {
  console.error("bench/compare runs on Linux only (pipe2, sched_setaffinity, /proc).");
  Deno.exit(1);
}
const cpus = cpusOf(0);
const placements: Placement[] = [{ name: "one CPU", parent: [cpus[0]], child: [cpus[0]] }];
if (cpus.length >= 2) {
  placements.push({ name: "two CPUs", parent: [cpus[0]], child: [cpus[1]] });
}
placements.push({ name: "any CPU", parent: cpus, child: cpus });

const dir = await Deno.makeTempDir({ prefix: "ipc-bench-" });
try {
  const bin = await compile(dir);
  const pingpong = [
    row(C_ROW, cPingPong(bin)),
    row(FLOOR_ROW, ffiPingPong("raw")),
    row(SYNC_ROW, ffiPingPong("sync")),
    row(ASYNC_ROW, ffiPingPong("async")),
    row(COMMAND_ROW, commandPingPong()),
  ];
  const transfer = [
    row(C_ROW, cTransfer(bin)),
    row(FLOOR_ROW, ffiTransfer("raw")),
    row(SYNC_ROW, ffiTransfer("sync")),
    row(ASYNC_ROW, ffiTransfer("async")),
    row(COMMAND_ROW, commandTransfer()),
  ];
  const started = performance.now();
  await measure(pingpong, placements);
  await measure(transfer, placements);
  pinProcess(cpus);
  const seconds = (performance.now() - started) / 1000;

  const pingGoal: Record<string, number> = { [SYNC_ROW]: 1.2, [ASYNC_ROW]: 2 };
  const out = [
    `Deno ${Deno.version.deno}, ${Deno.build.os} ${Deno.build.arch}, ${cpus.length} CPUs; ` +
    `median of ${REPS} runs per cell, rows interleaved (${fixed(seconds, 0)} s in all).`,
    "",
    `**Ping-pong**: ${MSG} B there and back over two pipes; ${ROUNDS} round trips per run, ` +
    `after ${WARMUP} unmeasured ones.`,
    "",
    ...table(pingpong, placements, "µs / round trip", 1, ["vs C", "goal"], (r, m, at) => {
      const ratio = m / at(C_ROW);
      const goal = pingGoal[r.name];
      return [`${fixed(ratio, 2)}×`, goal === undefined ? "" : `≤ ${goal}× ${mark(ratio <= goal)}`];
    }),
    "",
    `**Throughput**: ${TOTAL / 1024 / 1024} MiB parent → child in ${CHUNK / 1024} KiB writes; ` +
    "the child counts and checksums what it reads.",
    "",
    ...table(transfer, placements, "MiB/s", 0, ["vs C", "vs Command", "goal"], (r, m, at) => {
      const c = m / at(C_ROW);
      const d = m / at(COMMAND_ROW);
      const goal = r.name === SYNC_ROW || r.name === ASYNC_ROW
        ? `≥ 0.9× C ${mark(c >= 0.9)}, ≥ 2× Command ${mark(d >= 2)}`
        : "";
      return [`${fixed(c, 2)}×`, `${fixed(d, 2)}×`, goal];
    }),
  ];
  if (RAW) {
    out.push("", "Samples:");
    for (const r of [...pingpong, ...transfer]) {
      for (const [where, s] of r.samples) {
        out.push(`- ${r.name}, ${where}: ${s.map((x) => fixed(x, 1)).join(", ")}`);
      }
    }
  }
  console.log(out.join("\n"));
} finally {
  await Deno.remove(dir, { recursive: true });
}
