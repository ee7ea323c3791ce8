/**
 * Wake lag and idle CPU of every mechanism, in one run, two processes each:
 * pipe, FIFO, System V queue, POSIX queue, futex word in shared memory,
 * System V semaphore, POSIX semaphore, Unix stream socket, Unix datagram
 * socket, TCP on 127.0.0.1 and signal. Receivers: C blocked in the call
 * (lag.c), a blocking libc `read` through `Deno.dlopen` on the pipe (the
 * floor of any Deno receiver) and the same `read` as a `nonblocking` call on
 * one of Deno's pool threads (the floor of any async wait through FFI: its
 * result reaches JavaScript by the hop every async receiver pays), this
 * library's sync and async forms and Deno's
 * own API where Deno has the mechanism (lag_child.ts), Python's standard
 * library where it has it (python/lag.py). This process sends every message.
 *
 * - **Wake lag**: the receiver waits for one message; this process reads
 *   `CLOCK_MONOTONIC` just before it sends, the receiver reads it when its
 *   call or await returns and sends it back on the ack pipe. Each message
 *   comes 1, 20 or 500 ms after the receiver acked the one before (the idle
 *   gap). All receivers run at once, unpinned, each in a process of its own;
 *   one message is in flight at a time, the rows' sends staggered so that
 *   the 500 ms rows all share one 500 ms (and the 20 ms rows share their 20 ms
 *   in groups); the first message of each row and gap is not counted.
 * - **CPU**: each receiver's CPU time, every thread
 *   (`/proc/<pid>/task/<tid>/schedstat`), read by this process over windows
 *   where nothing arrives, as % of one CPU: with its one pending wait, before
 *   the first message (V8 collects a busy process's garbage in the seconds
 *   after it goes idle: that is not the wait's), and, told so by a last
 *   message, with {@link WAITS} pending waits on objects of its own. All
 *   receivers' windows at once.
 *
 * The control page, the ack pipe and every queue, set and FIFO are made here
 * and removed at the end, also after a failure or Ctrl-C; receivers are
 * killed at the end (they wait for ever).
 *
 * Run: `deno task bench:compare:lag` (Linux; needs `cc`); also run by
 * `deno task bench:compare`. `--quick`: a short pass (few samples, short
 * windows). Every sample goes to the results JSON (run.ts), not to `--raw`.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import {
  alive,
  fixed,
  mark,
  median,
  p99,
  placements,
  procPids,
  procText,
  quick,
  recordAs,
  recordedCell,
  type RecordedTable,
  section,
  standalone,
  tempPrefix,
  withC,
} from "./harness.ts";
import { monotonicNs, sleepUntilNs } from "./common.ts";
import { Python, scriptArgs } from "./python/python.ts";
import {
  type ChildProcess,
  type FdReader,
  type FdSource,
  type FdWriter,
  type Pipe,
  pipe,
  PosixSharedMemory,
  spawn,
  spawnProgram,
} from "../../mod.ts";
import { ACK_SIZE, ACK_TIMEOUT_MS, COMMAND, MANY, PAGE_SIZE, SAMPLE, WAITS } from "./lag_common.ts";
import { type Channel, closeAll, type Form, type Mechanism, MECHANISMS } from "./lag_channels.ts";

/** The idle gaps, in ms, and the samples counted per row at each. */
const GAPS = [1, 20, 500];
const SAMPLES = [quick(100, 3), quick(100, 3), quick(20, 1)];
/** Rows sharing a gap are sent to at least this far apart (ms): a wake-up and its ack fit between. */
const SPACING_MS = 1.5;
/** CPU: the receivers settle this long, then this many windows of this length. */
const SETTLE_MS = quick(1500, 100);
const WINDOWS = quick(3, 3);
const WINDOW_MS = quick(1000, 50);
/** The goals of this library's async form: median and p99 lag (µs) after 20 and 500 ms idle, CPU % idle, and its lag over Deno's own where Deno has the mechanism (20 ms idle). */
const GOALS = { median: 300, p99: 2000, cpu: 1, deno: 1.5 };
/** Deno timers fire a few ms late: the last ms before a send are slept with `clock_nanosleep`. */
const TIMER_SLACK_MS = 5;

