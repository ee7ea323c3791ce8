/**
 * Cross-process signal comparison: a round trip (the parent signals the
 * child, the child signals back) with this library's signalfd reader and
 * `sendSignal`, against C (signal.c: fork, `sigqueue` + `sigwaitinfo`),
 * against the least any Deno program pays (`sigqueue` + a blocking
 * `sigtimedwait` through `Deno.dlopen`), against Deno's own
 * `Deno.addSignalListener` + `Deno.kill`, and, where `python3` runs, against
 * a Python 3 program (python/signals.py: fork, `os.kill` +
 * `signal.sigtimedwait`). Every row is measured in the same run, at every
 * placement of harness.ts, and reported as ratios to C and to the listener.
 *
 * A signalfd or `sigtimedwait` sees a signal only when every thread of the
 * process blocks it, which a Deno program gets only from its start: `main`
 * therefore measures in a copy of this module started with the answer's
 * signal blocked (`spawn(import.meta.url, { blockSignals })`), and returns
 * what it prints. The listener rows use other signals, which that process
 * does not block.
 *
 * Run: `deno task bench:compare:signal` (Linux; needs a C compiler as `cc`),
 * or all drivers with `deno task bench:compare`. `--raw` also prints every
 * sample.
 *
 * @module
 */
import { type ChildProcess, pipe, sendSignal, signalNumber, signals, spawn } from "../../mod.ts";
import {
  cChildCpu,
  checkStatus,
  cleanOnInterrupt,
  fixed,
  mark,
  type Measure,
  measure,
  type Mode,
  P99_NOTE,
  placed,
  placements,
  printedLaps,
  QUICK,
  quick,
  RAW,
  REPS,
  RoundClock,
  type Row,
  row,
  runC,
  section,
  standalone,
  table,
  WARMUP,
  withC,
} from "./harness.ts";
import { pyRounds, Python } from "./python/python.ts";
import { BACK, LISTEN_BACK, LISTEN_THERE, RawSignals, STOP, THERE } from "./signal_common.ts";

/**
 * Timed round trips per run (the p99 pools REPS runs: at least 10 000); the
 * harness's untimed ones come first (the first waits for the child to start).
 */
const ROUNDS = quick(Math.ceil(10_000 / REPS), 300);
/** The goals of this library's rows: at most this many times C's, at most this much of the listener's. */
const C_GOAL = 1.5;
const LISTENER_GOAL = 0.5;
/** The argument of the copy of this module that measures. */
const MEASURING = "--measuring";

const CHILD = new URL("signal_child.ts", import.meta.url);

// ---------------------------------------------------------------- C baseline

function cRoundTrip(bin: string): Measure {
  return async (where, laps) => {
    const out = await runC(bin, ["roundtrip", `${ROUNDS}`, `${WARMUP}`, ...cChildCpu(where)]);
    return printedLaps(out, ROUNDS, laps);
  };
}

// ------------------------------------------------- this library, and the floor

/** Ends a child that is still there (a failed run), and waits for it. */
async function end(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined) return;
  try {
    child.kill("SIGKILL");
  } catch {
    // It has ended already.
  }
  await child.status.catch(() => {});
}

/** One run of round trips in `mode` against signal_child.ts: µs per round trip. */
function denoRoundTrip(mode: Mode): Measure {
  return async (where, laps) => {
    const raw = mode === "raw" ? new RawSignals(BACK) : undefined;
    const reader = mode === "raw" ? undefined : signals([BACK]);
    const there = signalNumber(THERE);
    let child: ChildProcess | undefined;
    let done = false;
    try {
      const clock = new RoundClock(ROUNDS, WARMUP);
      const args = [`echo-${mode}`, `${clock.total}`, `${Deno.pid}`];
      child = placed(where, () => spawn(CHILD, { args, blockSignals: [THERE] }));
      // A child that fails would leave an async read waiting for ever: closing the reader ends it.
      const ended = () => done || reader?.close();
      child.status.then(ended, ended);
      for (let i = 0; i < clock.total; i++) {
        clock.tick(i);
        let value: number | null;
        if (raw !== undefined) {
          raw.send(child.pid, there, i);
          value = raw.wait();
        } else {
          sendSignal(child, THERE, { value: i });
          value = mode === "sync"
            ? reader!.readSync({ timeout: 10_000 }).value
            : (await reader!.read()).value;
        }
        if (value !== i) throw new Error(`round ${i}: the answer carried ${value}`);
      }
      clock.tick(clock.total);
      done = true;
      sendSignal(child, THERE, { value: STOP });
      await checkStatus(child.status, "signal_child.ts");
      return clock.laps(laps);
    } finally {
      done = true;
      reader?.close();
      await end(child);
    }
  };
}

// ------------------------------------------------- Deno.addSignalListener

/** Counts the signals a listener hears; `until(n)` resolves once it has heard n. */
class Heard {
  #count = 0;
  #want = 0;
  #wake?: { resolve(): void; reject(e: Error): void };
  readonly listener = (): void => {
    if (++this.#count >= this.#want && this.#wake !== undefined) {
      const wake = this.#wake;
      this.#wake = undefined;
      wake.resolve();
    }
  };

