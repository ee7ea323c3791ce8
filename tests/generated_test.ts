/**
 * The committed generated tables are what their generators produce today,
 * so they cannot drift from the headers: the constants of every Linux CPU,
 * and the struct layouts of every CPU but x86_64 (the hand-written reference).
 * A CPU's check needs its C compiler (for another CPU, the cross compiler and
 * qemu; for layouts, `pahole` too) and is skipped with a message without them.
 */
import assert from "node:assert/strict";
import { hasTool, missingTools, target } from "../ffi/gen/c_probe.ts";
import { constantsFile, generate as generateConstants } from "../ffi/gen/constants.ts";
import { generate as generateLayouts, layoutsFile } from "../ffi/gen/layouts.ts";
import { PLATFORMS } from "../ffi/platforms.ts";

const ARCHES = Object.keys(PLATFORMS).flatMap((p) => {
  const [os, arch] = p.split(" ");
  return os === "linux" ? [arch] : [];
});

/** A test that the committed `file` is what `generate` writes, skipped when `tools` are missing. */
function upToDate(
  what: string,
  file: URL,
  tools: string[],
  command: string,
  generate: () => Promise<string>,
): void {
  if (tools.length > 0) {
    console.warn(`generated_test: ${what} not checked, missing: ${tools.join(", ")}`);
  }
  Deno.test({
    name: `${what}: the committed table is what its generator writes today`,
    ignore: tools.length > 0,
    async fn() {
      assert.equal(
        await generate(),
        await Deno.readTextFile(file),
        `run \`${command}\` and commit the result`,
      );
    },
  });
}

const pahole = await hasTool("pahole");

for (const arch of ARCHES) {
  const t = target(arch);
  const missing = await missingTools(t);
  upToDate(
    `linux ${arch} constants`,
    constantsFile(arch),
    missing,
    `deno task gen:constants --target ${arch}`,
    () => generateConstants(t),
  );
  // The x86_64 layouts are the hand-written reference the others are generated from.
  if (arch === "x86_64") continue;
  upToDate(
    `linux ${arch} struct layouts`,
    layoutsFile(arch),
    pahole ? missing : [...missing, "pahole"],
    `deno task gen:layouts --target ${arch}`,
    () => generateLayouts(t),
  );
}