const CHILD = new URL("lag_child.ts", import.meta.url);
const CHILD_FLAGS = ["--allow-ffi", "--allow-read", "--allow-write", "--allow-net"];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** One turn of the event loop (µs, where a timer takes ms): Ctrl-C is seen between sends. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

// ---------------------------------------------------------------- rows

interface LagRow {
  /** Its number: the receivers' ROW, the index of its futex word and `sem_t`. */
  id: number;
  mechanism: Mechanism;
  form: Form;
  /** As the JSON names it: "pipe: C read". */
  name: string;
  /** As the table shows it. */
  label: string;
  channel?: Channel;
  receiver?: ChildProcess;
  /** Lags in µs, by gap. */
  lags: number[][];
  /** CPU %, per window: with one wait, with WAITS. */
  cpu: [number[], number[]];
}

const FORMS: Form[] = ["c", "raw", "parked", "sync", "async", "deno", "python"];

function rowsOf(py: Python): LagRow[] {
  const rows: LagRow[] = [];
  for (const mechanism of MECHANISMS) {
    for (const form of FORMS) {
      const call = mechanism.calls[form];
      if (call === undefined || (form === "python" && py.unusable !== undefined)) continue;
      const who = form === "c"
        ? "C"
        : form === "raw" || form === "parked"
        ? "raw libc via Deno.dlopen"
        : form === "deno"
        ? "Deno"
        : form === "python"
        ? py.version
        : `@libc/ipc ${form}`;
      rows.push({
        id: rows.length,
        mechanism,
        form,
        name: `${mechanism.title}: ${who} ${call}`,
        label: `${form === "sync" || form === "async" ? "@libc/ipc" : who} \`${call}\``,
        lags: GAPS.map(() => []),
        cpu: [[], []],
      });
    }
  }
  return rows;
}

/** What every receiver gets: the control page (fd 3) and the ack pipe's write end (fd 4). */
interface Shared {
  page: PosixSharedMemory;
  acks: FdWriter;
  /** The C program; `python3`. */
  bin: string;
  py: Python;
}

function startReceiver(r: LagRow, s: Shared): ChildProcess {
  const channel = r.channel!;
  const fds: Record<number, FdSource> = { 3: s.page, 4: s.acks };
  if (channel.fd !== undefined) fds[5] = channel.fd;
  const args = [r.mechanism.key, `${r.id}`, ...channel.args];
  try {
    if (r.form === "c") return spawnProgram(s.bin, args, { fds });
    if (r.form === "python") {
      return spawnProgram(s.py.executable, scriptArgs("lag.py", args), { fds });
    }
    return spawn(CHILD, {
      args: [r.form, ...args],
      fds,
      blockSignals: channel.blockSignals,
      flags: CHILD_FLAGS,
    });
  } finally {
    channel.fd?.close(); // the receiver has its copy
  }
}

// ---------------------------------------------------------------- acks

/** The read end of the ack pipe, one record at a time. */
class Acks {
  readonly #reader: FdReader;
  readonly #buf = new Uint8Array(ACK_SIZE * 256);
  readonly #view = new DataView(this.#buf.buffer);
  #start = 0;
  #end = 0;

  constructor(reader: FdReader) {
    this.#reader = reader;
  }

