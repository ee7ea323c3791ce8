/**
 * How the thread budget scales with Workers: Deno gives each isolate (the main
 * one, each Worker) a blocking pool of its own, so the library's budget (one
 * thread for fd waits, one for futex waits, CALL_BUDGET for parked calls) is
 * per isolate, and a Worker that fills its pool does not stall the main one.
 */
import assert from "node:assert/strict";
import { FdReader, FdWriter, MessageQueue } from "../mod.ts";
import { CALL_BUDGET, threadsHeld } from "../src/_wait/budget.ts";
import { CANNOT, TestScope, unless, until, within } from "./_kernel.ts";

Deno.test("a sync timeout in a Worker leaves no timer signalling the Worker's thread", async () => {
  await using s = new TestScope();
  const q = s.messageQueue();
  // The threads the process's POSIX timers signal (`notify: signal/tid.<tid>`). Other test
  // modules run on threads of this process too: only the Workers' threads are looked for.
  const timerThreads = () =>
    [...Deno.readTextFileSync("/proc/self/timers").matchAll(/^notify:\s+signal\/tid\.(\d+)/gm)]
      .map((m) => Number(m[1]));
  for (let i = 0; i < 3; i++) {
    const worker = new Worker(new URL("./fixtures/sync_timeout_worker.ts", import.meta.url), {
      type: "module",
    });
    try {
      const ended = new Promise<{ ended: string; tid: number }>((resolve) =>
        worker.onmessage = (e) => resolve(e.data)
      );
      worker.postMessage(q.id);
      const { ended: how, tid } = await within(ended, "the worker's receiveSync");
      assert.equal(how, "TimedOut");
      // A timer made for the call outlives the Worker's thread unless deleted.
      assert.ok(!timerThreads().includes(tid), `a timer still signals thread ${tid}`);
    } finally {
      worker.terminate();
    }
  }
});

Deno.test("a Worker whose pool is full does not stall the main isolate's file operations", async () => {
  const worker = new Worker(new URL("./fixtures/pool_worker.ts", import.meta.url), {
    type: "module",
  });
  try {
    const messages: Array<(data: Record<string, number>) => void> = [];
    const next = () => new Promise<Record<string, number>>((resolve) => messages.push(resolve));
    worker.onmessage = (e) => messages.shift()?.(e.data);
    const parkedMessage = next();
    worker.postMessage("fill");
    const { readFd, writeFd } = await within(parkedMessage, "the worker parks 32 reads");
    const text = await within(Deno.readTextFile(new URL(import.meta.url)), "Deno.readTextFile");
    assert.match(text, /does not stall/);
    // Let the worker's 32 reads return before the pipe is closed.
    const returned = next();
    using writer = new FdWriter(writeFd);
    writer.writeSync(new Uint8Array(32));
    assert.equal((await within(returned, "the 32 reads return")).returned, 32);
    new FdReader(readFd).close();
  } finally {
    worker.terminate();
  }
});

Deno.test(
  unless(
    CANNOT.parking,
    "the main isolate's budget full: its own file operations still complete",
    async () => {
      const queues = Array.from({ length: CALL_BUDGET + 10 }, () => MessageQueue.open("private"));
      const ac = new AbortController();
      try {
        const waits = queues.map((q) => q.receive({ signal: ac.signal }).catch(() => {}));
        await until(() => threadsHeld() >= CALL_BUDGET, "the budget is full");
        for (let i = 0; i < 20; i++) {
          await within(Deno.readTextFile(new URL(import.meta.url)), "Deno.readTextFile", 2000);
        }
        ac.abort();
        await Promise.all(waits);
      } finally {
        for (const q of queues) q.remove();
      }
    },
  ),
);
