/**
 * The harness of bench/compare's drivers (pipe.ts, msg_queue.ts, posix_mq.ts):
 * where processes run, how rows are measured, how they are reported, and the
 * C baselines.
 *
 * On a small VM, where the scheduler puts the two processes decides more than
 * any code: two processes on one CPU hand over by a context switch, two on
 * separate CPUs must wake an idle CPU, which costs tens of µs on a VM. Each
 * row is therefore measured with both processes on one CPU, with one CPU
 * each, and where the scheduler likes (which mixes the two from run to run,
 * so that group is the noisiest). Every row runs {@link REPS} times per
 * placement, interleaved with the others, and is reported as its median.
 * A ping-pong also times each round trip on its own ({@link RoundClock}): its
 * table adds the p99 of all runs' round trips, pooled.
 *
 * `--raw` on a driver's command line also prints every sample; `--quick` makes
 * a short pass (one run per row, few rounds, the unpinned placement only) that
 * checks every row measures, not how well; `--warmup=N` sets how many untimed
 * round trips come before the timed ones of a ping-pong.
 *
 * Ctrl-C (SIGINT) removes what the run made: see {@link cleanOnInterrupt}.
 *
 * Every table a driver puts in its {@link section} is also recorded, with its
 * samples, for bench/compare/report.ts (the JSON results and the chart): see
 * {@link takeRecords}.
 *
 * @module
 */
import { monotonicNs, rawLibc, type Transfer } from "./common.ts";

/** `--quick`: a short pass that checks every row produces a number (its figures mean little). */
export const QUICK: boolean = Deno.args.includes("--quick");
/** `full`, or `small` with `--quick`. */
export function quick<T>(full: T, small: T): T {
  return QUICK ? small : full;
}
/**
 * Untimed bytes a pipe, FIFO or socket transfer sends first: 1 024 writes of
 * 64 KiB, for the code to settle as the ping-pongs' warm-up rounds let it.
 * The library's sync writes over a Unix stream socket on one CPU moved
 * 1 963 MiB/s in the first 64 MiB and 3 200–4 100 MiB/s in each 64 MiB after.
 */
export const TRANSFER_WARM: number = quick(64, 1) * 1024 * 1024;
/** Runs per row and placement; the tables show their median. */
export const REPS: number = quick(3, 1);
/**
 * The ping-pong of every driver: message size in bytes, timed round trips
 * (REPS runs pool just over 10 000 for the p99), untimed ones first. The
 * untimed ones are many because a Deno process runs its first few thousand
 * calls of any code before V8 has optimised it, and a new child took about
 * 20 000 round trips to settle (`--warmup=500` shows the figures of code
 * that has not: over pipes on one CPU, the sync forms 1.61× C instead of
 * 1.25×). The figures are those of code that has settled, as in a
 * long-running program.
 */
export const MSG = 64;
export const ROUNDS: number = quick(3400, 300);
/** `--warmup=N` on the command line: N untimed round trips instead (e.g. 500, to see code unsettled). */
export const WARMUP: number = countArg("warmup") ?? quick(20_000, 50);

/** `--<name>=N` on the command line: an integer ≥ 1, or undefined when not given. */
export function countArg(name: string): number | undefined {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) return undefined;
  const n = Number(arg.slice(`--${name}=`.length));
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`--${name} takes an integer ≥ 1, got ${arg}`);
  }
  return n;
}
/** `--raw`: list every sample under the tables. */
export const RAW: boolean = Deno.args.includes("--raw");

const decoder = new TextDecoder();

/** Exits with a message on anything but Linux (sched_setaffinity, /proc, the kernel objects). */
export function requireLinux(): void {
  if (Deno.build.os !== "linux") {
    console.error("bench/compare runs on Linux only (sched_setaffinity, /proc).");
    Deno.exit(1);
  }
}

// ---------------------------------------------------------------- placement

