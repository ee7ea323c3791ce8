/**
 * Importing the module needs no permission: the C library is opened at the
 * first call, which is where a program without `--allow-ffi` is refused, and
 * each table of its functions at the first call of one of them.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { commandOutput, fixtureUrl, TestScope, unless } from "./_kernel.ts";

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

Deno.test("every family's entry point exports the error class its calls throw, and released()", async () => {
  const { exports } = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const root = await import("../mod.ts");
  for (const [name, path] of Object.entries(exports as Record<string, string>)) {
    if (name === "./struct") continue; // the struct layer makes no system call
    const mod = await import(new URL(`../${path}`, import.meta.url).href);
    assert.equal(mod.IpcError, root.IpcError, `${name} exports IpcError`);
    assert.equal(mod.released, root.released, `${name} exports released`);
  }
});

Deno.test("only the whole ffi grant is taken, and a libc.so.6 in the working directory is never opened", async (t) => {
  // Under a partial grant, or at Deno's prompt, Deno.dlopen("libc.so.6") opened
  // ./libc.so.6: a file placed there was loaded (its constructor ran).
  await using s = new TestScope();
  const cwd = await s.tempDir();
  Deno.writeTextFileSync(`${cwd}/libc.so.6`, "not a library");
  const grantFixture = fixtureUrl("ffi_grant.ts").pathname;
  const refused =
    /^NotCapable: Requires ffi access to "libc\.so\.6" .* granted whole: .*--allow-ffi/;
  for (const flags of [["--allow-ffi=/tmp"], ["--allow-ffi", "--deny-ffi=/opt/x.so"], []]) {
    await t.step(`deno run ${flags.join(" ") || "--no-prompt"}: refused, saying why`, async () => {
      const { code, stdout, stderr } = await commandOutput(Deno.execPath(), {
        args: ["run", "--no-prompt", ...flags, grantFixture],
        cwd,
        env: { NO_COLOR: "1" },
      });
      assert.equal(code, 0, stderr);
      assert.match(stdout, refused);
    });
  }
  await t.step(
    unless(
      existsSync("/usr/bin/script") ? undefined : "no script(1) to give Deno a terminal",
      "at Deno's prompt: the whole grant is asked for, and libc comes from the system",
      async () => {
        const child = new Deno.Command("/usr/bin/script", {
          args: ["-qec", `${Deno.execPath()} run ${grantFixture}`, "/dev/null"],
          cwd,
          env: { NO_COLOR: "1" },
          stdin: "piped",
          stdout: "piped",
        }).spawn();
        const writer = child.stdin.getWriter();
        const answer = () => writer.write(new TextEncoder().encode("y\n")).catch(() => {});
        let seen = "";
        let answering: ReturnType<typeof setInterval> | undefined;
        const decoder = new TextDecoder();
        for await (const chunk of child.stdout) {
          seen += decoder.decode(chunk, { stream: true });
          if (answering === undefined && seen.includes("Allow?")) {
            assert.match(seen, /requests ffi access\./, "the whole grant, no path");
            // Deno drops what was typed before it reads: answered again until it is heard.
            answering = setInterval(answer, 100);
            answer();
          }
          if (seen.includes("Granted")) clearInterval(answering);
        }
        clearInterval(answering);
        await writer.close().catch(() => {});
        assert.equal((await child.status).code, 0, seen);
        assert.match(seen.replaceAll("\r", ""), /\nok\n?$/, seen);
      },
    ),
  );
});