  /**
   * The next record. `waiting`: the rows that have not answered; it fails as
   * soon as one of their receivers has ended, or when none answered in time.
   */
  next(waiting: () => LagRow[]): { row: number; ns: number } {
    const deadline = performance.now() + ACK_TIMEOUT_MS;
    while (this.#end - this.#start < ACK_SIZE) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
      let n: number | null;
      try {
        const timeout = Math.max(0, Math.min(deadline - performance.now(), 1000));
        n = this.#reader.readSync(this.#buf.subarray(this.#end), { timeout });
      } catch (e) {
        if (!(e instanceof Deno.errors.TimedOut)) throw e;
        const rows = waiting();
        const ended = rows.find((r) => !alive(r.receiver!.pid));
        if (ended !== undefined) {
          throw new Error(`the receiver of ${ended.name} has ended: see its errors above`);
        }
        if (performance.now() < deadline) continue;
        const names = rows.map((r) => r.name).join(", ");
        throw new Error(`no answer in ${ACK_TIMEOUT_MS / 1000} s from the receiver of ${names}`);
      }
      if (n === null) throw new Error("the ack pipe closed");
      this.#end += n;
    }
    const row = Number(this.#view.getBigInt64(this.#start, true));
    const ns = Number(this.#view.getBigInt64(this.#start + 8, true));
    this.#start += ACK_SIZE;
    return { row, ns };
  }

  /** The ack of row `r`'s message: the time its wait returned. */
  of(r: LagRow): number {
    const { row, ns } = this.next(() => [r]);
    if (row !== r.id) throw new Error(`an ack of row ${row} came while ${r.name} was sent to`);
    return ns;
  }

  /** Waits until every row of `rows` has said "ready". */
  ready(rows: LagRow[]): void {
    const left = new Set(rows.map((r) => r.id));
    while (left.size > 0) {
      const { row, ns } = this.next(() => rows.filter((r) => left.has(r.id)));
      if (!left.delete(row) || ns !== 0) throw new Error(`an unexpected ack of row ${row}`);
    }
  }
}

// ---------------------------------------------------------------- measuring

/** Waits until `CLOCK_MONOTONIC` reads `ns`: on a timer, then to the µs in `clock_nanosleep`. */
async function until(ns: number): Promise<void> {
  const ms = (ns - monotonicNs()) / 1e6 - TIMER_SLACK_MS;
  if (ms > 0) await sleep(ms);
  sleepUntilNs(ns);
}

/**
 * `samples` lags of every row after `GAPS[g]` ms idle. Rows go in groups
 * whose sends fit SPACING_MS apart in the gap, staggered; each row's next
 * message is due a gap after its ack. Returns how late each send was, in ms.
 */
async function lagPhase(rows: LagRow[], g: number, samples: number, acks: Acks) {
  const gapNs = GAPS[g] * 1e6;
  const size = Math.max(1, Math.min(rows.length, Math.floor(GAPS[g] / SPACING_MS)));
  const late: number[] = [];
  for (let first = 0; first < rows.length; first += size) {
    const group = rows.slice(first, first + size);
    const start = monotonicNs();
    const due = group.map((_, j) => start + j * gapNs / group.length);
    const left = group.map(() => samples + 1); // the first is not counted: its gap is longer
    for (;;) {
      let j = -1;
      for (let k = 0; k < group.length; k++) {
        if (left[k] > 0 && (j < 0 || due[k] < due[j])) j = k;
      }
      if (j < 0) break;
      await until(due[j]);
      const r = group[j];
      const t0 = monotonicNs();
      r.channel!.send();
      const t1 = acks.of(r);
      if (left[j]-- <= samples) {
        r.lags[g].push((t1 - t0) / 1000);
        late.push((t0 - due[j]) / 1e6);
      }
      due[j] = monotonicNs() + gapNs;
      await turn();
    }
  }
  return late;
}

/** CPU time of each thread of process `pid`, in ns, by thread id. */
function threadTimes(pid: number): Map<number, number> {
  const times = new Map<number, number>();
  for (const tid of procPids(`/proc/${pid}/task`)) {
    try {
      // The first field: time on a CPU, in ns.
      times.set(tid, Number(procText(`/proc/${pid}/task/${tid}/schedstat`).split(" ")[0]));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return times;
}

/** CPU % of each row's receiver over WINDOWS windows after SETTLE_MS, into `cpu[k]`. */
async function cpuWindows(rows: LagRow[], k: 0 | 1): Promise<void> {
  const read = () =>
    rows.map((r) => {
      try {
        return { at: monotonicNs(), times: threadTimes(r.receiver!.pid) };
      } catch (e) {
        throw new Error(`the receiver of ${r.name} has ended: see its errors above`, { cause: e });
      }
    });
  await sleep(SETTLE_MS);
  let before = read();
  for (let w = 0; w < WINDOWS; w++) {
    await sleep(WINDOW_MS);
    const after = read();
    rows.forEach((r, i) => {
      let ns = 0;
      // A thread that ended during the window is left out; one that started counts from 0.
      for (const [tid, t] of after[i].times) ns += t - (before[i].times.get(tid) ?? 0);
      r.cpu[k].push(ns / (after[i].at - before[i].at) * 100);
    });
    before = after;
  }
}

/** What a run shares: its directory, the control page, the ack pipe. */
interface Run {
  dir: string;
  page: PosixSharedMemory;
  words: Int32Array;
  ackPipe: Pipe;
  acks: Acks;
}

/** Opens every row's channel, starts every receiver, measures; returns how late the sends were by gap. */
async function measureRun(rows: LagRow[], run: Run, bin: string, py: Python) {
  const { dir, page, words, ackPipe, acks } = run;
  Atomics.store(words, COMMAND, SAMPLE);
  for (const r of rows) r.channel = r.mechanism.open({ row: r.id, form: r.form, dir, page, words });
  const shared = { page, acks: ackPipe.writer, bin, py };
  for (const r of rows) r.receiver = startReceiver(r, shared);
  for (const r of rows) r.channel!.connect?.(r.receiver!);
  acks.ready(rows);

  // Before any message: V8 collects a busy process's garbage in the seconds after it goes
  // idle, which would land in these windows.
  await cpuWindows(rows, 0);
  const late = [];
  for (let g = 0; g < GAPS.length; g++) late.push(await lagPhase(rows, g, SAMPLES[g], acks));
  // The last message: every receiver that can make its many waits.
  const many = rows.filter((r) => r.form !== "sync" && r.form !== "raw" && r.form !== "parked");
  Atomics.store(words, COMMAND, MANY);
  for (const r of many) r.channel!.send();
  acks.ready(many);
  await cpuWindows(many, 1);
  return late;
}

/** Kills every receiver and removes what the run made; returns the first failure. */
async function endRun(rows: LagRow[], run: Run): Promise<unknown> {
  for (const r of rows) {
    try {
      r.receiver?.kill("SIGKILL");
    } catch {
      // It has ended already.
    }
  }
  for (const r of rows) await r.receiver?.status.catch(() => {});
  let error: unknown;
  const steps = [
    ...rows.map((r) => () => r.channel?.close()),
    () => closeAll(run.page, run.ackPipe.reader, run.ackPipe.writer),
    () => Deno.removeSync(run.dir, { recursive: true }),
  ];
  for (const step of steps) {
    try {
      step();
    } catch (e) {
      error ??= e;
    }
  }
  return error;
}

/** Measures every row in one run; returns how late the sends were by gap (ms). */
async function measureAll(rows: LagRow[], bin: string, py: Python): Promise<number[][]> {
  // The page and the pipe go with this process; the directory is removed below.
  const page = PosixSharedMemory.anonymous(PAGE_SIZE);
  const ackPipe = pipe();
  const dir = await Deno.makeTempDir({ prefix: tempPrefix("lag-") });
  const run = {
    dir,
    page,
    words: new Int32Array(page.bytes.buffer, 0, PAGE_SIZE / 4),
    ackPipe,
    acks: new Acks(ackPipe.reader),
  };
  let late: number[][];
  try {
    late = await measureRun(rows, run, bin, py);
  } catch (e) {
    await endRun(rows, run); // the first failure says more than any of the cleanup
    throw e;
  }
  const error = await endRun(rows, run);
  if (error !== undefined) throw error;
  return late;
}

// ---------------------------------------------------------------- report

const ONE_WAIT = "CPU % with 1 wait";
const MANY_WAITS = `CPU % with ${WAITS} waits`;

/** The wide table: per row, each gap's median (×C) and p99, and the CPU of both windows. */
function lagTable(rows: LagRow[]): string[] {
  const cOf = (r: LagRow) => rows.find((c) => c.mechanism === r.mechanism && c.form === "c")!;
  const heads = GAPS.flatMap((gap) => [`${gap} ms idle: median µs (×C)`, "p99"]);
  const out = [
    `| receiver | ${heads.join(" | ")} | ${ONE_WAIT}: median | ${MANY_WAITS}: median |`,
    `|---|${heads.map(() => "---:|").join("")}---:|---:|`,
  ];
  for (const r of rows) {
    const lags = r.lags.flatMap((lags, g) => {
      const m = median(lags);
      const vsC = r.form === "c" ? "" : ` (${fixed(m / median(cOf(r).lags[g]), 1)}×)`;
      return [`${fixed(m, 0)}${vsC}`, fixed(p99(lags), 0)];
    });
    const cpu = r.cpu.map((c) => c.length === 0 ? "—" : fixed(median(c), 2));
    const label = r.form === "c" ? `**${r.mechanism.title}**: ${r.label}` : r.label;
    out.push(`| ${label} | ${lags.join(" | ")} | ${cpu.join(" | ")} |`);
  }
  return out;
}

/**
 * The JSON's tables: one per gap (µs: every sample, the p99, the median's
 * ratio to its mechanism's C), one per CPU window kind (% per window; C's is
 * about 0, so no ratio).
 */
function records(rows: LagRow[], samples: string[], cpuAbout: string[]): RecordedTable[] {
  const any = placements().at(-1)!; // unpinned
  const cRow = (r: LagRow) => rows.find((c) => c.mechanism === r.mechanism && c.form === "c")!;
  const figure = (
    about: string,
    unit: string,
    digits: number,
    of: (r: LagRow) => number[],
    lags: boolean,
  ): RecordedTable => {
    const shown = rows.filter((r) => of(r).length > 0);
    return {
      about,
      notes: [],
      unit,
      digits,
      columns: lags ? ["p99", "×C"] : [],
      placements: [any],
      baselines: lags ? [...new Set(shown.map((r) => cRow(r).name))] : [],
      rows: shown.map((r) => {
        const cell = recordedCell(of(r));
        if (lags) {
          cell.ratios[cRow(r).name] = cell.median / median(of(cRow(r)));
          cell.p99 = p99(of(r));
        }
        return { name: r.name, cells: { [any.name]: cell } };
      }),
    };
  };
  return [
    ...GAPS.map((gap, g) =>
      figure(
        `**Wake lag after ${gap} ms idle**: ${samples[g]}`,
        "µs",
        0,
        (r) => r.lags[g],
        true,
      )
    ),
    figure(`**${ONE_WAIT}**: ${cpuAbout[0]}`, "% of one CPU", 2, (r) => r.cpu[0], false),
    figure(`**${MANY_WAITS}**: ${cpuAbout[1]}`, "% of one CPU", 2, (r) => r.cpu[1], false),
  ];
}

/** Which async rows meet the goals, as a note under the table. */
function goals(rows: LagRow[]): string {
  const lib = rows.filter((r) => r.form === "async");
  const check = (what: string, ok: (r: LagRow) => boolean, shown: (r: LagRow) => string) => {
    const missed = lib.filter((r) => !ok(r));
    const names = missed.map((r) => `${r.mechanism.title} ${shown(r)}`).join(", ");
    return `${what} ${missed.length === 0 ? mark(true) : `${mark(false)} ${names}`}`;
  };
  const lag = (r: LagRow, gap: number, of: (xs: number[]) => number) =>
    of(r.lags[GAPS.indexOf(gap)]);
  const us = (x: number) => `${fixed(x, 0)} µs`;
  const idle = [20, 500];
  const deno = (r: LagRow) => rows.find((d) => d.mechanism === r.mechanism && d.form === "deno");
  const overDeno = (r: LagRow) => lag(r, 20, median) / lag(deno(r)!, 20, median);
  return "Goals of this library's async form (✗: the rows that miss them): " + [
    check(
      `median wake lag ≤ ${GOALS.median} µs after ${idle.join(" and ")} ms idle`,
      (r) => idle.every((gap) => lag(r, gap, median) <= GOALS.median),
      (r) => idle.map((gap) => us(lag(r, gap, median))).join(" / "),
    ),
    check(
      `p99 ≤ ${GOALS.p99 / 1000} ms after the same`,
      (r) => idle.every((gap) => lag(r, gap, p99) <= GOALS.p99),
      (r) => idle.map((gap) => us(lag(r, gap, p99))).join(" / "),
    ),
    check(
      `≤ ${GOALS.deno}× Deno's own median after 20 ms idle, where Deno has the mechanism`,
      (r) => deno(r) === undefined || overDeno(r) <= GOALS.deno,
      (r) => `${fixed(overDeno(r), 2)}×`,
    ),
    check(
      `CPU ≤ ${GOALS.cpu} % with 1 and with ${WAITS} waits`,
      (r) => r.cpu.every((c) => median(c) <= GOALS.cpu),
      (r) => r.cpu.map((c) => `${fixed(median(c), 2)} %`).join(" / "),
    ),
  ].join("; ") + ".";
}

/** "at most 0.3 ms late (p99 0.1 ms)" */
function lateness(late: number[]): string {
  return `${fixed(Math.max(0, ...late), 1)} ms late at most (p99 ${fixed(p99(late), 2)} ms)`;
}

/** Measures every row; returns the section of the report. */
export async function main(): Promise<string> {
  const py = await Python.find();
  const rows = rowsOf(py);
  return await withC(["lag.c"], async ([bin]) => {
    const started = performance.now();
    const late = await measureAll(rows, bin, py);
    const seconds = (performance.now() - started) / 1000;
    const samples = GAPS.map((_, g) =>
      `${SAMPLES[g]} samples per row; sends ${lateness(late[g])}.`
    );
    const window = `${WINDOWS} windows of ${WINDOW_MS} ms after ${SETTLE_MS} ms of settling, ` +
      "nothing arriving; the cell is their median";
    const cpuAbout = [
      `the receiver's CPU time (every thread) over wall time, with its one wait pending, before ` +
      `the first message; ${window}.`,
      `the same after the wake-lag messages, when it made ${WAITS} objects of its own and a wait ` +
      `on each; ${window}.`,
    ];
    const lines = recordAs(lagTable(rows), records(rows, samples, cpuAbout));
    const pythonNote = py.unusable === undefined
      ? "Python (standard library only): no rows for System V queues and semaphores, POSIX " +
        "queues and semaphores or futex words, which it does not have (`multiprocessing` " +
        "semaphores cannot wait on a `sem_t` another program made); 100 waits are one " +
        "`select.poll` over 100 descriptors, or 100 threads in `sigwaitinfo` (it has no signalfd)."
      : `Python: no rows: ${py.unusable}.`;
    return section("Wake lag and idle CPU", seconds, [
      "**Wake lag**: a receiver in another process waits for one message; this process reads " +
      "`CLOCK_MONOTONIC` just before it sends, the receiver when its call or await returns. " +
      `The message comes ${GAPS.join(", ")} ms after the receiver's previous one; median ` +
      `(×: over C's) and p99 in µs of ${SAMPLES.join(", ")} samples per row at these gaps ` +
      "(p99: the sample that 99 % do not exceed; of 100, the second largest; of 20 or fewer, " +
      "the largest). Every receiver runs at once in a process of its own, " +
      "unpinned, one message in flight at a time, the rows' sends staggered within each gap. " +
      `Sends were ${GAPS.map((gap, g) => `${lateness(late[g])} at ${gap} ms`).join(", ")}. ` +
      `**CPU**: each receiver's CPU time, every thread (\`/proc/<pid>/task/*/schedstat\`), ` +
      `over ${window}, as % of one CPU: with its one wait pending, before the first message ` +
      "(V8 collects a busy process's garbage in the seconds after it goes idle), and after it made " +
      `${WAITS} objects of its own (pipes, FIFOs, queues, words, semaphores, sockets, signal ` +
      "readers) and a wait on each. All rows' windows at once.",
      lines,
      `${WAITS} waits: this library's async form, ${WAITS} pending calls (System V: \`receive\` ` +
      `of types 1–${WAITS} on one queue, \`op\` on members 1–${WAITS} of one set, as 100 ` +
      "distinct waits); C, one `poll` over 100 descriptors where the mechanism has them " +
      "(pipes, FIFOs, POSIX queues, sockets, signalfds), else 100 threads each blocked in its " +
      "call (`msgrcv`, `semop`, `FUTEX_WAIT`, `sem_wait`); Deno, 100 pending reads " +
      "(`FsFile.read` on a pipe or FIFO holds one of Deno's blocking-pool threads) or 100 signal " +
      "listeners. The sync form blocks one thread in one call: it has no 100-waits figure.",
      "Deno: no rows for queues, semaphores and futex words, which it does not have, nor for " +
      "Unix datagram sockets (`Deno.listenDatagram` is unstable: `--unstable-net`). A Deno pipe " +
      'is this library\'s, opened by `Deno.open("/dev/fd/N")` (Deno cannot make one).',
      pythonNote,
      goals(rows),
    ], []);
  });
}

if (import.meta.main) await standalone(main);