  until(n: number): Promise<void> {
    if (this.#count >= n) return Promise.resolve();
    this.#want = n;
    return new Promise((resolve, reject) => this.#wake = { resolve, reject });
  }

  /** Rejects the pending `until`. */
  fail(e: Error): void {
    this.#wake?.reject(e);
    this.#wake = undefined;
  }
}

/** One run of round trips with `Deno.addSignalListener` on both sides: µs per round trip. */
function listenerRoundTrip(): Measure {
  return async (where, laps) => {
    const heard = new Heard();
    Deno.addSignalListener(LISTEN_BACK, heard.listener);
    let child: ChildProcess | undefined;
    let done = false;
    try {
      const clock = new RoundClock(ROUNDS, WARMUP);
      child = placed(where, () =>
        spawn(CHILD, {
          args: ["listener", `${clock.total}`, `${Deno.pid}`],
          flags: ["--allow-ffi", "--allow-run"],
        }));
      const ended = () => done || heard.fail(new Error("signal_child.ts ended early"));
      child.status.then(ended, ended);
      await heard.until(1); // it listens now: a signal sent earlier would have killed it
      for (let i = 0; i < clock.total; i++) {
        clock.tick(i);
        Deno.kill(child.pid, LISTEN_THERE);
        await heard.until(i + 2);
      }
      clock.tick(clock.total);
      done = true;
      Deno.kill(child.pid, LISTEN_THERE); // ends it
      await checkStatus(child.status, "signal_child.ts");
      return clock.laps(laps);
    } finally {
      done = true;
      Deno.removeSignalListener(LISTEN_BACK, heard.listener);
      await end(child);
    }
  };
}

// --------------------------------------------------------------------- main

const C_ROW = "C (fork; sigqueue + sigwaitinfo)";
const FLOOR_ROW = "raw libc via Deno.dlopen (floor): sigqueue + sigtimedwait";
const SYNC_ROW = "@libc/ipc sync: sendSignal + readSync";
const ASYNC_ROW = "@libc/ipc async: sendSignal + await read";
const LISTENER_ROW = "Deno.addSignalListener + Deno.kill";

/** Measures every row here, where the answer's signal must be blocked in every thread. */
async function measureHere(): Promise<string> {
  const where = placements();
  const python = (await Python.find()).row(
    "os.kill + signal.sigtimedwait",
    pyRounds("signals.py", ["roundtrip", `${ROUNDS}`, `${WARMUP}`], ROUNDS),
    {
      about: `Python: ${THERE} there and ${BACK} back, blocked and taken as C does, but sent ` +
        "with `os.kill`, so without a value (Python has no `sigqueue`): each side checks the " +
        "sender's pid instead.",
    },
  );
  return await withC(["signal.c"], async ([bin]) => {
    const rows: Row[] = [
      row(C_ROW, cRoundTrip(bin)),
      row(FLOOR_ROW, denoRoundTrip("raw")),
      row(SYNC_ROW, denoRoundTrip("sync")),
      row(ASYNC_ROW, denoRoundTrip("async")),
      row(LISTENER_ROW, listenerRoundTrip()),
      ...python.rows,
    ];
    const seconds = await measure(rows, where);
    return section("Signals", seconds, [
      `**Round trip**: the parent signals the child, the child signals back; ${ROUNDS} round ` +
      `trips per run, after ${WARMUP} unmeasured ones. C, the floor and this library: ${THERE} ` +
      `there and ${BACK} back, each carrying the round's number (checked), both blocked and ` +
      `read by the receiver; the listener: ${LISTEN_THERE} there and ${LISTEN_BACK} back ` +
      `(\`Deno.addSignalListener\` takes no real-time signals and gives no value). ${P99_NOTE}`,
      table(rows, where, "µs / round trip", 1, ["vs C", "vs listener", "goal"], (r, m, at) => {
        const c = m / at(C_ROW);
        const l = m / at(LISTENER_ROW);
        const goal = r.name === SYNC_ROW || r.name === ASYNC_ROW
          ? `≤ ${C_GOAL}× C ${mark(c <= C_GOAL)}, ≤ ${LISTENER_GOAL}× listener ${
            mark(l <= LISTENER_GOAL)
          }`
          : "";
        return [`${fixed(c, 2)}×`, `${fixed(l, 2)}×`, goal];
      }),
      ...python.notes,
    ], rows);
  });
}

/**
 * Measures every row in a copy of this module started with the answer's
 * signal blocked in all its threads; returns the section of the report.
 */
export async function main(): Promise<string> {
  const out = pipe();
  let child: ChildProcess;
  try {
    child = spawn(import.meta.url, {
      args: [MEASURING, ...(RAW ? ["--raw"] : []), ...(QUICK ? ["--quick"] : [])],
      flags: ["--allow-ffi", "--allow-read", "--allow-write", "--allow-run"],
      blockSignals: [BACK],
      fds: { 1: out.writer },
    });
  } finally {
    out.writer.close();
  }
  try {
    const report = await new Response(out.reader.readable).text();
    await checkStatus(child.status, "signal.ts (measuring)");
    return report.trimEnd();
  } finally {
    out.reader.close();
    await end(child);
  }
}

if (import.meta.main) {
  if (Deno.args.includes(MEASURING)) {
    cleanOnInterrupt();
    console.log(await measureHere());
  } else await standalone(main);
}