/** Where the parent and the child run: CPU lists, as `sched_setaffinity` takes them. */
export interface Placement {
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

/** The CPUs process (or thread) `pid` may run on; 0 is the calling thread. */
export function cpusOf(pid: number): number[] {
  const set = new Uint8Array(CPU_SET_BYTES);
  if (rawLibc().sched_getaffinity(pid, BigInt(CPU_SET_BYTES), set) < 0) {
    throw new Error("sched_getaffinity");
  }
  const cpus = [];
  for (let c = 0; c < CPU_SET_BYTES * 8; c++) if (set[c >> 3] & (1 << (c & 7))) cpus.push(c);
  return cpus;
}

let all: number[] | undefined;

/** Every CPU this process may use, as it was before the harness pinned anything. */
export function allCpus(): number[] {
  return all ??= cpusOf(0);
}

/** One CPU for both, one CPU each (when there are two), anywhere; with `--quick` only anywhere. */
export function placements(): Placement[] {
  const cpus = allCpus();
  if (QUICK) return [{ name: "any CPU", parent: cpus, child: cpus }];
  const out: Placement[] = [{ name: "one CPU", parent: [cpus[0]], child: [cpus[0]] }];
  if (cpus.length >= 2) out.push({ name: "two CPUs", parent: [cpus[0]], child: [cpus[1]] });
  out.push({ name: "any CPU", parent: cpus, child: cpus });
  return out;
}

/** Pins the calling thread (0) or thread `tid`; false if that thread is gone. */
export function pin(cpus: number[], tid = 0): boolean {
  return rawLibc().sched_setaffinity(tid, BigInt(CPU_SET_BYTES), cpuSet(cpus)) === 0;
}

/** Pins every thread of this process (threads started later inherit it). */
export function pinProcess(cpus: number[]): void {
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
 * `Deno.Command` start it from this (the main) thread; `checkPlaced` verifies,
 * and kills a child that runs elsewhere.
 */
export function placed<T extends { pid: number; kill(signal: "SIGKILL"): void }>(
  where: Placement,
  start: () => T,
): T {
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
    child.kill("SIGKILL");
    throw e;
  }
  return child;
}

/** Throws unless process `pid` runs on exactly `cpus`. */
export function checkPlaced(pid: number, cpus: number[]): void {
  const got = cpusOf(pid);
  if (got.join() !== cpus.join()) throw new Error(`child ${pid} runs on CPUs ${got}, not ${cpus}`);
}

// ---------------------------------------------------------------- measuring

/**
 * One measurement at a placement: µs per round trip, or MiB/s. A ping-pong
 * also pushes the µs of each timed round trip into `laps`, when given.
 */
export type Measure = (where: Placement, laps?: number[]) => Promise<number>;

/** A row of a table and its samples. */
export interface Row {
  name: string;
  measure: Measure;
  /** Samples by placement name. */
  samples: Map<string, number[]>;
  /** The µs of every timed round trip of every run (a ping-pong's), by placement name. */
  laps: Map<string, number[]>;
}

/** A row without samples yet. */
export function row(name: string, measure: Measure): Row {
  return { name, measure, samples: new Map(), laps: new Map() };
}

/**
 * The clock of a ping-pong run, as common.h's: `tick(i)` at the top of round
 * i, warm-up rounds included, and `tick(total)` after the last. One
 * `CLOCK_MONOTONIC` read per round (an FFI call, tens of ns, as C's
 * `clock_gettime`) gives each timed round trip its own time.
 */
export class RoundClock {
  /** Rounds to run: the warm-up ones, then the timed ones. */
  readonly total: number;
  readonly #rounds: number;
  readonly #warmup: number;
  readonly #at: Float64Array;

  constructor(rounds: number = ROUNDS, warmup: number = WARMUP) {
    this.total = warmup + rounds;
    this.#rounds = rounds;
    this.#warmup = warmup;
    this.#at = new Float64Array(rounds + 1);
  }

