/**
 * Runs every cross-process comparison of bench/compare in turn (pipes, FIFOs,
 * System V message queues, POSIX message queues, shared memory with futexes
 * and semaphores, the waiting engine, sockets, Unix datagram sockets, signals,
 * and the wake lag and idle CPU of every mechanism) and prints their tables
 * under one header, each as soon as it is measured, and at the end how long
 * the whole run took.
 *
 * Run: `deno task bench:compare` (Linux; needs a C compiler as `cc`; about
 * eight minutes). `--raw` also prints every sample. One driver alone:
 * `deno task bench:compare:pipe`, `bench:compare:fifo`, `bench:compare:mq`,
 * `bench:compare:posix-mq`, `bench:compare:shm`, `bench:compare:wait`,
 * `bench:compare:socket`, `bench:compare:datagram`, `bench:compare:signal` or
 * `bench:compare:lag`.
 *
 * At the end it writes every table, with its samples and the machine, to
 * `bench/results/<os>-<arch>.json` and their chart to
 * `bench/results/<os>-<arch>.svg` (see report.ts); `--no-write` skips that.
 *
 * Then it prints the project's goals, each met or not in this run (goals.ts).
 *
 * `--quick`: one short pass (about a minute) checking that every row measures;
 * it writes no results. Ctrl-C removes what the run made (see harness.ts).
 *
 * @module
 */
import {
  cleanOnInterrupt,
  fixed,
  header,
  QUICK,
  recorded,
  requireLinux,
  takeRecords,
} from "./harness.ts";
import {
  figuresOf,
  results,
  type ResultSection,
  resultsFile,
  sectionOf,
  writeChart,
  writeResults,
} from "./report.ts";
import { goalsTable } from "./goals.ts";
import { main as pipe } from "./pipe.ts";
import { main as fifo } from "./fifo.ts";
import { main as msgQueue } from "./msg_queue.ts";
import { main as posixMq } from "./posix_mq.ts";
import { main as shm } from "./shm.ts";
import { main as wait } from "./wait.ts";
import { main as socket } from "./socket.ts";
import { main as datagram } from "./datagram.ts";
import { main as signal } from "./signal.ts";
import { main as lag } from "./lag.ts";

if (import.meta.main) {
  requireLinux();
  cleanOnInterrupt();
  const started = performance.now();
  console.log(header());
  const sections: ResultSection[] = [];
  for (const main of [pipe, fifo, msgQueue, posixMq, shm, wait, socket, datagram, signal, lag]) {
    const before = recorded.length;
    const report = takeRecords(await main(recorded));
    // wait.ts renders its own table, which the harness does not record: keep its cells as text.
    if (main === wait) sections.push(figuresOf(report));
    else sections.push(...recorded.slice(before).map(sectionOf));
    console.log(`\n${report}`);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`\n\`deno task bench:compare\` took ${fixed(seconds, 0)} s in total.`);
  const command = ["deno task bench:compare", ...Deno.args].join(" ");
  const run = results(sections, seconds, command);
  console.log(`\n### Goals\n\n${goalsTable(run)}`);
  if (!QUICK && !Deno.args.includes("--no-write")) {
    const json = resultsFile("json");
    const svg = resultsFile("svg");
    await writeResults(run, json);
    await writeChart(run, svg);
    const shown = (url: URL) => decodeURIComponent(url.pathname).replace(`${Deno.cwd()}/`, "");
    console.log(`Results: ${shown(json)}; chart: ${shown(svg)}.`);
  }
}
