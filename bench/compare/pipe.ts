/**
 * Cross-process pipe comparison: this library against C, against the least any
 * Deno program pays (raw libc calls through `Deno.dlopen`) and against Deno's
 * own child-process pipes, in a ping-pong and a 64 MiB transfer; and a Python 3
 * program doing the same with `os.pipe` (python/pipe.py), where `python3` runs.
 * Every row is measured in the same run, at every placement of harness.ts, and
 * reported as a ratio to the C baseline (pipe.c).
 *
 * Run: `deno task bench:compare:pipe` (Linux; needs a C compiler as `cc`), or
 * all drivers with `deno task bench:compare`. `--raw` also prints every sample.
 *
 * @module
 */
import { type Pipe, pipe, spawn } from "../../mod.ts";
import { Transfer } from "./common.ts";
import {
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
  quick,
  RoundClock,
  type Row,
  row,
  runC,
  section,
  standalone,
  table,
  TRANSFER_WARM,
  withC,
} from "./harness.ts";
import { pyPingPong, Python, runPython } from "./python/python.ts";
import { type Ends, fdEnds, ffiPingPong, ffiTransfer } from "./stream_rows.ts";

/** Throughput: bytes parent → child per run, in 64 KiB writes. */
export const BULK: Transfer = new Transfer(quick(64, 4) * 1024 * 1024, 64 * 1024, TRANSFER_WARM);

const here = (name: string) => new URL(name, import.meta.url);
/** The Deno child of the FFI rows, and of the `Deno.Command` rows. */
export const PIPE_CHILD: URL = here("pipe_child.ts");
export const COMMAND_CHILD: string = here("command_child.ts").pathname;

// ------------------------------------------------- this library, and the floor

/** Two pipes: the child gets the read end of one as its fd 3, the write end of the other as fd 4. */
export function pipes(where: Placement, args: string[]): Ends {
  const down = pipe();
  let up: Pipe | undefined;
  try {
    up = pipe();
    const input = down.reader;
    const output = up.writer;
    const child = placed(where, () => spawn(PIPE_CHILD, { args, fds: { 3: input, 4: output } }));
    return fdEnds(down.writer, up.reader, child);
  } catch (e) {
    down.writer.close();
    up?.reader.close();
    throw e;
  } finally {
    // The child holds its own copies now; ours would keep end of file from ever coming.
    down.reader.close();
    up?.writer.close();
  }
}

/** The 64 B ping-pong over two pipes in `mode`: µs per round trip. */
export const pipePingPong = (mode: Mode): Measure => ffiPingPong(mode, pipes);

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
  return async (where, laps) => {
    const child = command(where, ["echo", `${MSG}`]);
    const writer = child.stdin.getWriter();
    const reader = child.stdout.getReader({ mode: "byob" });
    try {
      // A BYOB reader fills our buffer (it hands the memory back in a new view): no copies.
      let buf = new Uint8Array(MSG);
      const clock = new RoundClock();
      for (let i = 0; i < clock.total; i++) {
        clock.tick(i);
        await writer.write(buf);
        let got = 0;
        while (got < MSG) {
          const { value, done } = await reader.read(new Uint8Array(buf.buffer, got, MSG - got));
          if (done) throw new Error("child closed its stdout early");
          got += value.byteLength;
          buf = new Uint8Array(value.buffer);
        }
      }
      clock.tick(clock.total);
      return clock.laps(laps);
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
      const chunk = new Uint8Array(BULK.chunk);
      let text = "";
      while (!text.startsWith("R")) {
        const { value, done } = await lines.read();
        if (done) throw new Error("child closed its stdout early");
        text += value;
      }
      text = text.slice(1);
      const t0 = await BULK.send(chunk, () => writer.write(chunk));
      await writer.close();
      for (;;) {
        const { value, done } = await lines.read();
        if (done) break;
        text += value;
      }
      const ms = performance.now() - t0;
      BULK.check(text);
      return BULK.rate(ms);
    } finally {
      await writer.close().catch(() => {});
      await lines.cancel().catch(() => {});
      await checkStatus(child.status, "command_child.ts");
    }
  };
}

// --------------------------------------------------------------------- main

/** The rows' names of a pipe or FIFO table: C, the floor, the library's forms, Deno's own. */
export interface Names extends Record<"c" | Mode | "deno", string> {
  /** Deno's own row in a "vs" column. */
  denoShort: string;
}

const NAMES: Names = {
  c: "C (fork; blocking read/write)",
  raw: "raw libc via Deno.dlopen (floor)",
  sync: "@libc/ipc sync: writeSync/readSync",
  async: "@libc/ipc async: await write/read",
  deno: "Deno.Command stdin/stdout",
  denoShort: "Command",
};

/** The same rows for both workloads. */
export function rowsOf(
  names: Names,
  c: Measure,
  ffi: (mode: Mode) => Measure,
  deno: Measure,
): Row[] {
  return [
    row(names.c, c),
    ...(["raw", "sync", "async"] as const).map((mode) => row(names[mode], ffi(mode))),
    row(names.deno, deno),
  ];
}

/** The throughput table: MiB/s, the ratios to C and to Deno's own, the goals. */
export function throughputTable(rows: Row[], where: Placement[], names: Names): string[] {
  const columns = ["vs C", `vs ${names.denoShort}`, "goal"];
  return table(rows, where, "MiB/s", 0, columns, (r, m, at) => {
    const c = m / at(names.c);
    const d = m / at(names.deno);
    const goal = r.name === names.sync || r.name === names.async
      ? `≥ 0.9× C ${mark(c >= 0.9)}, ≥ 2× ${names.denoShort} ${mark(d >= 2)}`
      : "";
    return [`${fixed(c, 2)}×`, `${fixed(d, 2)}×`, goal];
  });
}

/** Measures every row; returns the section of the report. */
export async function main(): Promise<string> {
  const where = placements();
  const py = await Python.find();
  const pyPing = py.row("os.read/os.write", pyPingPong("pipe.py"));
  const pyBulk = py.row(
    "os.read/os.write",
    printedTransfer(BULK, (args) => runPython("pipe.py", args)),
  );
  return await withC(["pipe.c"], async ([bin]) => {
    const pingpong = [
      ...rowsOf(NAMES, cPingPong(bin), (mode) => ffiPingPong(mode, pipes), commandPingPong()),
      ...pyPing.rows,
    ];
    const cTransfer = printedTransfer(BULK, (args) => runC(bin, args));
    const transfer = [
      ...rowsOf(NAMES, cTransfer, (mode) => ffiTransfer(mode, pipes, BULK), commandTransfer()),
      ...pyBulk.rows,
    ];
    const seconds = await measure(pingpong, where) + await measure(transfer, where);
    return section("Pipes", seconds, [
      pingPongIntro("two pipes"),
      pingPongTable(pingpong, where, NAMES.c, goalsOf(NAMES)),
      ...pyPing.notes,
      `**Throughput**: ${Transfer.mib(BULK.total)} parent → child in ${BULK.chunk / 1024} KiB ` +
      `writes, after ${Transfer.mib(BULK.warm)} unmeasured; the child counts and checksums what ` +
      "it reads.",
      throughputTable(transfer, where, NAMES),
      ...pyBulk.notes,
    ], [...pingpong, ...transfer]);
  });
}

if (import.meta.main) await standalone(main);
