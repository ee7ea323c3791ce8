/**
 * The waiting engine's figures (src/_wait/): how soon an abort ends a wait,
 * what receiving a steady stream costs in CPU, what pending waits do to
 * Deno's own file operations, and the one-CPU ping-pong against the floor.
 * Each figure is measured beside its baseline in the same run, RUNS times, and
 * reported as the median of the runs with their range (min–max of the runs'
 * values), as a Markdown table for the README. How soon a parked wait wakes,
 * and what idle waits cost, lag.ts measures for every mechanism.
 *
 * - **Cancel**: `AbortController.abort()` → the rejection seen, for a wait
 *   parked 20 ms, in one process (wait_child.ts `cancel`).
 * - **CPU**: `getrusage(RUSAGE_SELF)` of the receiver over wall time while a C
 *   sender sends one 8-byte message every 1 ms (from message TICK_WARM on);
 *   the receiver acks "ready" on a System V "ack" queue.
 * - **readTextFile**: the worst of READ_CALLS `Deno.readTextFile`, spaced
 *   5–27 ms apart, with no wait pending, then with 1000 pending: `read()` on
 *   500 pipes (the fd source) and `receive()` of 50 distinct types on each of
 *   10 System V queues (the call source: 4 parked, the rest on the poll clock;
 *   one type for all would share one parked call).
 * - **Ping-pong**: the 64 B ping-pong rows of pipe.ts, msg_queue.ts and
 *   posix_mq.ts with both processes on one CPU; ratios within each run. Run
 *   by run.ts, it takes them from those drivers' tables, measured moments
 *   before in the same run, instead of measuring them twice.
 *
 * Run: `deno task bench:compare:wait` (Linux; needs `cc`; about a minute);
 * also run by `deno task bench:compare`. `--raw` also prints every run's
 * values; `--only=cancel,tick,readfile,pingpong` measures only those groups
 * (the table leaves the other rows out). Every queue, FIFO and child is
 * removed or reaped, whatever happens, Ctrl-C included.
 *
 * @module
 */
import { Fifo, MessageQueue, PosixMessageQueue } from "../../mod.ts";
import {
  allCpus,
  atInterrupt,
  cleanOnInterrupt,
  cPingPong,
  fixed,
  mark,
  type Measure,
  median,
  type Mode,
  MSG,
  pinProcess,
  placements,
  platform,
  quick,
  RAW,
  type RecordedSection,
  requireLinux,
  ROUNDS,
  tempPrefix,
  withC,
} from "./harness.ts";
import { pipePingPong } from "./pipe.ts";
import { denoPingPong as sysvPingPong } from "./msg_queue.ts";
import { ffiPingPong as posixPingPong } from "./posix_mq.ts";
import { ACK, DATA_SIZE } from "./wait_child.ts";
import { type Form, formOf } from "./report.ts";

/** Runs of every figure; the table shows their median and range. */
export const RUNS: number = quick(3, 1);
/** The groups of figures, in the order of a run. */
const GROUPS = ["cancel", "tick", "readfile", "pingpong"] as const;
type Group = typeof GROUPS[number];
/** `--only=cancel,tick`: measures only these groups (the table leaves the others out). */
const ONLY: Set<string> = new Set(
  Deno.args.find((a) => a.startsWith("--only="))?.slice(7).split(",") ?? GROUPS,
);
const want = (group: Group) => ONLY.has(group);
/** Aborts per kind of wait per run. */
const CANCELS = quick(20, 3);
/** Messages every 1 ms: this many, the first WARM unmeasured. */
const TICK_PERIOD_US = 1000;
const TICK_COUNT = quick(800, 60);
const TICK_WARM = quick(200, 10);
/** readTextFile: calls timed, pipes with a read pending, queues × receives pending on each. */
const READ_CALLS = quick(50, 5);
const READ_PIPES = 500;
const READ_QUEUES = 10;
const READ_PER_QUEUE = 50;
/** A child that says nothing for this long has failed. */
const ACK_TIMEOUT_MS = 20_000;

