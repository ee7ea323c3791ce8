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
import { type ChildProcess, pipe, spawn } from "../../mod.ts";
import {
  expectedChecksum,
  makeBlocking,
  rawReadFull,
  rawWriteAll,
  readFull,
  readFullSync,
  readText,
  stampChunk,
} from "./common.ts";
import {
  cChildCpu,
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
  quick,
  ROUNDS,
  row,
  runC,
  section,
  standalone,
  table,
  WARMUP,
  withC,
} from "./harness.ts";
import { pyPingPong, Python, runPython } from "./python/python.ts";

const TOTAL = quick(64, 4) * 1024 * 1024;
const CHUNK = 64 * 1024;

const here = (name: string) => new URL(name, import.meta.url);
const PIPE_CHILD = here("pipe_child.ts");
const COMMAND_CHILD = here("command_child.ts").pathname;
const CHECKSUM = expectedChecksum(TOTAL);

// ---------------------------------------------------------------- C baseline

function cTransfer(bin: string): Measure {
  return async (where) => {
    const report = await runC(bin, ["transfer", `${TOTAL}`, `${CHUNK}`, ...cChildCpu(where)]);
    const [ns, ...rest] = report.split(" ");
    checkTransfer(rest.join(" "));
    return mibPerSecond(Number(ns) / 1e6);
  };
}

// ------------------------------------------------------------------- Python

function pyTransfer(): Measure {
  return async (where) => {
    const report = await runPython("pipe.py", [
      "transfer",
      `${TOTAL}`,
      `${CHUNK}`,
      ...cChildCpu(where),
    ]);
    const [ns, ...rest] = report.split(" ");
    checkTransfer(rest.join(" "));
    return mibPerSecond(Number(ns) / 1e6);
  };
}

// ------------------------------------------------- this library, and the floor

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

/** One 64 B ping-pong run in `mode` against pipe_child.ts: µs per round trip. */
export function ffiPingPong(mode: Mode): Measure {
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
          if (!readFullSync(up.reader, buf)) throw new Error("child closed its pipe early");
        } else if (mode === "async") {
          await down.writer.write(buf);
          if (!(await readFull(up.reader, buf))) throw new Error("child closed its pipe early");
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
        if (!readFullSync(result.reader, ready)) throw new Error("child closed its pipe early");
      } else {
        if (!(await readFull(result.reader, ready))) throw new Error("child closed its pipe early");
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

// ------------------------------------------------------------------ checks

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

// --------------------------------------------------------------------- main

const C_ROW = "C (fork; blocking read/write)";
const FLOOR_ROW = "raw libc via Deno.dlopen (floor)";
const SYNC_ROW = "@libc/ipc sync: writeSync/readSync";
const ASYNC_ROW = "@libc/ipc async: await write/read";
const COMMAND_ROW = "Deno.Command stdin/stdout";

/** Measures every row; returns the section of the report. */
export async function main(): Promise<string> {
  const where = placements();
  const py = await Python.find();
  const pyPing = py.row("os.read/os.write", pyPingPong("pipe.py"));
  const pyBulk = py.row("os.read/os.write", pyTransfer());
  return await withC(["pipe.c"], async ([bin]) => {
    // The same rows for both workloads: C, the floor, the library's two forms, Deno.Command.
    const rows = (c: Measure, ffi: (mode: Mode) => Measure, command: Measure) => [
      row(C_ROW, c),
      row(FLOOR_ROW, ffi("raw")),
      row(SYNC_ROW, ffi("sync")),
      row(ASYNC_ROW, ffi("async")),
      row(COMMAND_ROW, command),
    ];
    const pingpong = [...rows(cPingPong(bin), ffiPingPong, commandPingPong()), ...pyPing.rows];
    const transfer = [...rows(cTransfer(bin), ffiTransfer, commandTransfer()), ...pyBulk.rows];
    const seconds = await measure(pingpong, where) + await measure(transfer, where);
    return section("Pipes", seconds, [
      pingPongIntro("two pipes"),
      pingPongTable(pingpong, where, C_ROW, goalsOf({ sync: SYNC_ROW, async: ASYNC_ROW })),
      ...pyPing.notes,
      `**Throughput**: ${TOTAL / 1024 / 1024} MiB parent → child in ${CHUNK / 1024} KiB writes; ` +
      "the child counts and checksums what it reads.",
      table(transfer, where, "MiB/s", 0, ["vs C", "vs Command", "goal"], (r, m, at) => {
        const c = m / at(C_ROW);
        const d = m / at(COMMAND_ROW);
        const goal = r.name === SYNC_ROW || r.name === ASYNC_ROW
          ? `≥ 0.9× C ${mark(c >= 0.9)}, ≥ 2× Command ${mark(d >= 2)}`
          : "";
        return [`${fixed(c, 2)}×`, `${fixed(d, 2)}×`, goal];
      }),
      ...pyBulk.notes,
    ], [...pingpong, ...transfer]);
  });
}

if (import.meta.main) await standalone(main);
