/**
 * Importing the module needs no permission: the C library is opened at the
 * first call, which is where a program without `--allow-ffi` is refused.
 */
import assert from "node:assert/strict";
import { fixtureUrl } from "./_kernel.ts";

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
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", fixture.pathname],
    env: { NO_COLOR: "1" },
  }).output();
  const out = new TextDecoder().decode(stdout);
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, `child failed:\n${out}${err}`);
  assert.match(out, /^imported\nNotCapable: Requires ffi access to .*--allow-ffi.*\n$/, err);
});
