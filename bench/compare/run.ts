/**
 * Runs every cross-process comparison of bench/compare in turn (pipes, System V
 * message queues, POSIX message queues, shared memory with futexes and
 * semaphores, the waiting engine, sockets, signals) and prints their
 * tables under one header, each as soon as it is measured, and at the end how
 * long the whole run took.
 *
 * Run: `deno task bench:compare` (Linux; needs a C compiler as `cc`; about
 * five minutes). `--raw` also prints every sample. One driver alone:
 * `deno task bench:compare:pipe`, `bench:compare:mq`, `bench:compare:posix-mq`,
 * `bench:compare:shm`, `bench:compare:wait`, `bench:compare:socket` or
 * `bench:compare:signal`.
 *
 * @module
 */
import { fixed, header, requireLinux } from "./harness.ts";
import { main as pipe } from "./pipe.ts";
import { main as msgQueue } from "./msg_queue.ts";
import { main as posixMq } from "./posix_mq.ts";
import { main as shm } from "./shm.ts";
import { main as wait } from "./wait.ts";
import { main as socket } from "./socket.ts";
import { main as signal } from "./signal.ts";

if (import.meta.main) {
  requireLinux();
  const started = performance.now();
  console.log(header());
  for (const main of [pipe, msgQueue, posixMq, shm, wait, socket, signal]) {
    console.log(`\n${await main()}`);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`\n\`deno task bench:compare\` took ${fixed(seconds, 0)} s in total.`);
}