  tick(i: number): void {
    if (i >= this.#warmup) this.#at[i - this.#warmup] = monotonicNs();
  }

  /** After `tick(total)`: pushes the µs of each timed round into `laps`; returns their mean. */
  laps(laps?: number[]): number {
    const at = this.#at;
    if (laps !== undefined) {
      for (let i = 0; i < this.#rounds; i++) laps.push((at[i + 1] - at[i]) / 1000);
    }
    return (at[this.#rounds] - at[0]) / 1000 / this.#rounds;
  }
}

/**
 * What a C or Python ping-pong printed, the ns of each of `rounds` round
 * trips: pushes them into `laps` in µs; returns their mean in µs.
 */
export function printedLaps(out: string, rounds: number, laps?: number[]): number {
  const ns = out.trim().split(" ").map(Number);
  if (ns.length !== rounds || !ns.every((x) => x > 0)) {
    throw new Error(`expected the ns of ${rounds} round trips, got "${out.slice(0, 80)}"`);
  }
  if (laps !== undefined) { for (const x of ns) laps.push(x / 1000); }
  return ns.reduce((a, b) => a + b, 0) / 1000 / rounds;
}

/** How a Deno row talks: raw libc calls (the floor), or this library's sync or async forms. */
export type Mode = "raw" | "sync" | "async";

/** The goals: this library's ping-pong at most this many times C's, by form. */
export const GOALS: Record<"sync" | "async", number> = { sync: 1.2, async: 2 };

/** The goals by row name, for {@link pingPongTable}. */
export function goalsOf(names: Record<"sync" | "async", string>): Record<string, number> {
  return { [names.sync]: GOALS.sync, [names.async]: GOALS.async };
}

/**
 * Runs every row REPS times at every placement, interleaved so that a noisy
 * moment of the machine hits every row alike; this process runs on every CPU
 * again afterwards. Returns the seconds it took.
 */
export async function measure(rows: Row[], where: Placement[]): Promise<number> {
  const started = performance.now();
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const place of where) {
        pinProcess(place.parent);
        for (let i = 0; i < rows.length; i++) {
          // Rotate the order, so no row always runs right after the same neighbour.
          const r = rows[(i + rep) % rows.length];
          const samples = r.samples.get(place.name) ?? [];
          const laps = r.laps.get(place.name) ?? [];
          r.samples.set(place.name, samples);
          r.laps.set(place.name, laps);
          samples.push(await r.measure(place, laps));
        }
      }
    }
  } finally {
    pinProcess(allCpus());
  }
  return (performance.now() - started) / 1000;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The 99th percentile: the smallest sample that at least 99 % of them do not exceed. */
export function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.ceil(0.99 * s.length) - 1];
}

/** Throws unless a child ended with success. */
export async function checkStatus(
  status: Promise<{ success: boolean; code: number }>,
  what: string,
): Promise<void> {
  const s = await status;
  if (!s.success) throw new Error(`${what} exited with code ${s.code}`);
}

// ---------------------------------------------------------------- reporting

export const fixed = (x: number, digits: number): string => x.toFixed(digits);
export const mark = (ok: boolean): string => ok ? "✓" : "✗";

/** What runs the benchmarks: Deno's version, the platform, the CPUs. */
export function platform(): string {
  return `Deno ${Deno.version.deno}, ${Deno.build.os} ${Deno.build.arch}, ${allCpus().length} CPUs`;
}

/** The one line above all tables: what ran them, and how. */
export function header(): string {
  return `${platform()}; median of ${REPS} runs per cell, rows interleaved.`;
}

/**
 * A markdown table: one group of rows per placement. `extra` gives the cells
 * of `columns` for a row, from its median `m` and `at(name)`, the median of
 * another row at the same placement. Rows that timed each round trip (a
 * ping-pong's) add a "p99 µs" column, over their round trips of every run.
 */
export function table(
  rows: Row[],
  where: Placement[],
  unit: string,
  digits: number,
  columns: string[],
  extra: (row: Row, m: number, at: (name: string) => number) => string[],
): string[] {
  const timed = rows.some((r) => [...r.laps.values()].some((l) => l.length > 0));
  const out = [
    `| placement | row | ${unit} | min – max | ${timed ? "p99 µs | " : ""}${columns.join(" | ")} |`,
    `|---|---|---:|---:|${timed ? "---:|" : ""}${
      columns.map((c) => c === "goal" ? "---|" : "---:|").join("")
    }`,
  ];
  const record: RecordedTable = {
    notes: [],
    unit,
    digits,
    columns,
    placements: where,
    baselines: [],
    rows: rows.map((r) => ({ name: r.name, cells: {} })),
  };
  for (const place of where) {
    // The rows `extra` compares a row with are its baselines: the record keeps those ratios.
    let asked: string[] = [];
    const at = (name: string) => {
      if (!asked.includes(name)) asked.push(name);
      return median(rows.find((r) => r.name === name)!.samples.get(place.name)!);
    };
    rows.forEach((r, i) => {
      const s = r.samples.get(place.name)!;
      const m = median(s);
      const laps = r.laps.get(place.name) ?? [];
      const tail = laps.length > 0 ? p99(laps) : undefined;
      const range = `${fixed(Math.min(...s), digits)} – ${fixed(Math.max(...s), digits)}`;
      const name = i === 0 ? `**${place.name}**` : "";
      const p99Cell = !timed ? "" : `${tail === undefined ? "–" : fixed(tail, digits)} | `;
      asked = [];
      out.push(
        `| ${name} | ${r.name} | ${fixed(m, digits)} | ${range} | ${p99Cell}${
          extra(r, m, at).join(" | ")
        } |`,
      );
      const cell: RecordedCell = {
        ...recordedCell(s),
        ...(tail === undefined ? {} : { p99: tail, roundTrips: laps.length }),
      };
      for (const base of asked) {
        cell.ratios[base] = m / at(base);
        if (!record.baselines.includes(base)) record.baselines.push(base);
      }
      record.rows[i].cells[place.name] = cell;
    });
  }
  recordedTables.set(out, [record]);
  return out;
}

/**
 * The paragraph above a ping-pong table, its bold lead `title`; `over` says
 * what carries the messages, `what` what goes (a turn alone, where no data moves).
 */
export function pingPongIntro(over: string, title = "Ping-pong", what = `${MSG} B`): string {
  return `**${title}**: ${what} there and back over ${over}; ${ROUNDS} round trips per run, ` +
    `after ${WARMUP} unmeasured ones. ${P99_NOTE}`;
}

/** What the p99 column of a ping-pong table is. */
export const P99_NOTE = "The p99 pools the round trips of every run, each timed on its own " +
  "(one `CLOCK_MONOTONIC` read per round, in every language).";

/** The ping-pong table: µs per round trip, the ratio to row `cRow`, and the goals (≤ ratio) by row. */
export function pingPongTable(
  rows: Row[],
  where: Placement[],
  cRow: string,
  goals: Record<string, number>,
): string[] {
  return table(rows, where, "µs / round trip", 1, ["vs C", "goal"], (r, m, at) => {
    const ratio = m / at(cRow);
    const goal = goals[r.name];
    return [`${fixed(ratio, 2)}×`, goal === undefined ? "" : `≤ ${goal}× ${mark(ratio <= goal)}`];
  });
}

/**
 * A driver's report: a title, its paragraphs and tables (as lines), how long the
 * measuring took, and with `--raw` every sample of `rows`.
 */
export function section(
  title: string,
  seconds: number,
  blocks: Array<string | string[]>,
  rows: Row[],
): string {
  const out = [
    `### ${title}`,
    "",
    ...blocks.flatMap((b) => [typeof b === "string" ? b : b.join("\n"), ""]),
    `Measured in ${fixed(seconds, 0)} s.`,
  ];
  if (RAW && rows.length > 0) {
    out.push("", "Samples:");
    for (const r of rows) {
      for (const [where, s] of r.samples) {
        out.push(`- ${r.name}, ${where}: ${s.map((x) => fixed(x, 1)).join(", ")}`);
      }
    }
  }
  const record: RecordedSection = { title, seconds, tables: [] };
  // A paragraph with a bold lead ("**Ping-pong**: ...") introduces the next table; others
  // between a table and the next such paragraph are notes under that table.
  let about: string | undefined;
  let last: RecordedTable[] = [];
  for (const block of blocks) {
    if (typeof block === "string") {
      if (block.startsWith("**") || (last.length === 0 && !about?.startsWith("**"))) {
        about = block;
        last = [];
      } else last.forEach((t) => t.notes.push(block));
      continue;
    }
    // A table of a driver's own may show several recorded tables, each with its own lead.
    const tables = recordedTables.get(block);
    if (tables !== undefined) {
      last = tables.map((t) => ({ ...t, about: t.about ?? about, notes: [] }));
      record.tables.push(...last);
    }
    about = undefined;
  }
  out.push("", `${RECORD_OPEN}${JSON.stringify(record)}${RECORD_CLOSE}`);
  return out.join("\n");
}

/** Runs a driver's `main` as a program: the header, then its report. */
export async function standalone(main: () => Promise<string>): Promise<void> {
  requireLinux();
  cleanOnInterrupt();
  console.log(header());
  console.log(`\n${takeRecords(await main())}`);
}

// ---------------------------------------------------------------- Ctrl-C

/*
 * SIGINT kills a Deno process without running its `finally` blocks, so the
 * run's children and kernel objects would stay. The listener instead: signals
 * every descendant (as Ctrl-C in a terminal does; a Deno child with this
 * listener cleans up after itself), kills those still there after a while,
 * runs the cleanups drivers registered, removes the System V objects the
 * descendants used (C children make private ones this process never sees) and
 * the temporary directories named after them, and exits with 130.
 */

const cleanups = new Set<() => unknown>();

/** Registers `cleanup` to run on Ctrl-C; returns what unregisters it (call it in `finally`). */
export function atInterrupt(cleanup: () => unknown): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** The prefix of this process's temporary directories: the cleanup finds them by pid. */
export const tempPrefix = (what = ""): string => `ipc-bench-${Deno.pid}-${what}`;

let listening = false;

/** Installs the SIGINT listener (once). */
export function cleanOnInterrupt(): void {
  if (listening) return;
  listening = true;
  let cleaning = false;
  Deno.addSignalListener("SIGINT", async () => {
    if (cleaning) return;
    cleaning = true;
    // A child ended by the cleanup fails the row being measured: the cleanup still decides.
    globalThis.addEventListener("unhandledrejection", (e) => e.preventDefault());
    try {
      await cleanUp();
    } catch (e) {
      console.error("bench/compare: cleaning up after Ctrl-C:", e);
    }
    Deno.exit(130);
  });
}

async function cleanUp(): Promise<void> {
  const pids = descendants(Deno.pid);
  for (const pid of pids) signal(pid, "SIGINT");
  for (let i = 0; i < 40 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids) signal(pid, "SIGKILL");
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch {
      // Already gone; the others still run.
    }
  }
  const ours = new Set([Deno.pid, ...pids]);
  const lib = ipcLibc();
  for (const [id, used] of sysvTouched("msg", (f) => [f[5], f[6]])) {
    if (used.some((p) => ours.has(p))) lib.msgctl(id, IPC_RMID, null);
  }
  for (const [id, used] of sysvTouched("shm", (f) => [f[4], f[5]])) {
    if (used.some((p) => ours.has(p))) lib.shmctl(id, IPC_RMID, null);
  }
  for (const [id, [nsems]] of sysvTouched("sem", (f) => [f[3]])) {
    for (let n = 0; n < nsems; n++) {
      if (ours.has(lib.semctl(id, n, GETPID))) {
        lib.semctl(id, 0, IPC_RMID);
        break;
      }
    }
  }
  for (const pid of ours) {
    // posix_mq.c's names, should it die between creating and unlinking them.
    for (const end of ["down", "up"]) lib.mq_unlink(cString(`/libc-ipc-bench-c-${pid}-${end}`));
  }
  const tmp = tempBase();
  for (const entry of Deno.readDirSync(tmp)) {
    const pid = Number(/^ipc-bench-(\d+)-/.exec(entry.name)?.[1]);
    if (ours.has(pid)) Deno.removeSync(`${tmp}/${entry.name}`, { recursive: true });
  }
}

