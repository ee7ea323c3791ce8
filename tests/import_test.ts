/**
 * Importing the module needs no permission: the C library is opened at the
 * first call, which is where a program without `--allow-ffi` is refused, and
 * each table of its functions at the first call of one of them.
 */
import assert from "node:assert/strict";
import { commandOutput, fixtureUrl } from "./_kernel.ts";

const fixture = fixtureUrl("import_without_ffi.ts");

Deno.test("the fixture imports every entry point of deno.json", async () => {
  const { exports } = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const imported = [
    ...(await Deno.readTextFile(fixture)).matchAll(/^import .*"\.\.\/\.\.\/(.+)";$/gm),
  ]
    .map((m) => `./${m[1]}`);
  assert.deepEqual(imported.toSorted(), (Object.values(exports) as string[]).toSorted());
});

Deno.test("every entry point imports without --allow-ffi; the first call asks for it", async () => {
  const { code, stdout: out, stderr: err } = await commandOutput(Deno.execPath(), {
    args: ["run", "--no-prompt", fixture.pathname],
    env: { NO_COLOR: "1" },
  });
  assert.equal(code, 0, `child failed:\n${out}${err}`);
  assert.match(
    out,
    /^imported\n(NotCapable: Requires ffi access to .*--allow-ffi.*\n){2}$/,
    err,
  );
});

/**
 * Runs tests/fixtures/libc_tables.ts with `mode`; returns its report. (qemu-user
 * itself was seen to deadlock a child here, every thread asleep on one of its
 * locks: {@link commandOutput} kills it and runs it once more.)
 */
async function tablesAfter(mode: string): Promise<Record<string, unknown>> {
  const out = await commandOutput(Deno.execPath(), {
    args: ["run", "--allow-ffi", fixtureUrl("libc_tables.ts").pathname, mode],
    env: { NO_COLOR: "1" },
  });
  assert.equal(out.code, 0, `child failed (${out.signal ?? "exit"}):\n${out.stdout}${out.stderr}`);
  return JSON.parse(out.stdout);
}

Deno.test("a call opens its own table of libc functions, not the others", async (t) => {
  // Deno.dlopen costs about 0.15 ms per function: a program pays for the tables it uses.
  const others = ["dirent", "futex", "mman", "mqueue", "msg", "sem", "shm", "signal", "spawn"];
  await t.step("a pipe round trip", async () => {
    const { read, tables } = await tablesAfter("pipe");
    assert.equal(read, 3);
    assert.ok((tables as string[]).includes("unistd"), `${tables}`);
    for (const other of [...others, "socket"]) {
      assert.ok(!(tables as string[]).includes(other), `${other} opened: ${tables}`);
    }
  });
  await t.step("a socketpair round trip", async () => {
    const { read, tables } = await tablesAfter("socket");
    assert.equal(read, 3);
    assert.ok((tables as string[]).includes("socket"), `${tables}`);
    for (const other of others) {
      assert.ok(!(tables as string[]).includes(other), `${other} opened: ${tables}`);
    }
  });
  await t.step(
    "a function taken before its table opened still works, and keeps errno",
    async () => {
      assert.deepEqual(await tablesAfter("kept"), {
        first: [-1, true],
        replaced: true,
        again: [-1, true],
        environ: true,
        tables: ["spawn", "unistd"],
      });
    },
  );
});

Deno.test("every family's entry point exports the error class its calls throw", async () => {
  const { exports } = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const root = await import("../mod.ts");
  for (const [name, path] of Object.entries(exports as Record<string, string>)) {
    if (name === "./struct") continue; // the struct layer makes no system call
    const mod = await import(new URL(`../${path}`, import.meta.url).href);
    assert.equal(mod.IpcError, root.IpcError, `${name} exports IpcError`);
  }
});
