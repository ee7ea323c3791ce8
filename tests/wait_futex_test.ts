/**
 * The futex-word source of the waiting engine (src/_wait/futex.ts): async
 * waits share one `futex_waitv` parked on a pool thread (or, without it, one
 * parked `FUTEX_WAIT` each), on an Int32Array over shared memory (a memfd)
 * that a spawned child maps too.
 */
import assert from "node:assert/strict";
import { spawn } from "../mod.ts";
import { futexWait, futexWaitSync, futexWake, useFutexFallback } from "../src/_wait/futex.ts";
import { threadsHeld } from "../src/_wait/budget.ts";
import { CANNOT, threadsBlockedIn, unless, until, wakeTwo, within } from "./_kernel.ts";
import {
  closeFd,
  lockAsync,
  mapShared,
  sharedFd,
  unlock,
  unmap,
} from "./fixtures/wait_futex_common.ts";

const fixture = new URL("./fixtures/wait_futex_peer.ts", import.meta.url);
const SIZE = 4096;

/** The address of `view[index]`, as the kernel sees it in a futex call's arguments. */
function wordAddress(view: Int32Array, index: number): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view))) + BigInt(index * 4);
}

/** Shared memory for one test: the fd to hand to children and this process's view. */
class Shared implements Disposable {
  readonly fd = sharedFd(SIZE);
  readonly view = mapShared(this.fd, SIZE);
  [Symbol.dispose](): void {
    unmap(this.view);
    closeFd(this.fd);
  }
}

/** Runs the peer fixture with the shared memory as its fd 3; checks it succeeded. */
async function peer(shm: Shared, ...args: string[]): Promise<string> {
  const child = spawn(fixture, { args, fds: { 3: shm.fd } });
  const status = await within(child.status, `peer ${args.join(" ")}`);
  assert.ok(status.success, `peer ${args.join(" ")} failed: ${JSON.stringify(status)}`);
  return "";
}

