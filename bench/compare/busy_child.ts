/**
 * The measured process of busy.ts: reads a feed of 64-byte writes every 100
 * µs from `<feed>` in an async loop, with this library's `await read()`
 * (`lib`) or Deno's own `FsFile.read` of a piped `Deno.Command` (`deno`),
 * while it times 300 `setTimeout(2)`; prints {"median","p90","max"}, how
 * late they came, in ms.
 *
 *   busy_child.ts <lib|deno> <feed>
 *
 * @module
 */
import { pipe, spawnProgram } from "../../mod.ts";

const [mode, feed] = Deno.args;
let stop = false;
let reading: Promise<void>;
if (mode === "lib") {
  const p = pipe();
  const feeder = spawnProgram(feed, ["feed"], { fds: { 1: p.writer } });
  p.writer.close();
  reading = (async () => {
    const buf = new Uint8Array(64);
    while (!stop) await p.reader.read(buf);
    feeder.kill("SIGKILL");
    await feeder.status;
    p.reader.close();
  })();
} else {
  const feeder = new Deno.Command(feed, { args: ["feed"], stdout: "piped" }).spawn();
  reading = (async () => {
    const reader = feeder.stdout.getReader({ mode: "byob" });
    let buf = new Uint8Array(64);
    while (!stop) buf = new Uint8Array((await reader.read(buf)).value!.buffer);
    feeder.kill("SIGKILL");
    await feeder.status;
    reader.releaseLock();
    await feeder.stdout.cancel();
  })();
}
const late: number[] = [];
for (let i = 0; i < 300; i++) {
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 2));
  late.push(performance.now() - start - 2);
}
stop = true;
await reading;
late.sort((a, b) => a - b);
console.log(JSON.stringify({ median: late[150], p90: late[270], max: late[299] }));
