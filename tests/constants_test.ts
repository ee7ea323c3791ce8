import assert from "node:assert/strict";
import { hasCc } from "../ffi/gen/c_probe.ts";
import { generate } from "../ffi/gen/constants.ts";

const cc = await hasCc();
if (!cc) {
  console.log("constants_test: no C compiler on PATH, the generated-file check is skipped");
}

Deno.test({
  name: "ffi/constants: the committed table is what the C probe generates today",
  ignore: !cc,
  async fn() {
    const file = new URL(
      `../ffi/constants/${Deno.build.os}_${Deno.build.arch}.ts`,
      import.meta.url,
    );
    assert.equal(
      await generate(),
      await Deno.readTextFile(file),
      "run `deno task gen:constants` and commit the result",
    );
  },
});
