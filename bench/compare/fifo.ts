/**
 * Cross-process FIFO (named pipe) comparison: pipe.ts's two workloads, a
 * 64 B ping-pong and a 32 MiB transfer, over two FIFOs made with `mkfifo` in
 * a temporary directory, which each process opens by path (the child first
 * its input, then its output; the parent in the same order). In C (pipe.c:
 * fork, blocking `open`/`read`/`write`), with raw libc calls through
 * `Deno.dlopen` (the floor), with this library's sync and async forms (ends
 * from `Fifo.open`), with Deno's built-in `Deno.open` (an `FsFile` on both
 * sides, no FFI: command_child.ts), and in Python 3 (python/pipe.py:
 * `os.mkfifo`, `os.open`). Every row is measured in the same run, at every
 * placement of harness.ts, and reported as ratios to C and to `FsFile`.
 *
 * The opens are not timed. Each FIFO is unlinked once both processes hold it
 * open; the directory goes at the end, and on Ctrl-C (harness.ts).
 *
 * Run: `deno task bench:compare:fifo` (Linux; needs a C compiler as `cc`), or
 * all drivers with `deno task bench:compare`. `--raw` also prints every sample.
 *
 * @module
 */
import { Fifo, spawn } from "../../mod.ts";
import { readAllText, readFull, Transfer, writeAll } from "./common.ts";
import {
  checkStatus,
  goalsOf,
  type Measure,
  measure,
  MSG,
  pingPongIntro,
  pingPongTable,
  placed,
  type Placement,
  placements,
  printedPingPong,
  printedTransfer,
  quick,
  RoundClock,
  runC,
  section,
  standalone,
  tempPrefix,
  TRANSFER_WARM,
  withC,
} from "./harness.ts";
import { COMMAND_CHILD, type Names, PIPE_CHILD, rowsOf, throughputTable } from "./pipe.ts";
import { Python, runPython } from "./python/python.ts";
import { type Ends, fdEnds, ffiPingPong, ffiTransfer } from "./stream_rows.ts";

/** Throughput: bytes parent → child per run, in 64 KiB writes (half pipe.ts's: a shorter run). */
const BULK = new Transfer(quick(32, 4) * 1024 * 1024, 64 * 1024, TRANSFER_WARM);

/** The directory of the run's FIFOs, made by {@link main}. */
let dir = "";
let serial = 0;

/** Two new paths in the run's directory: down (parent → child) and up. */
function fifoPaths(): [string, string] {
  const n = ++serial;
  return [`${dir}/down-${n}`, `${dir}/up-${n}`];
}

/** Two new FIFOs, down and up. */
function makeFifos(): [string, string] {
  const paths = fifoPaths();
  for (const path of paths) Fifo.create(path, { exclusive: true });
  return paths;
}

