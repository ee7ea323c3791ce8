/**
 * Runs every cross-process comparison of bench/compare in turn (pipes, System V
 * message queues, POSIX message queues) and prints their tables under one
 * header, each as soon as it is measured.
 *
 * Run: `deno task bench:compare` (Linux; needs a C compiler as `cc`; a few
 * minutes). `--raw` also prints every sample. One driver alone:
 * `deno task bench:compare:pipe`, `bench:compare:mq` or `bench:compare:posix-mq`.
 *
 * @module
 */
import { header, requireLinux } from "./harness.ts";
import { main as pipe } from "./pipe.ts";
import { main as msgQueue } from "./msg_queue.ts";
import { main as posixMq } from "./posix_mq.ts";

if (import.meta.main) {
  requireLinux();
  console.log(header());
  for (const main of [pipe, msgQueue, posixMq]) console.log(`\n${await main()}`);
}
