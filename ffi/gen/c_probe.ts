/**
 * Compiling and running a C probe, for this machine or another Linux CPU:
 * what the generators and the layout test share. Development-time only (needs
 * a C compiler and `--allow-run`).
 *
 * A probe for another CPU (`target("aarch64")` on x86_64) is built with the
 * GNU cross compiler (`aarch64-linux-gnu-gcc`, Debian `gcc-aarch64-linux-gnu`),
 * linked `-static` so that it needs no target libc at run time, and run under
 * qemu user emulation (`qemu-aarch64`, Debian `qemu-user`).
 *
 * @module
 */

/** Where a probe is compiled for and run. */
export interface Target {
  /** The CPU, as in `Deno.build.arch`. */
  readonly arch: string;
  /** The C compiler. */
  readonly cc: string;
  /** Extra compiler arguments. */
  readonly ccArgs: readonly string[];
  /** The emulator that runs the probe, if it cannot run here directly. */
  readonly runner?: string;
}

/**
 * The target of Linux on `arch` (default: this process's CPU). `cc` serves it
 * when it compiles for that CPU; it does not when this process itself runs
 * under qemu (an aarch64 Deno on an x86_64 machine), and then the cross
 * compiler does.
 */
export function target(arch: string = Deno.build.arch): Target {
  if (arch === Deno.build.arch && ccCompilesFor(arch)) return { arch, cc: "cc", ccArgs: [] };
  return { arch, cc: `${arch}-linux-gnu-gcc`, ccArgs: ["-static"], runner: `qemu-${arch}` };
}

/** Whether `cc` compiles for `arch`; true without a `cc` (a probe then reports it missing). */
function ccCompilesFor(arch: string): boolean {
  ccMachine ??= dumpMachine();
  return ccMachine === "" || ccMachine.startsWith(`${arch}-`);
}

/** `cc -dumpmachine` (`aarch64-linux-gnu`), or "" without a working `cc`; asked once. */
let ccMachine: string | undefined;

function dumpMachine(): string {
  try {
    const out = new Deno.Command("cc", { args: ["-dumpmachine"], stderr: "null" }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout) : "";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw e;
  }
}

/** Runs `cmd`; returns its stdout, or throws with its stderr when it fails. */
export async function run(cmd: string, args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const text = new TextDecoder();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${text.decode(out.stderr)}`);
  }
  return text.decode(out.stdout);
}

/** Whether `cmd --version` runs. */
export async function hasTool(cmd: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * What a probe for `t` needs that this machine lacks (none: it can probe `t`):
 * the compiler, the emulator, or the target's C library headers. A cross
 * compiler installed without them (Debian's `gcc-aarch64-linux-gnu` only
 * recommends `libc6-dev-arm64-cross`) falls back on the host's /usr/include
 * and fails on its first `bits/` header.
 */
export async function missingTools(t: Target = target()): Promise<string[]> {
  const tools = t.runner === undefined ? [t.cc] : [t.cc, t.runner];
  const present = await Promise.all(tools.map(hasTool));
  const missing = tools.filter((_, i) => !present[i]);
  if (present[0] && !await hasHeaders(t)) {
    missing.push(`the ${t.arch} C library headers (${t.cc} cannot compile <sys/msg.h>)`);
  }
  return missing;
}

/** Whether `t`'s compiler finds the C library headers the probes include. */
async function hasHeaders(t: Target): Promise<boolean> {
  const child = new Deno.Command(t.cc, {
    args: ["-std=gnu11", "-E", "-o", "/dev/null", "-"],
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode("#include <signal.h>\n#include <sys/msg.h>\n"));
  await w.close();
  return (await child.status).success;
}

/** Writes `source` as probe.c in a temporary directory, calls `use` with the directory, removes it. */
async function withSource<T>(source: string, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "c_probe_" });
  try {
    await Deno.writeTextFile(`${dir}/probe.c`, source);
    return await use(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Compiles `source` for `t`, runs it, returns its stdout. */
export function runCProbe(source: string, t: Target = target()): Promise<string> {
  return withSource(source, async (dir) => {
    await run(t.cc, ["-std=gnu11", ...t.ccArgs, "-o", `${dir}/probe`, `${dir}/probe.c`]);
    return t.runner === undefined
      ? await run(`${dir}/probe`, [])
      : await run(t.runner, [`${dir}/probe`]);
  });
}

/** The lines of `source` (from 1) where compiling it for `t` finds errors; none when it compiles. */
export function errorLines(source: string, t: Target = target()): Promise<Set<number>> {
  return withSource(source, async (dir) => {
    const out = await new Deno.Command(t.cc, {
      args: ["-std=gnu11", "-fsyntax-only", "-fmax-errors=0", "probe.c"],
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    const lines = new Set([...stderr.matchAll(/^probe\.c:(\d+):\d+: error/gm)].map((m) => +m[1]));
    if (!out.success && lines.size === 0) throw new Error(`${t.cc} failed:\n${stderr}`);
    return lines;
  });
}

/** Compiles `source` for `t` with debug information; returns what `read` makes of the object file. */
export function withObject<T>(
  source: string,
  t: Target,
  read: (objectFile: string) => Promise<T>,
): Promise<T> {
  return withSource(source, async (dir) => {
    await run(t.cc, ["-std=gnu11", "-g", "-c", "-o", `${dir}/probe.o`, `${dir}/probe.c`]);
    return await read(`${dir}/probe.o`);
  });
}

/** Command-line `--target <arch>` (or `--target=<arch>`), and the other arguments. */
export function targetArg(args: readonly string[], fallback?: string): [Target, string[]] {
  const rest: string[] = [];
  let arch = fallback;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--target") arch = args[++i] ?? "";
    else if (a.startsWith("--target=")) arch = a.slice("--target=".length);
    else rest.push(a);
  }
  if (arch === "") throw new Error("--target needs a CPU name, such as aarch64");
  return [target(arch), rest];
}