function unlinkFifos(paths: string[]): void {
  for (const path of paths) {
    try {
      Fifo.unlink(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

/** A C or Python program's run over FIFOs: "fifo-COMMAND DOWN UP ARGS..." (pipe.c, pipe.py). */
function overFifos(run: (args: string[]) => Promise<string>) {
  return ([command, ...rest]: string[]) => run([`fifo-${command}`, ...fifoPaths(), ...rest]);
}

// ------------------------------------------------- this library, and the floor

/** pipe.ts's rows over FIFOs: pipe_child.ts opens them by path, then the parent with `Fifo.open`. */
async function fifos(where: Placement, args: string[]): Promise<Ends> {
  const [down, up] = makeFifos();
  try {
    const child = placed(where, () => spawn(PIPE_CHILD, { args: [...args, down, up] }));
    // A child that ends before it opens both would leave an open waiting: its end cancels it.
    const gone = new AbortController();
    const cancel = () => gone.abort(new Error("pipe_child.ts ended before opening its FIFOs"));
    child.status.then(cancel, cancel);
    try {
      const writer = await Fifo.open(down, "write", { signal: gone.signal });
      try {
        return fdEnds(writer, await Fifo.open(up, "read", { signal: gone.signal }), child);
      } catch (e) {
        writer.close();
        throw e;
      }
    } catch (e) {
      try {
        child.kill("SIGKILL");
      } catch {
        // It has ended.
      }
      await child.status.catch(() => {});
      throw e;
    }
  } finally {
    unlinkFifos([down, up]); // both processes hold them open now, or the run failed
  }
}

// ------------------------------------------------------- Deno's own FsFile

/** Closes `file` if it is open. */
function close(file: Deno.FsFile | undefined): void {
  try {
    file?.close();
  } catch (e) {
    if (!(e instanceof Deno.errors.BadResource)) throw e;
  }
}

/**
 * `Deno.open` of a FIFO, which waits for the other side: rejects instead
 * should `child` end first, after ending the wait by opening the other side
 * for a moment (without waiting).
 */
async function openFsFile(
  path: string,
  write: boolean,
  child: Deno.ChildProcess,
): Promise<Deno.FsFile> {
  const opening = Deno.open(path, write ? { write: true } : { read: true });
  const file = await Promise.race([opening, child.status.then(() => undefined)]);
  if (file !== undefined) return file;
  Fifo.tryOpen(path, write ? "read" : "write").close();
  (await opening).close();
  throw new Error("command_child.ts ended before opening its FIFOs");
}

/**
 * Runs `use` with the parent's `FsFile`s of two new FIFOs, `writer` down and
 * `reader` up, whose other ends command_child.ts (`args`) opens; closes them
 * and waits for the child afterwards.
 */
async function withFsFiles<T>(
  where: Placement,
  args: string[],
  use: (writer: Deno.FsFile, reader: Deno.FsFile) => Promise<T>,
): Promise<T> {
  const paths = makeFifos();
  let child: Deno.ChildProcess | undefined;
  let writer: Deno.FsFile | undefined;
  let reader: Deno.FsFile | undefined;
  try {
    child = placed(where, () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", `--allow-read=${dir}`, `--allow-write=${dir}`, COMMAND_CHILD, ...args]
          .concat(paths),
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn());
    writer = await openFsFile(paths[0], true, child);
    reader = await openFsFile(paths[1], false, child);
    unlinkFifos(paths);
    return await use(writer, reader);
  } finally {
    close(writer);
    close(reader);
    unlinkFifos(paths);
    if (child !== undefined) await checkStatus(child.status, "command_child.ts");
  }
}

function fsFilePingPong(): Measure {
  return (where, laps) =>
    withFsFiles(where, ["echo", `${MSG}`], async (writer, reader) => {
      const buf = new Uint8Array(MSG);
      const clock = new RoundClock();
      for (let i = 0; i < clock.total; i++) {
        clock.tick(i);
        await writeAll(writer, buf);
        if (!(await readFull(reader, buf))) throw new Error("child closed its FIFO early");
      }
      clock.tick(clock.total);
      return clock.laps(laps);
    });
}

function fsFileTransfer(): Measure {
  return (where) =>
    withFsFiles(where, ["sink"], async (writer, reader) => {
      // The child says when it is ready, so its start-up time stays out of the figure.
      if (!(await readFull(reader, new Uint8Array(1)))) throw new Error("no ready from the child");
      const chunk = new Uint8Array(BULK.chunk);
      const t0 = await BULK.send(chunk, () => writeAll(writer, chunk));
      writer.close();
      const report = await readAllText(reader);
      const ms = performance.now() - t0;
      BULK.check(report);
      return BULK.rate(ms);
    });
}

// --------------------------------------------------------------------- main

const NAMES: Names = {
  c: "C (fork; blocking open/read/write)",
  raw: "raw libc via Deno.dlopen (floor)",
  sync: "@libc/ipc sync: Fifo.open + writeSync/readSync",
  async: "@libc/ipc async: Fifo.open + await write/read",
  deno: "Deno built-in: Deno.open (FsFile) write/read",
  denoShort: "FsFile",
};

/** Measures every row; returns the section of the report. */
export async function main(): Promise<string> {
  const where = placements();
  const py = await Python.find();
  const pyRun = overFifos((args) => runPython("pipe.py", args));
  const pyPing = py.row("os.open + os.read/os.write", printedPingPong(pyRun));
  const pyBulk = py.row("os.open + os.read/os.write", printedTransfer(BULK, pyRun));
  dir = await Deno.makeTempDir({ prefix: tempPrefix("fifo-") });
  try {
    return await withC(["pipe.c"], async ([bin]) => {
      const cRun = overFifos((args) => runC(bin, args));
      const pingpong = [
        ...rowsOf(NAMES, printedPingPong(cRun), (m) => ffiPingPong(m, fifos), fsFilePingPong()),
        ...pyPing.rows,
      ];
      const cTransfer = printedTransfer(BULK, cRun);
      const transfer = [
        ...rowsOf(NAMES, cTransfer, (m) => ffiTransfer(m, fifos, BULK), fsFileTransfer()),
        ...pyBulk.rows,
      ];
      const seconds = await measure(pingpong, where) + await measure(transfer, where);
      return section("FIFOs", seconds, [
        pingPongIntro("two FIFOs, opened by path (not timed)"),
        pingPongTable(pingpong, where, NAMES.c, goalsOf(NAMES)),
        ...pyPing.notes,
        `**Throughput**: ${Transfer.mib(BULK.total)} parent → child over a FIFO in ` +
        `${BULK.chunk / 1024} KiB writes, after ${Transfer.mib(BULK.warm)} unmeasured; the ` +
        "child counts and checksums what it reads and " +
        "answers over the other FIFO.",
        throughputTable(transfer, where, NAMES),
        ...pyBulk.notes,
      ], [...pingpong, ...transfer]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await standalone(main);