const IPC_RMID = 0;
const GETPID = 11;
const cString = (s: string) => new TextEncoder().encode(`${s}\0`);

let ipc: ReturnType<typeof openIpcLibc> | undefined;
const ipcLibc = () => ipc ??= openIpcLibc();

function openIpcLibc() {
  return Deno.dlopen("libc.so.6", {
    msgctl: { parameters: ["i32", "i32", "pointer"], result: "i32" },
    shmctl: { parameters: ["i32", "i32", "pointer"], result: "i32" },
    semctl: { parameters: ["i32", "i32", "i32"], result: "i32" },
    mq_unlink: { parameters: ["buffer"], result: "i32" },
    getuid: { parameters: [], result: "u32" },
    open: { parameters: ["buffer", "i32"], result: "i32" },
    read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    close: { parameters: ["i32"], result: "i32" },
  }).symbols;
}

/** `/proc/sysvipc/<kind>`: id → the numeric fields `pick` takes, for objects of this user. */
function sysvTouched(
  kind: string,
  pick: (fields: number[]) => number[],
): Array<[number, number[]]> {
  const uid = ipcLibc().getuid();
  const out: Array<[number, number[]]> = [];
  for (const line of procText(`/proc/sysvipc/${kind}`).split("\n").slice(1)) {
    const f = line.trim().split(/\s+/).map(Number);
    // The creator's uid: after the pid fields, `uid gid cuid cgid`.
    const cuid = f[kind === "msg" ? 9 : kind === "shm" ? 9 : 6];
    if (f.length > 1 && cuid === uid) out.push([f[1], pick(f)]);
  }
  return out;
}

