/**
 * Compiling and running a C probe: what the constants generator and the
 * layout test share. Development-time only (needs `cc` and `--allow-run`).
 *
 * @module
 */

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

/** Whether a C compiler answers as `cc`. */
export async function hasCc(): Promise<boolean> {
  try {
    const out = await new Deno.Command("cc", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Compiles `source` with `cc` in a temporary directory, runs it, returns its stdout. */
export async function runCProbe(source: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "c_probe_" });
  try {
    await Deno.writeTextFile(`${dir}/probe.c`, source);
    await run("cc", ["-std=gnu11", "-o", `${dir}/probe`, `${dir}/probe.c`]);
    return await run(`${dir}/probe`, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
