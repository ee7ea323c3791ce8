/**
 * One process of `bench/startup.ts`: `library` imports the library and makes
 * a 3-byte pipe round trip (`pipe`, `writeSync`, `readSync`); `raw` does the
 * same with a `Deno.dlopen` of the four libc functions it needs; `empty` does
 * nothing. Prints `{ load, first }` in ms: the import (or the `dlopen`), then
 * the first round trip with the pipe's creation and close.
 *
 * @module
 */
const bytes = new Uint8Array([1, 2, 3]);
const into = new Uint8Array(3);
let load = 0;
let first = 0;
const t0 = performance.now();
if (Deno.args[0] === "library") {
  const { pipe } = await import("../mod.ts");
  const t1 = performance.now();
  using p = pipe();
  p.writer.writeSync(bytes);
  if (p.reader.readSync(into) !== 3) throw new Error("short read");
  load = t1 - t0;
  first = performance.now() - t1;
} else if (Deno.args[0] === "raw") {
  const { symbols: c } = Deno.dlopen("libc.so.6", {
    pipe2: { parameters: ["buffer", "i32"], result: "i32" },
    write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    close: { parameters: ["i32"], result: "i32" },
  });
  const t1 = performance.now();
  const fds = new Int32Array(2);
  if (c.pipe2(new Uint8Array(fds.buffer), 0o2000000) !== 0) throw new Error("pipe2 failed");
  c.write(fds[1], bytes, 3n);
  if (c.read(fds[0], into, 3n) !== 3n) throw new Error("short read");
  c.close(fds[0]);
  c.close(fds[1]);
  load = t1 - t0;
  first = performance.now() - t1;
}
console.log(JSON.stringify({ load, first }));
