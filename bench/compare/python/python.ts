/**
 * The Python rows of bench/compare: beside each C baseline, what a plain
 * Python 3 program does with the same kernel objects. The programs of this
 * folder work as the C ones do: they fork their own child (placed on the
 * child's CPU when there is one), time the rounds themselves and print the
 * ns of each (or the elapsed ns of a transfer), so Python's start-up stays
 * out of the figures.
 *
 * `python3` is looked up on PATH once. Where it is missing, or lacks the
 * third-party module a row needs (`sysv_ipc`, `posix_ipc`), the row is left
 * out and a note under its table says why: the tables need a sample of every
 * row at every placement.
 *
 * @module
 */
import {
  cChildCpu,
  type Measure,
  printedLaps,
  printedPingPong,
  type Row,
  row,
  runC,
} from "../harness.ts";

const PYTHON = "python3";

/** The third-party modules a Python row may need. */
export type PythonModule = "sysv_ipc" | "posix_ipc";

/** How to get each module. */
const INSTALL: Record<PythonModule, string> = {
  sysv_ipc: "`pip install sysv_ipc`; Debian: `python3-sysv-ipc`",
  posix_ipc: "`pip install posix_ipc`",
};

/** The oldest Python the programs run on (`socket.create_server`, `time.monotonic_ns`). */
const OLDEST: [number, number] = [3, 8];

/** Prints its path, `MAJOR MINOR`, then each module of its arguments that imports, a line each. */
const PROBE = `import importlib, sys
print(sys.executable)
print(*sys.version_info[:2])
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        print(name)
    except ImportError:
        pass
`;

/** A Python row where it can run here, and the notes for under its table. */
export interface PythonRow {
  /** The row, or none. */
  rows: Row[];
  /** Why there is no row, or what the row does when its name cannot say it. */
  notes: string[];
}

/** The `python3` on PATH, if any, and what it can import. */
export class Python {
  static #found?: Promise<Python>;

  /** "Python 3.11", or "Python" where no `python3` runs. */
  readonly version: string;
  /** Its path, for a long-running program started with `spawnProgram` (no PATH search). */
  readonly executable: string;
  /** Why no row can run here, if none can. */
  readonly #unusable: string | undefined;
  readonly #modules: ReadonlySet<string>;

  private constructor(
    version: number[] | undefined,
    modules: Iterable<string>,
    executable = PYTHON,
  ) {
    this.version = version ? `Python ${version.join(".")}` : "Python";
    this.executable = executable;
    const [major, minor] = OLDEST;
    this.#unusable = version === undefined
      ? `\`${PYTHON}\` was not found`
      : version[0] !== major || version[1] < minor
      ? `these programs need Python ${major}.${minor} or later`
      : undefined;
    this.#modules = new Set(modules);
  }

  /** Why no Python program can run here, if none can. */
  get unusable(): string | undefined {
    return this.#unusable;
  }

  /** Asks `python3` once per process. */
  static find(): Promise<Python> {
    return Python.#found ??= Python.#probe();
  }

  static async #probe(): Promise<Python> {
    try {
      const out = await new Deno.Command(PYTHON, {
        args: ["-c", PROBE, ...Object.keys(INSTALL)],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (!out.success) return new Python(undefined, []);
      const [executable, version, ...modules] = new TextDecoder().decode(out.stdout).trim()
        .split("\n");
      return new Python(version.split(" ").map(Number), modules, executable);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return new Python(undefined, []);
      throw e;
    }
  }

  /**
   * The row `Python 3.x (fork; how)` measured by `measure`, where `python3`
   * runs and imports `needs`; otherwise no row and a note that says why.
   * `about` is a note kept with the row.
   */
  row(
    how: string,
    measure: Measure,
    options: { needs?: PythonModule; about?: string } = {},
  ): PythonRow {
    const { needs, about } = options;
    const missing = needs !== undefined && !this.#modules.has(needs)
      ? `the \`${needs}\` module is not installed (${INSTALL[needs]})`
      : undefined;
    const why = this.#unusable ?? missing;
    if (why !== undefined) {
      return { rows: [], notes: [`${this.version}: no row for ${how}: ${why}.`] };
    }
    return { rows: [row(`${this.version} (fork; ${how})`, measure)], notes: about ? [about] : [] };
  }
}

/** The arguments of `python3` that run SCRIPT (a program of this folder) with ARGS: `-B`, so no `__pycache__` is left in the source tree. */
export function scriptArgs(script: string, args: string[]): string[] {
  return ["-B", new URL(script, import.meta.url).pathname, ...args];
}

/**
 * Runs `python3 SCRIPT ARGS...` (a program of this folder) to its end; returns
 * what it printed. It starts the interpreter the probe found, not `python3` on
 * PATH: a version manager's shim there (pyenv's is a shell script) would add
 * ~0.2 s to every start.
 */
export async function runPython(script: string, args: string[]): Promise<string> {
  return runC((await Python.find()).executable, scriptArgs(script, args));
}

/**
 * A Python row of `rounds` timed rounds: `python3 SCRIPT ARGS... [CHILD_CPU]`
 * prints the ns of each; the measure is µs per round.
 */
export function pyRounds(script: string, args: string[], rounds: number): Measure {
  return async (where, laps) => {
    const out = await runPython(script, [...args, ...cChildCpu(where)]);
    return printedLaps(out, rounds, laps);
  };
}

/** The Python row of a ping-pong, as harness.ts's C row: `SCRIPT COMMAND ROUNDS WARMUP MSG [CHILD_CPU]`. */
export function pyPingPong(script: string, command = "pingpong"): Measure {
  return printedPingPong((args) => runPython(script, args), command);
}