for (const mode of ["futex_waitv", "fallback"] as const) {
  // futex_waitv's first argument is the engine's list; a fallback FUTEX_WAIT's is the word.
  const parked = (view: Int32Array, index: number) =>
    mode === "futex_waitv"
      ? threadsBlockedIn(Deno.pid, { syscall: "futex_waitv" }).length
      : threadsBlockedIn(Deno.pid, { syscall: "futex", arg0: wordAddress(view, index) }).length;

  Deno.test(
    unless(
      mode === "futex_waitv" ? CANNOT.futexWaitv : undefined,
      `futex words (${mode})`,
      async (t) => {
        useFutexFallback(mode === "fallback");
        try {
          await t.step("a word that does not hold the value: not-equal at once", async () => {
            using shm = new Shared();
            Atomics.store(shm.view, 0, 5);
            assert.equal(await futexWait(shm.view, 0, 4), "not-equal");
            assert.equal(futexWaitSync(shm.view, 0, 4), "not-equal");
          });

          await t.step(
            "an async wait parks and wakes when another process stores and notifies",
            async () => {
              using shm = new Shared();
              const woken = futexWait(shm.view, 2, 0);
              await until(() => parked(shm.view, 2) === 1, `a thread is blocked in ${mode}`);
              await peer(shm, "notify", "2", "7");
              assert.equal(await within(woken, "futex wait"), "ok");
              assert.equal(Atomics.load(shm.view, 2), 7);
            },
          );

          await t.step(
            "many waits on many words share the parked call and each wakes",
            async () => {
              using shm = new Shared();
              const n = 50;
              const waits = Array.from({ length: n }, (_, i) => futexWait(shm.view, 10 + i, 0));
              await until(() => parked(shm.view, 10) === 1, "the waits are parked");
              // Wake them in reverse order, each from another process for the first.
              await peer(shm, "notify", String(10 + n - 1), "1");
              assert.equal(await within(waits[n - 1], "first wait"), "ok");
              for (let i = n - 2; i >= 0; i--) {
                Atomics.store(shm.view, 10 + i, 1);
                assert.equal(futexWake(shm.view, 10 + i) >= 0, true);
              }
              assert.deepEqual(
                await within(Promise.all(waits), "all waits"),
                waits.map(() => "ok"),
              );
            },
          );

          await t.step(
            "two notifies that change nothing, landing at once: both waits end",
            async () => {
              using shm = new Shared();
              const waits = [futexWait(shm.view, 20, 0), futexWait(shm.view, 21, 0)];
              // futex_waitv's second argument: the words and the engine's cancel word.
              await until(
                () =>
                  mode === "futex_waitv"
                    ? threadsBlockedIn(Deno.pid, { syscall: "futex_waitv", args: { 1: 3 } })
                      .length === 1
                    : parked(shm.view, 20) === 1 && parked(shm.view, 21) === 1,
                "both waits are parked",
              );
              // futex_waitv returns one index for both wakes: each counted wait must still end.
              assert.equal(wakeTwo(shm.view, 20, shm.view, 21), 2);
              assert.deepEqual(await within(Promise.all(waits), "both waits"), ["ok", "ok"]);
            },
          );

          await t.step(
            "a wait whose view is detached while parked ends in a TypeError; the others stay",
            async () => {
              using shm = new Shared();
              const fd = sharedFd(SIZE);
              let view = mapShared(fd, SIZE);
              try {
                const detached = futexWait(view, 0, 0);
                await until(() => parked(view, 0) === 1, "the wait is parked");
                view = new Int32Array((view.buffer as ArrayBuffer).transfer());
                // Another wait makes the shared call return and look at its words again.
                const other = futexWait(shm.view, 0, 0);
                if (mode === "futex_waitv") {
                  await assert.rejects(within(detached, "detached wait"), TypeError);
                }
                Atomics.store(shm.view, 0, 1);
                futexWake(shm.view, 0);
                assert.equal(await within(other, "the other wait"), "ok");
                // Without futex_waitv the wait is a FUTEX_WAIT of its own, on the address.
                if (mode === "fallback") {
                  futexWake(view, 0);
                  assert.equal(await within(detached, "detached wait"), "ok");
                }
              } finally {
                unmap(view);
                closeFd(fd);
              }
            },
          );

          await t.step("200 words, more than one futex_waitv takes: all still wake", async () => {
            using shm = new Shared();
            const waits = Array.from({ length: 200 }, (_, i) => futexWait(shm.view, 100 + i, 0));
            for (let i = 0; i < 200; i++) {
              Atomics.store(shm.view, 100 + i, 1);
              futexWake(shm.view, 100 + i);
            }
            assert.equal((await within(Promise.all(waits), "200 waits")).length, 200);
          });

          if (mode === "futex_waitv") {
            await t.step(
              "a wait beyond the call's 127 words joins it once a word leaves",
              async () => {
                // It polled for good: a notify that changed nothing never reached it.
                using shm = new Shared();
                const at = (i: number) => 100 + i;
                const waits = Array.from({ length: 128 }, (_, i) => futexWait(shm.view, at(i), 0));
                // 127 words and the engine's cancel word: the last wait polls.
                const full = () =>
                  threadsBlockedIn(Deno.pid, { syscall: "futex_waitv", args: { 1: 128 } })
                    .length === 1;
                await until(full, "the call holds 127 words");
                Atomics.store(shm.view, at(0), 1);
                futexWake(shm.view, at(0));
                assert.equal(await within(waits[0], "the first wait"), "ok");
                await until(full, "the last wait in the call");
                assert.equal(futexWake(shm.view, at(127)), 1, "a notify alone wakes it");
                assert.equal(await within(waits[127], "the last wait"), "ok");
                for (let i = 1; i < 127; i++) {
                  Atomics.store(shm.view, at(i), 1);
                  futexWake(shm.view, at(i));
                }
                await within(Promise.all(waits), "every wait");
              },
            );
          }

          await t.step("abort and timeout end a parked wait; the others stay", async () => {
            using shm = new Shared();
            const ac = new AbortController();
            const aborted = futexWait(shm.view, 0, 0, { signal: ac.signal });
            // Its rejection is expected now, not once the others are parked: on a loaded
            // machine the 30 ms can pass first, and an unheard rejection fails the module.
            const timed = assert.rejects(
              within(futexWait(shm.view, 1, 0, { timeout: 30 }), "timed"),
              {
                name: "TimedOut",
                code: "ETIMEDOUT",
              },
            );
            const staying = futexWait(shm.view, 2, 0);
            await until(() => parked(shm.view, 2) === 1, "parked");
            ac.abort("stop");
            await assert.rejects(within(aborted, "aborted"), (e) => e === "stop");
            await timed;
            await peer(shm, "notify", "2", "3");
            assert.equal(await within(staying, "staying"), "ok");
            await until(
              () => parked(shm.view, 2) === 0 && threadsHeld() === 0,
              "nothing is parked",
            );
          });

          await t.step(
            "a sync wait blocks until another process notifies, or times out",
            async () => {
              using shm = new Shared();
              assert.throws(() => futexWaitSync(shm.view, 3, 0, { timeout: 20 }), {
                name: "TimedOut",
                code: "ETIMEDOUT",
              });
              const child = spawn(fixture, { args: ["notify", "3", "9"], fds: { 3: shm.fd } });
              assert.equal(futexWaitSync(shm.view, 3, 0, { timeout: 2 ** 31 + 5 }), "ok");
              assert.equal(Atomics.load(shm.view, 3), 9);
              assert.ok((await child.status).success);
            },
          );

          await t.step(
            "a lock on a shared word: two processes add 20 000 each, exactly",
            async () => {
              using shm = new Shared();
              const n = 20_000;
              const child = spawn(fixture, { args: ["count", String(n)], fds: { 3: shm.fd } });
              for (let i = 0; i < n; i++) {
                await lockAsync(shm.view, 0);
                shm.view[1]++;
                unlock(shm.view, 0);
              }
              assert.ok((await within(child.status, "counting child")).success);
              assert.equal(Atomics.load(shm.view, 1), 2 * n);
              assert.equal(Atomics.load(shm.view, 0), 0);
            },
          );

          await t.step("bad arguments: TypeError or RangeError before any wait", async () => {
            using shm = new Shared();
            await assert.rejects(
              futexWait(new Uint32Array(4) as unknown as Int32Array, 0, 0),
              TypeError,
            );
            await assert.rejects(futexWait(shm.view, SIZE / 4, 0), RangeError);
            await assert.rejects(futexWait(shm.view, 0, 2 ** 32), RangeError);
            assert.throws(() => futexWake(shm.view, -1), RangeError);
          });
        } finally {
          useFutexFallback(false);
        }
      },
    ),
  );
}