const CHILD = new URL("wait_child.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

// ---------------------------------------------------------------- children

/** A Deno child running wait_child.ts; its stdout is piped, for its report. */
function denoChild(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--allow-read", CHILD, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** A child running the C program. */
function cChild(bin: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(bin, { args, stdin: "null", stdout: "piped", stderr: "inherit" })
    .spawn();
}

/** Waits for a child's end; returns the last line it printed; throws unless it succeeded. */
async function finish(child: Deno.ChildProcess, what: string): Promise<string> {
  const out = await child.output();
  if (!out.success) throw new Error(`${what} exited with code ${out.code}`);
  return decoder.decode(out.stdout).trim().split("\n").at(-1) ?? "";
}

/** Kills a child that may still run (by its pid) and reaps it. */
async function reap(child: Deno.ChildProcess | undefined): Promise<void> {
  if (child === undefined) return;
  try {
    child.kill("SIGKILL");
  } catch {
    // Already ended.
  }
  await child.status.catch(() => {});
  await child.stdout.cancel().catch(() => {});
}

/** "cpu_ns wall_ns count" → CPU % of one core, and the count. */
function cpuReport(line: string): { percent: number; count: number } {
  const [cpu, wall, count] = line.split(" ").map(Number);
  if (!(wall > 0)) throw new Error(`bad report "${line}"`);
  return { percent: cpu / wall * 100, count };
}

/** The next ack: the CLOCK_MONOTONIC ns the receiver sent. */
function readAck(ack: MessageQueue): number {
  let data: Uint8Array;
  try {
    ({ data } = ack.receiveSync({ type: ACK, timeout: ACK_TIMEOUT_MS }));
  } catch (e) {
    if (!(e instanceof Deno.errors.TimedOut)) throw e;
    throw new Error(`no answer from the receiver in ${ACK_TIMEOUT_MS} ms: see its errors above`, {
      cause: e,
    });
  }
  return Number(new DataView(data.buffer, data.byteOffset).getBigInt64(0, true));
}

let serial = 0;
const posixName = () => `/libc-ipc-bench-wait-${Deno.pid}-${++serial}`;

function unlinkQuietly(name: string): void {
  try {
    PosixMessageQueue.unlink(name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/**
 * A private System V queue for `use`, removed afterwards whatever happens,
 * Ctrl-C included (a queue nobody used yet is not found as this run's).
 */
async function withQueue<T>(use: (q: MessageQueue) => Promise<T>): Promise<T> {
  using q = MessageQueue.open("private");
  const forget = atInterrupt(() => q.remove());
  let result: T;
  try {
    result = await use(q);
  } catch (e) {
    try {
      q.remove();
    } catch {
      // The first failure says more.
    }
    throw e;
  } finally {
    forget();
  }
  q.remove();
  return result;
}

/** A POSIX queue of 8-byte messages for `use`, opened here for writing; unlinked afterwards. */
async function withPosixQueue<T>(use: (q: PosixMessageQueue, name: string) => Promise<T>) {
  const name = posixName();
  const forget = atInterrupt(() => unlinkQuietly(name));
  try {
    using q = PosixMessageQueue.open(name, {
      create: true,
      exclusive: true,
      access: "write",
      maxMessages: 10,
      messageSize: DATA_SIZE,
    });
    return await use(q, name);
  } finally {
    unlinkQuietly(name);
    forget();
  }
}

/** A FIFO in a temporary directory for `use`; both removed afterwards. */
async function withFifo<T>(use: (path: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: tempPrefix("wait-") });
  try {
    const path = `${dir}/fifo`;
    Fifo.create(path);
    return await use(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// ---------------------------------------------------------------- CPU

/** Starts a receiver: on `target` (a queue id, a POSIX queue's name), acking on queue `ack`. */
type Receiver = (target: string, ack: number) => Deno.ChildProcess;

/** CPU % of a receiver getting a message every 1 ms from wait.c's ticker. */
async function tickCpu(
  bin: string,
  family: "sysv" | "posix",
  receiver: Receiver,
): Promise<number> {
  const run = async (target: string) =>
    await withQueue(async (ack) => {
      let child: Deno.ChildProcess | undefined = receiver(target, ack.id);
      let ticker: Deno.ChildProcess | undefined;
      try {
        readAck(ack); // ready
        ticker = cChild(bin, [`tick-${family}`, target, `${TICK_PERIOD_US}`, `${TICK_COUNT}`]);
        await finish(ticker, "ticker");
        ticker = undefined;
        const { percent, count } = cpuReport(await finish(child, "tick receiver"));
        child = undefined;
        if (count !== TICK_COUNT - TICK_WARM) throw new Error(`receiver counted ${count}`);
        return percent;
      } finally {
        await reap(ticker);
        await reap(child);
      }
    });
  if (family === "sysv") return await withQueue((q) => run(`${q.id}`));
  return await withPosixQueue((_, name) => run(name));
}

// ---------------------------------------------------------------- one process

async function cancels(): Promise<Record<string, number[]>> {
  return await withQueue((q) =>
    withPosixQueue((_, name) =>
      withFifo(async (path) => {
        let child: Deno.ChildProcess | undefined = denoChild([
          "cancel",
          `${q.id}`,
          name,
          path,
          `${CANCELS}`,
        ]);
        try {
          const line = await finish(child, "cancel child");
          child = undefined;
          return JSON.parse(line);
        } finally {
          await reap(child);
        }
      })
    )
  );
}

async function readFiles(): Promise<{ none: number[]; waits: number[] }> {
  const queues = Array.from({ length: READ_QUEUES }, () => MessageQueue.open("private"));
  // The child only waits on them: nothing marks them as this run's for the Ctrl-C cleanup.
  const forget = atInterrupt(() => queues.forEach((q) => q.remove()));
  let child: Deno.ChildProcess | undefined;
  try {
    child = denoChild([
      "readfile",
      CHILD,
      `${READ_PIPES}`,
      queues.map((q) => q.id).join(","),
      `${READ_PER_QUEUE}`,
      `${READ_CALLS}`,
    ]);
    const line = await finish(child, "readfile child");
    child = undefined;
    return JSON.parse(line);
  } finally {
    await reap(child);
    forget();
    for (const q of queues) {
      q.remove();
      q.close();
    }
  }
}

// ---------------------------------------------------------------- the runs

/** Every run's value of every metric, by name. */
type Values = Map<string, number[]>;

/** Shuffles a run's order (rotates it by the run's number) so no row always follows the same one. */
function rotated<T>(xs: T[], run: number): T[] {
  return xs.map((_, i) => xs[(i + run) % xs.length]);
}

interface Programs {
  wait: string;
  pipe: string;
  sysv: string;
  posix: string;
}

/** The ping-pong kinds, by the title of the section whose first table holds their one-CPU rows. */
const PING_PONG_SECTIONS = {
  pipe: "Pipes",
  sysv: "System V message queues",
  posix: "POSIX message queues",
} as const;
type PingPongKind = keyof typeof PING_PONG_SECTIONS;
/** Each key's row of those tables, by its form (report.ts tells a row's form by its name). */
const PING_PONG_ROWS: Record<string, Form> = { c: "c", raw: "floor", sync: "sync", async: "async" };

/**
 * The runs' one-CPU ping-pong samples (`pp.<kind>.<form>`) of the tables in
 * `sections`, or none unless each is there with a sample per run.
 */
function earlierPingPongs(sections: RecordedSection[]): Map<string, number[]> | undefined {
  const one = placements()[0].name;
  const found = new Map<string, number[]>();
  for (const [kind, title] of Object.entries(PING_PONG_SECTIONS)) {
    const table = sections.find((s) => s.title === title)?.tables[0];
    for (const [form, rowForm] of Object.entries(PING_PONG_ROWS)) {
      const samples = table?.rows.find((r) => formOf(r.name) === rowForm)?.cells[one]?.samples;
      if (samples?.length !== RUNS) return undefined;
      found.set(`pp.${kind}.${form}`, samples);
    }
  }
  return found;
}

/** Puts one run's ping-pong ratios, from its values `pp`. */
function putPingPongRatios(pp: Record<string, number>, put: (key: string, v: number) => void) {
  for (const kind of Object.keys(PING_PONG_SECTIONS)) {
    put(`pp.${kind}.raw/c`, pp[`pp.${kind}.raw`] / pp[`pp.${kind}.c`]);
    put(`pp.${kind}.sync/raw`, pp[`pp.${kind}.sync`] / pp[`pp.${kind}.raw`]);
    put(`pp.${kind}.async/sync`, pp[`pp.${kind}.async`] / pp[`pp.${kind}.sync`]);
  }
}

async function oneRun(
  bins: Programs,
  run: number,
  put: (key: string, v: number) => void,
  measurePingPong: boolean,
) {
  const c = bins.wait;

  // Cancel: one child, every kind of wait.
  if (want("cancel")) {
    for (const [kind, ms] of Object.entries(await cancels())) {
      put(`cancel.${kind}.median`, median(ms));
      put(`cancel.${kind}.max`, Math.max(...ms));
    }
  }

  // CPU with a message every 1 ms; async over sync in this run.
  const warm = `${TICK_WARM}`;
  const tickRows: Array<[string, "sysv" | "posix", Receiver]> = [
    ["tick.sysv-c", "sysv", (t, a) => cChild(c, ["recv-sysv", t, warm, `${a}`])],
    ["tick.sysv-sync", "sysv", (t, a) => denoChild(["recv-sysv-sync", t, warm, `${a}`])],
    ["tick.sysv-async", "sysv", (t, a) => denoChild(["recv-sysv-async", t, warm, `${a}`])],
    ["tick.sysv-parked", "sysv", (t, a) => denoChild(["recv-sysv-parked", t, warm, `${a}`])],
    ["tick.posix-c", "posix", (t, a) => cChild(c, ["recv-posix", t, warm, `${a}`])],
    ["tick.posix-sync", "posix", (t, a) => denoChild(["recv-posix-sync", t, warm, `${a}`])],
    ["tick.posix-async", "posix", (t, a) => denoChild(["recv-posix-async", t, warm, `${a}`])],
  ];
  const ticks: Record<string, number> = {};
  if (want("tick")) {
    for (const [key, family, receiver] of rotated(tickRows, run)) {
      put(key, ticks[key] = await tickCpu(c, family, receiver));
    }
    put("tick.sysv.ratio", ticks["tick.sysv-async"] / ticks["tick.sysv-sync"]);
    put("tick.sysv-parked.ratio", ticks["tick.sysv-parked"] / ticks["tick.sysv-sync"]);
    put("tick.posix.ratio", ticks["tick.posix-async"] / ticks["tick.posix-sync"]);
  }

  // readTextFile with and without 1000 pending waits.
  if (want("readfile")) {
    const reads = await readFiles();
    put("readfile.none.worst", Math.max(...reads.none));
    put("readfile.none.median", median(reads.none));
    put("readfile.waits.worst", Math.max(...reads.waits));
    put("readfile.waits.median", median(reads.waits));
  }

  // Ping-pong, both processes on one CPU.
  const one = placements()[0];
  const ppRows: Array<[string, Measure]> = [];
  const kinds: Array<[PingPongKind, string, (mode: Mode) => Measure]> = [
    ["pipe", bins.pipe, pipePingPong],
    ["sysv", bins.sysv, sysvPingPong],
    ["posix", bins.posix, posixPingPong],
  ];
  for (const [kind, bin, ffi] of kinds) {
    ppRows.push([`pp.${kind}.c`, cPingPong(bin)]);
    for (const mode of ["raw", "sync", "async"] as const) {
      ppRows.push([`pp.${kind}.${mode}`, ffi(mode)]);
    }
  }
  const pp: Record<string, number> = {};
  if (measurePingPong) {
    pinProcess(one.parent);
    try {
      for (const [key, measure] of rotated(ppRows, run)) put(key, pp[key] = await measure(one));
    } finally {
      pinProcess(allCpus());
    }
    putPingPongRatios(pp, put);
  }
}

// ---------------------------------------------------------------- report

/** A duration in ms, shown in µs below 1 ms. */
function time(ms: number): string {
  return ms < 1 ? `${fixed(ms * 1000, 0)} µs` : `${fixed(ms, 2)} ms`;
}
const percent = (x: number) => `${fixed(x, 1)} %`;
const times = (x: number) => `${fixed(x, 2)}×`;

function report(values: Values, seconds: number, pingPongsTaken: boolean): string {
  // "one CPU"; under --quick, the one placement there is.
  const ppPlace = placements()[0].name;
  // A row whose values were not measured (--only) is left out: get() notes it, add() skips.
  let missing = false;
  const get = (key: string) => {
    const v = values.get(key);
    if (v !== undefined && v.length > 0) return v;
    missing = true;
    return [NaN];
  };
  const m = (key: string) => median(get(key));
  /** "median (min–max)" of the runs. */
  const f = (key: string, format: (x: number) => string) => {
    const v = get(key);
    return `${format(median(v))} (${format(Math.min(...v))}–${format(Math.max(...v))})`;
  };
  const lines = [
    "### The waiting engine",
    "",
    `Each cell: the median of ${RUNS} runs and, in parentheses, the range of the ${RUNS} ` +
    "runs' values; every baseline is measured in the same runs, ratios within each run. " +
    "**Cancel**: `abort()` → the rejection seen, for a wait parked " +
    `20 ms, ${CANCELS} per run. **CPU**: \`getrusage\` of the receiving process (every thread) ` +
    `over wall time, over ${TICK_COUNT - TICK_WARM} messages sent by a C program every ` +
    `${TICK_PERIOD_US / 1000} ms. **readTextFile**: ${READ_CALLS} calls 5–27 ms apart. ` +
    `**Ping-pong**: ${MSG} B, ${ROUNDS} round trips per run, ` +
    (ppPlace === "one CPU" ? "both processes pinned to one CPU" : `both on ${ppPlace} (--quick)`) +
    (pingPongsTaken
      ? `: the ${ppPlace} rows of the pipe, System V and POSIX queue tables above, their runs.`
      : "."),
    "",
    "| figure | @libc/ipc | baseline, same runs | goal | met |",
    "|---|---|---|---|:-:|",
  ];
  const add = (figure: string, ours: string, base: string, goal: string, ok: boolean) => {
    if (!missing) lines.push(`| ${figure} | ${ours} | ${base} | ${goal} | ${mark(ok)} |`);
    missing = false;
  };

  for (
    const [kind, label] of [
      ["sysv-receive", "System V `receive()` (call source: nudge)"],
      ["pipe-read", "pipe `read()` (fd source)"],
      ["posix-receive", "POSIX `receive()` (fd source)"],
      ["fifo-open", "`Fifo.open()` (call source: nudge with the alarm signal)"],
    ]
  ) {
    add(
      `cancel, ${label}: abort → rejection, median (max of ${CANCELS})`,
      `${f(`cancel.${kind}.median`, time)} (max ${f(`cancel.${kind}.max`, time)})`,
      "–",
      "≤ 1 ms",
      m(`cancel.${kind}.median`) <= 1,
    );
  }
  for (
    const [kind, label, c] of [["sysv", "System V", "`msgrcv`"], ["posix", "POSIX", "`mq_receive`"]]
  ) {
    add(
      `CPU, ${label} \`await receive()\` of a message every 1 ms`,
      `${f(`tick.${kind}-async`, percent)} = ${f(`tick.${kind}.ratio`, times)} sync`,
      `\`receiveSync\`: ${f(`tick.${kind}-sync`, percent)}; C ${c}: ${
        f(`tick.${kind}-c`, percent)
      }${
        kind !== "sysv"
          ? ""
          : `; raw \`nonblocking\` FFI \`msgrcv\`: ${f("tick.sysv-parked", percent)} = ${
            f("tick.sysv-parked.ratio", times)
          } sync`
      }`,
      "≤ 3× the sync form",
      m(`tick.${kind}.ratio`) <= 3,
    );
  }
  add(
    `\`Deno.readTextFile\`, worst of ${READ_CALLS}, ${
      READ_PIPES + READ_QUEUES * READ_PER_QUEUE
    } async waits pending (${READ_PIPES} pipe reads; ${
      READ_QUEUES * READ_PER_QUEUE
    } System V receives of distinct types on ${READ_QUEUES} queues: 4 parked, the rest polling)`,
    `${f("readfile.waits.worst", time)}; median ${f("readfile.waits.median", time)}`,
    `no waits: ${f("readfile.none.worst", time)}; median ${f("readfile.none.median", time)}`,
    "≤ 2 ms worst",
    m("readfile.waits.worst") <= 2,
  );
  const us = (x: number) => `${fixed(x, 1)} µs`;
  const ppKinds = [
    ["pipe", "pipe", "`writeSync`/`readSync`", "`write`/`read`"],
    ["sysv", "System V", "`sendSync`/`receiveSync`", "`send`/`receive`"],
    ["posix", "POSIX", "`sendSync`/`receiveSync`", "`send`/`receive`"],
  ];
  for (const [kind, label, sync] of ppKinds) {
    add(
      `${MSG} B ping-pong, ${ppPlace}, ${label} ${sync}`,
      `${f(`pp.${kind}.sync`, us)} = ${f(`pp.${kind}.sync/raw`, times)} floor`,
      `raw FFI floor: ${f(`pp.${kind}.raw`, us)} = ${f(`pp.${kind}.raw/c`, times)} C; C: ${
        f(`pp.${kind}.c`, us)
      }`,
      "≤ 1.1× the floor",
      m(`pp.${kind}.sync/raw`) <= 1.1,
    );
  }
  for (const [kind, label, , async] of ppKinds) {
    add(
      `${MSG} B ping-pong, ${ppPlace}, ${label} \`await\` ${async}`,
      `${f(`pp.${kind}.async`, us)} = ${f(`pp.${kind}.async/sync`, times)} sync`,
      `sync form: ${f(`pp.${kind}.sync`, us)}`,
      "≤ 1.2× the sync form",
      m(`pp.${kind}.async/sync`) <= 1.2,
    );
  }
  lines.push(
    "",
    "Reproduce: `deno task bench:compare:wait` (this table alone) or `deno task bench:compare`.",
    "",
    `Measured in ${fixed(seconds, 0)} s.`,
  );
  if (RAW) {
    lines.push("", "Values of each run:");
    for (const [key, v] of values) lines.push(`- ${key}: ${v.map((x) => fixed(x, 4)).join(", ")}`);
  }
  return lines.join("\n");
}

/** Compiles the C programs beside this file, runs `use` with their paths, and removes them. */
function withPrograms<T>(use: (bins: Programs) => Promise<T>): Promise<T> {
  return withC(
    ["wait.c", "pipe.c", "msg_queue.c", "posix_mq.c"],
    ([wait, pipe, sysv, posix]) => use({ wait, pipe, sysv, posix }),
  );
}

/**
 * Measures every figure RUNS times; returns the section of the report. The
 * one-CPU ping-pongs come from `earlier` sections (run.ts passes those it
 * has measured) where they are all there.
 */
export async function main(earlier: RecordedSection[] = []): Promise<string> {
  allCpus(); // before anything pins this process
  return await withPrograms(async (bins) => {
    const started = performance.now();
    const values: Values = new Map();
    const put = (key: string, v: number) => {
      if (!Number.isFinite(v)) throw new Error(`${key}: ${v}`);
      const vs = values.get(key) ?? [];
      values.set(key, vs);
      vs.push(v);
    };
    const taken = want("pingpong") ? earlierPingPongs(earlier) : undefined;
    for (let run = 0; run < RUNS; run++) {
      await oneRun(bins, run, put, want("pingpong") && taken === undefined);
    }
    for (let run = 0; taken && run < RUNS; run++) {
      const pp: Record<string, number> = {};
      for (const [key, samples] of taken) put(key, pp[key] = samples[run]);
      putPingPongRatios(pp, put);
    }
    return report(values, (performance.now() - started) / 1000, taken !== undefined);
  });
}

if (import.meta.main) {
  requireLinux();
  cleanOnInterrupt();
  console.log(`${platform()}.\n\n${await main()}`);
}
