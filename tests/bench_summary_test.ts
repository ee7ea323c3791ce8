// bench/compare/summary.ts: the README shows the committed results file, as rendered.
import assert from "node:assert/strict";
import {
  BEGIN,
  END,
  normalized,
  README_RESULTS,
  renderSummary,
  summaryOf,
  withSummary,
} from "../bench/compare/summary.ts";

const readme = new URL("../README.md", import.meta.url);

Deno.test("the README's figures are those of the committed results file", async () => {
  const results = JSON.parse(await Deno.readTextFile(README_RESULTS));
  const shown = summaryOf(await Deno.readTextFile(readme));
  assert.ok(shown !== undefined, `README.md lacks the lines ${BEGIN} and ${END}`);
  assert.equal(
    normalized(shown),
    normalized(renderSummary(results)),
    "README.md differs from bench/results: run `deno task bench:readme`",
  );
});

Deno.test("summary: markers are required, and the text between them is replaced", () => {
  assert.throws(() => withSummary("no markers", "x"), /needs the lines/);
  const text = `before\n${BEGIN}\nold\n${END}\nafter`;
  const replaced = withSummary(text, "new");
  assert.equal(summaryOf(replaced), "new");
  assert.ok(replaced.startsWith("before\n") && replaced.endsWith(`${END}\nafter`));
});

Deno.test("summary: formatting differences do not count, figures do", () => {
  const a = "| a | b |\n|---|---:|\n| 1 | 2 |\n\nsome words\nwrapped";
  const b = "| a   | b   |\n| --- | --: |\n| 1   | 2   |\n\nsome words wrapped";
  assert.equal(normalized(a), normalized(b));
  assert.notEqual(normalized(a), normalized(b.replace("2", "3")));
});