/** Every process below `root`, parents first. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of procPids()) {
    if (!(pid > 0)) continue;
    let stat: string;
    try {
      stat = procText(`/proc/${pid}/stat`);
    } catch {
      continue; // ended meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    children.set(ppid, [...children.get(ppid) ?? [], pid]);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const next = children.get(todo.shift()!) ?? [];
    out.push(...next);
    todo.push(...next);
  }
  return out;
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // Ended already.
  }
}

/** Whether process `pid` runs: neither ended nor a zombie. */
export function alive(pid: number): boolean {
  try {
    // Neither ended nor a zombie.
    return !/^\d+ \(.*\) Z/s.test(procText(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

// Deno's file API asks for --allow-all to read /proc; libc does not.

/** A /proc file's text. */
export function procText(path: string): string {
  const lib = ipcLibc();
  const fd = lib.open(cString(path), 0);
  if (fd < 0) throw new Error(`cannot open ${path}`);
  const chunks: Uint8Array[] = [];
  try {
    for (;;) {
      const buf = new Uint8Array(65536);
      const n = Number(lib.read(fd, buf, BigInt(buf.length)));
      if (n <= 0) break;
      chunks.push(buf.subarray(0, n));
    }
  } finally {
    lib.close(fd);
  }
  return chunks.map((c) => decoder.decode(c)).join("");
}

/** The pids in /proc, or the thread ids in `/proc/<pid>/task`. */
export function procPids(path = "/proc"): number[] {
  const { opendir, readdir, closedir } = rawLibc();
  const dir = opendir(cString(path));
  if (dir === null) throw new Error(`cannot list ${path}`);
  const pids = [];
  try {
    for (let entry; (entry = readdir(dir)) !== null;) {
      const pid = Number(Deno.UnsafePointerView.getCString(entry, 19));
      if (pid > 0) pids.push(pid);
    }
  } finally {
    closedir(dir);
  }
  return pids;
}

/** Where Deno.makeTempDir puts directories. */
function tempBase(): string {
  const env = Deno.permissions.querySync({ name: "env", variable: "TMPDIR" }).state;
  return (env === "granted" ? Deno.env.get("TMPDIR") : undefined) ?? "/tmp";
}

// ---------------------------------------------------------------- recording

/** One row at one placement: its samples, and its ratio to each baseline row of its table. */
export interface RecordedCell {
  samples: number[];
  median: number;
  min: number;
  max: number;
  /**
   * The 99th percentile: of a ping-pong, over its round trips (`roundTrips`,
   * every run's), in µs; of a table of latencies (lag.ts), over its samples.
   */
  p99?: number;
  roundTrips?: number;
  /** `median / median of that row`, by the baseline row's name. */
  ratios: Record<string, number>;
}

/** A table as {@link table} rendered it. */
export interface RecordedTable {
  /** The paragraph above the table in its section, and those under it. */
  about?: string;
  notes: string[];
  /** What a cell measures, as the table's header says: "µs / round trip", "MiB/s", ... */
  unit: string;
  digits: number;
  /** The table's extra columns ("vs C", "goal", ...). */
  columns: string[];
  placements: Placement[];
  /** The rows the table compares every row with, in the order it first asks for them. */
  baselines: string[];
  /** Every row, in the table's order; cells by placement name. */
  rows: Array<{ name: string; cells: Record<string, RecordedCell> }>;
}

/** A driver's section: its title, how long it measured, its tables. */
export interface RecordedSection {
  title: string;
  seconds: number;
  tables: RecordedTable[];
}

/** The tables of this process by the block that shows them, until a {@link section} takes them into its record. */
const recordedTables = new WeakMap<string[], RecordedTable[]>();

/** A cell of `samples`, without ratios yet. */
export function recordedCell(samples: number[]): RecordedCell {
  return {
    samples: [...samples],
    median: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
    ratios: {},
  };
}

/**
 * Records `tables` as what `lines` shows, for a driver that renders a table of
 * its own with several figures per row (lag.ts): {@link section} puts them in
 * its record, in order, each under its own `about` where it has one. Returns `lines`.
 */
export function recordAs(lines: string[], tables: RecordedTable[]): string[] {
  recordedTables.set(lines, tables);
  return lines;
}

/** Every section {@link takeRecords} found, in order. */
export const recorded: RecordedSection[] = [];

// The record travels in the section's text, as an HTML comment on a line of its own: a driver
// that measures in a copy of itself (signal.ts) hands its report back as text.
const RECORD_OPEN = "<!-- bench record: ";
const RECORD_CLOSE = " -->";
const RECORD_LINE = /\n*^<!-- bench record: (.*) -->$/gm;

/**
 * Takes the records out of a driver's report into {@link recorded}; returns
 * the report without them.
 */
export function takeRecords(report: string): string {
  return report.replace(RECORD_LINE, (_, json: string) => {
    recorded.push(JSON.parse(json));
    return "";
  });
}

// ---------------------------------------------------------------- C baselines

/**
 * Compiles the C programs `sources` (files beside this one) with `cc -O2` into
 * a temporary directory, runs `use` with their paths (in the same order), and
 * removes the directory.
 */
export async function withC<T>(
  sources: string[],
  use: (bins: string[]) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: tempPrefix() });
  try {
    const bins: string[] = [];
    for (const source of sources) {
      const bin = `${dir}/${source.replace(/\.c$/, "")}`;
      const out = await new Deno.Command("cc", {
        args: ["-O2", "-o", bin, new URL(source, import.meta.url).pathname],
        stderr: "inherit",
      }).output().catch((e) => {
        throw new Error(`cannot run the C compiler "cc": ${e.message}`);
      });
      if (!out.success) throw new Error(`cc failed to compile ${source}`);
      bins.push(bin);
    }
    return await use(bins);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs a C program to its end; returns what it printed. */
export async function runC(bin: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(bin, { args, stdout: "piped", stderr: "inherit" }).output();
  if (!out.success) throw new Error(`${bin} ${args.join(" ")} failed: ${out.code}`);
  return decoder.decode(out.stdout).trim();
}

/** The C program forks its own child; it is given the child's CPU when there is one. */
export function cChildCpu(where: Placement): string[] {
  return where.child.length === 1 ? [`${where.child[0]}`] : [];
}

/**
 * The C or Python row of a ping-pong: `run([COMMAND, ROUNDS, WARMUP, MSG, [CHILD_CPU]])`
 * prints the ns of each round trip (common.h, python/common.py).
 */
export function printedPingPong(
  run: (args: string[]) => Promise<string>,
  command = "pingpong",
): Measure {
  return async (where, laps) => {
    const args = [command, `${ROUNDS}`, `${WARMUP}`, `${MSG}`, ...cChildCpu(where)];
    return printedLaps(await run(args), ROUNDS, laps);
  };
}

/** The C row of a ping-pong: {@link printedPingPong} of the program `bin`. */
export function cPingPong(bin: string, command = "pingpong"): Measure {
  return printedPingPong((args) => runC(bin, args), command);
}

/**
 * The C or Python row of a transfer: `run([COMMAND, TOTAL, CHUNK, (WARM,) [CHILD_CPU]])`
 * (WARM where the transfer has one: socket.c's) prints "ns count checksum"; MiB/s.
 */
export function printedTransfer(
  bulk: Transfer,
  run: (args: string[]) => Promise<string>,
  command = "transfer",
): Measure {
  const warm = bulk.warm > 0 ? [`${bulk.warm}`] : [];
  return async (where) =>
    bulk.printed(
      await run([command, `${bulk.total}`, `${bulk.chunk}`, ...warm, ...cChildCpu(where)]),
    );
}

// ---------------------------------------------------------------- a ping-pong driver

/** A driver whose one workload is the ping-pong: see {@link pingPongSection}. */
export interface PingPong {
  /** The section's title. */
  title: string;
  /** What carries the messages, as in "two pipes". */
  over: string;
  /** The C baseline: a program beside this file that forks its own child. */
  source: string;
  /** The rows' names: the C baseline, then one per mode. */
  names: Record<"c" | Mode, string>;
  /** The Deno rows: one measurement in the given mode. */
  measure: (mode: Mode) => Measure;
  /** More rows measured beside them (another language's), and notes under the table. */
  others?: { rows: Row[]; notes: string[] };
}

/** Compiles the C baseline, measures it and every mode at every placement; returns the section. */
export async function pingPongSection(p: PingPong): Promise<string> {
  const where = placements();
  return await withC([p.source], async ([bin]) => {
    const rows = [
      row(p.names.c, cPingPong(bin)),
      ...(["raw", "sync", "async"] as const).map((mode) => row(p.names[mode], p.measure(mode))),
      ...p.others?.rows ?? [],
    ];
    const seconds = await measure(rows, where);
    return section(p.title, seconds, [
      pingPongIntro(p.over),
      pingPongTable(rows, where, p.names.c, goalsOf(p.names)),
      ...p.others?.notes ?? [],
    ], rows);
  });
}
