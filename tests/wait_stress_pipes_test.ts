/**
 * A randomized stress test of the fd source of the waiting engine
 * (src/_wait/): it looks for lost wake-ups, lost or duplicated data, leaked
 * waits or descriptors, in one process.
 *
 * 64 pipes at once, 20 generations each, several writers and readers per
 * pipe, random sizes (1 B .. 256 KiB), random timeouts and aborts at random
 * moments, some pipes closed mid-way, new pipes taking the descriptor numbers
 * of closed ones. Every byte carries its writer's stream and a function of its
 * position in it: with one reader per pipe, each stream must arrive whole and
 * in order; with several readers (whose reads may settle in any order), each
 * stream's bytes must be exactly those written, as a multiset. "Written" is
 * exact: completed writes plus the `bytesWritten` of rejected ones (an abort
 * rejects with the bare reason only when nothing was written).
 *
 * The seed is printed; `STRESS_SEED=<n>` repeats a run's random choices (the
 * timing, and so what a cancellation hits, still differs from run to run).
 * No timing threshold: a wait that never ends is caught by a hang guard,
 * which then reports what each task was waiting for. The random delays below
 * are stimulus (when an abort, a storm or a close happens), never a wait for
 * something to be ready.
 *
 * The other half, across processes and over message queues, is
 * wait_stress_queues_test.ts.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Pipe } from "../mod.ts";
import { fdEngine } from "../src/_wait/mod.ts";
import { assertReleased, EMULATED, readiness, TestScope, within } from "./_kernel.ts";
import {
  isCancellation,
  mix32,
  pause,
  randomCancel,
  randomDelay,
  Rng,
  started,
} from "./fixtures/wait_stress_common.ts";
import {
  describeTasks,
  doing,
  errorText,
  explained,
  GUARD_MS,
  newTask,
  SEED,
  type Task,
} from "./fixtures/wait_stress_harness.ts";

/** Pipes in use at once. */
const PIPES = 64;
/**
 * Pipes each of the 64 slots goes through, one after the other: a new pipe
 * often gets the descriptor numbers of one just closed while the engine
 * still has events of the others in flight. Fewer under emulation, where a
 * run of 20 takes minutes.
 */
const GENERATIONS = EMULATED ? 5 : 20;
const MAX_OP = 256 * 1024;
/** Stream ids per pipe: the top 3 bits of every byte. */
const STREAMS = 8;
const P1 = 65521;
const P2 = 65519;

/**
 * Byte patterns. Byte `i` of stream `k` of pipe `p` is
 * `k << 5 | (T1[(a + i) % P1] ^ T2[(b + i) % P2]) & 31`, where (a, b) derive
 * from (p, k): the top bits say whose byte it is, the rest checks its position
 * (a period of P1 * P2 bytes, so a lost or repeated piece shows at once).
 */
class Patterns {
  readonly t1 = new Uint8Array(P1);
  readonly t2 = new Uint8Array(P2);
  constructor(readonly seed: number) {
    const r = new Rng(seed, 0xbeef);
    for (let i = 0; i < P1; i++) this.t1[i] = r.u32();
    for (let i = 0; i < P2; i++) this.t2[i] = r.u32();
  }

  cursor(pipe: number, k: number, pos = 0): { a: number; b: number } {
    return {
      a: (mix32(this.seed, pipe, k, 11) % P1 + pos) % P1,
      b: (mix32(this.seed, pipe, k, 12) % P2 + pos) % P2,
    };
  }

  generate(pipe: number, k: number, pos: number, len: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(len);
    let { a, b } = this.cursor(pipe, k, pos);
    const { t1, t2 } = this;
    const tag = k << 5;
    for (let i = 0; i < len; i++) {
      out[i] = tag | ((t1[a] ^ t2[b]) & 31);
      if (++a === P1) a = 0;
      if (++b === P2) b = 0;
    }
    return out;
  }
}

/** One writer stream of a pipe. */
interface Stream {
  k: number;
  /** Bytes in the pipe: completed writes and reported `bytesWritten`. */
  known: number;
  /** Received so far, and the position check of the ordered pipes. */
  received: number;
  a: number;
  b: number;
}

type PipeKind = "ordered" | "herd";
type CloseMode = "none" | "reader" | "writer";

interface Stats {
  reads: number;
  writes: number;
  readCancels: number;
  writeCancels: number;
  bytes: number;
  eofs: number;
  closes: number;
  /** The most fds waited on at once (sampled as operations start). */
  peak: number;
}

/** One pipe of part 1 and everything that happens on it. */
class PipeRun {
  readonly streams: Stream[] = [];
  readonly hist = new Uint32Array(STREAMS * 32);
  readonly tasks: Task[] = [];
  readonly failures: string[] = [];
  scheduled = 0;
  readerClosed = false;
  writerClosed = false;
  eof = false;
  finished = false;
  /** Set by the first failure: later bytes are not checked any more. */
  broken = false;
  shared = { ac: new AbortController(), reason: new Error("stress storm") };

  constructor(
    readonly index: number,
    readonly generation: number,
    readonly p: Pipe,
    readonly kind: PipeKind,
    readonly close: CloseMode,
    readonly budget: number,
    readonly pat: Patterns,
    readonly stats: Stats,
  ) {}

  /** Whose bytes: every pipe has patterns of its own, also a slot's successive pipes. */
  get key(): number {
    return this.index * 1024 + this.generation;
  }

  get sharedSignal(): { signal: AbortSignal; reason: unknown } {
    return { signal: this.shared.ac.signal, reason: this.shared.reason };
  }

  fail(message: string): void {
    this.broken = true;
    if (this.failures.length < 5) {
      this.failures.push(
        `pipe ${this.index}.${this.generation} (${this.kind}, close ${this.close}): ${message}`,
      );
    }
  }

  newStream(): Stream | undefined {
    const k = this.streams.length;
    if (k >= STREAMS) return undefined;
    const s = { k, known: 0, received: 0, ...this.pat.cursor(this.key, k) };
    this.streams.push(s);
    return s;
  }

  /** Checks received bytes: by position (one reader), or into per-stream histograms (several). */
  receive(chunk: Uint8Array): void {
    this.stats.bytes += chunk.length;
    if (this.broken) return;
    const { t1, t2 } = this.pat;
    if (this.kind === "herd") {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i];
        const s = this.streams[c >>> 5];
        if (s === undefined) return this.fail(`a byte of stream ${c >>> 5}, never written`);
        s.received++;
        this.hist[c]++;
      }
      return;
    }
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      const s = this.streams[c >>> 5];
      if (s === undefined) return this.fail(`a byte of stream ${c >>> 5}, never written`);
      if ((c & 31) !== ((t1[s.a] ^ t2[s.b]) & 31)) {
        return this.fail(
          `stream ${s.k}: byte ${s.received} is wrong (lost or repeated data) at offset ${i} of a ${chunk.length}-byte read`,
        );
      }
      s.received++;
      if (++s.a === P1) s.a = 0;
      if (++s.b === P2) s.b = 0;
    }
  }

  /** The final check, once every task has ended. */
  verify(): void {
    if (this.broken) return;
    const readerEarly = this.readerClosed && !this.eof;
    for (const s of this.streams) {
      if (readerEarly) {
        if (s.received > s.known) {
          this.fail(`stream ${s.k}: received ${s.received} > written ${s.known}`);
        }
        continue;
      }
      if (s.received !== s.known) {
        this.fail(`stream ${s.k}: received ${s.received} bytes, written ${s.known}`);
      }
      if (this.kind === "herd") {
        // The multiset of (stream, check bits) must be exactly that of positions 0..received-1.
        const want = new Uint32Array(32);
        const g = this.pat.generate(this.key, s.k, 0, s.received);
        for (const c of g) want[c & 31]++;
        for (let v = 0; v < 32; v++) {
          if (this.hist[(s.k << 5) | v] !== want[v]) {
            this.fail(`stream ${s.k}: the bytes received are not those written (lost or repeated)`);
            break;
          }
        }
      }
    }
  }
}

async function writerTask(run: PipeRun, t: Task, rng: Rng): Promise<void> {
  const s = run.newStream();
  while (s !== undefined && run.scheduled < run.budget && !run.writerClosed) {
    const len = rng.size(1, MAX_OP);
    run.scheduled += len;
    const data = run.pat.generate(run.key, s.k, s.known, len);
    const c = randomCancel(rng, run.sharedSignal);
    doing(t, `write ${len} B to stream ${s.k} at ${s.known} (${c.what})`);
    run.stats.writes++;
    try {
      const n = await started(c, (o) => {
        const p = run.p.writer.write(data, o);
        run.stats.peak = Math.max(run.stats.peak, fdEngine.pending);
        return p;
      });
      if (n !== len) run.fail(`write of ${len} B resolved with ${n}`);
      s.known += len;
    } catch (e) {
      const progress = (e as { bytesWritten?: unknown } | null)?.bytesWritten;
      if (typeof progress === "number") {
        if (progress < 0 || progress > len) run.fail(`bytesWritten ${progress} of ${len}`);
        s.known += progress;
      } else if (c.reason !== undefined && e === c.reason) {
        // The contract: an abort rejects with exactly signal.reason only when
        // nothing was written (else Interrupted with bytesWritten): none went.
      } else {
        run.fail(`write rejected without bytesWritten: ${errorText(e)}`);
      }
      if (isCancellation(c, e)) {
        run.stats.writeCancels++;
      } else if (e instanceof Deno.errors.BadResource && run.writerClosed) {
        break;
      } else if (e instanceof Deno.errors.BrokenPipe && run.readerClosed) {
        break;
      } else {
        run.fail(`write (${c.what}) rejected: ${errorText(e)}`);
        break;
      }
    }
    doing(t, "pause");
    await pause(rng);
  }
  t.done = true;
}

async function readerTask(run: PipeRun, t: Task, rng: Rng): Promise<void> {
  const buf = new Uint8Array(MAX_OP);
  for (;;) {
    const size = rng.size(1, MAX_OP);
    const c = randomCancel(rng, run.sharedSignal);
    doing(t, `read ${size} B (${c.what})`);
    run.stats.reads++;
    let n: number | null;
    try {
      n = await started(c, (o) => {
        const p = run.p.reader.read(buf.subarray(0, size), o);
        run.stats.peak = Math.max(run.stats.peak, fdEngine.pending);
        return p;
      });
    } catch (e) {
      if (isCancellation(c, e)) {
        run.stats.readCancels++;
        continue;
      }
      if (!(e instanceof Deno.errors.BadResource && run.readerClosed)) {
        run.fail(`read (${c.what}) rejected: ${errorText(e)}`);
      }
      break;
    }
    if (n === null) {
      run.eof = true;
      run.stats.eofs++;
      break;
    }
    if (!(n >= 1 && n <= size)) {
      run.fail(`read of ${size} B resolved with ${n}`);
      break;
    }
    run.receive(buf.subarray(0, n));
    doing(t, "pause");
    await pause(rng, 0.2);
  }
  t.done = true;
}

/**
 * Runs the tasks of one pipe to their end. With `linger`, the ends that need
 * not be closed stay open (a leaked wait only shows while its fd is open).
 */
async function runPipe(run: PipeRun, seed: number, linger: boolean): Promise<void> {
  const rng = new Rng(seed, run.index, run.generation, 0);
  const writers = Array.from(
    { length: rng.int(1, 3) },
    (_, i) =>
      writerTask(
        run,
        newTask(`writer ${i}`, run.tasks),
        new Rng(seed, run.index, run.generation, 1, i),
      ),
  );
  const readers = Array.from(
    { length: run.kind === "herd" ? rng.int(2, 4) : 1 },
    (_, i) =>
      readerTask(
        run,
        newTask(`reader ${i}`, run.tasks),
        new Rng(seed, run.index, run.generation, 2, i),
      ),
  );
  // A storm now and then: one abort cancels every operation of the pipe that uses it.
  const storm = (async () => {
    while (!run.finished) {
      await randomDelay(rng, 2, 25);
      run.shared.ac.abort(run.shared.reason);
      run.shared = { ac: new AbortController(), reason: new Error("stress storm") };
    }
  })();
  const closer = (async () => {
    if (run.close === "none") return;
    await randomDelay(rng, 0, 40);
    run.stats.closes++;
    if (run.close === "reader") {
      run.readerClosed = true;
      run.p.reader.close();
    } else {
      run.writerClosed = true;
      run.p.writer.close();
    }
  })();
  await Promise.all(writers);
  if (!(linger && run.readerClosed)) {
    run.writerClosed = true;
    run.p.writer.close(); // end of file for the readers
  }
  await Promise.all(readers);
  if (!linger) {
    run.readerClosed = true;
    run.p.reader.close();
  }
  await closer;
  run.finished = true;
  await storm;
}

Deno.test(
  "stress: 64 pipes, concurrent readers and writers, random cancellations",
  explained(async () => {
    const seed = mix32(SEED, 1);
    console.log(`wait stress (pipes): STRESS_SEED=${SEED}`);
    const started0 = performance.now();
    await using s = new TestScope();
    const before = fdEngine.pending;
    const pat = new Patterns(seed);
    const stats: Stats = {
      reads: 0,
      writes: 0,
      readCancels: 0,
      writeCancels: 0,
      bytes: 0,
      eofs: 0,
      closes: 0,
      peak: 0,
    };
    const current: PipeRun[] = [];
    const lingering: Pipe[] = [];
    const failures: string[] = [];
    let made = 0;
    /** One slot: GENERATIONS pipes one after the other, each checked when it is done. */
    const slot = async (i: number) => {
      for (let g = 0; g < GENERATIONS; g++) {
        const r = new Rng(seed, i, g, 0xc0);
        const kind: PipeKind = r.chance(0.5) ? "ordered" : "herd";
        const x = r.float();
        const close: CloseMode = x < 0.7 ? "none" : x < 0.85 ? "reader" : "writer";
        const budget = r.size(16 * 1024, 768 * 1024);
        const run = new PipeRun(i, g, s.pipe(), kind, close, budget, pat, stats);
        made++;
        current[i] = run;
        const last = g === GENERATIONS - 1;
        await runPipe(run, seed, last);
        run.verify();
        failures.push(...run.failures);
        if (last) lingering.push(run.p);
        else if (!run.p.reader.closed || !run.p.writer.closed) {
          failures.push(`pipe ${i}.${g}: an end is still open`);
        }
      }
    };
    try {
      await within(
        Promise.all(Array.from({ length: PIPES }, (_, i) => slot(i))),
        `every read and write of ${PIPES * GENERATIONS} pipes`,
        GUARD_MS,
      );
    } catch (e) {
      const stuck = current.filter((r) => r.tasks.some((t) => !t.done)).map((r) =>
        `pipe ${r.index}.${r.generation} (${r.kind}, close ${r.close}; reader ${
          r.p.reader.closed ? "closed" : `fd ${r.p.reader.fd}: ${readiness(r.p.reader.fd)}`
        }, writer ${
          r.p.writer.closed ? "closed" : `fd ${r.p.writer.fd}: ${readiness(r.p.writer.fd)}`
        }):\n${describeTasks(r.tasks)}`
      );
      throw new Error(
        `${(e as Error).message} (seed ${SEED}); engine pending ${fdEngine.pending}; stuck:\n${
          stuck.join("\n")
        }`,
      );
    }
    assert.equal(made, PIPES * GENERATIONS);
    assert.deepEqual(failures, [], `seed ${SEED}`);
    // Every wait has ended, also on the ends still open: the engine waits for nothing of ours.
    assert.ok(lingering.some((p) => !p.reader.closed), "no end left open to check");
    assert.equal(fdEngine.pending, before, "waits left in the engine");
    for (const p of lingering) p[Symbol.dispose]();
    assert.equal(fdEngine.pending, before, "waits left in the engine");
    // No descriptor refers to any of the pipes.
    assertReleased(s.targets);
    console.log(
      `  ${stats.bytes} B through ${made} pipes (${PIPES} at once); ${stats.writes} writes (${stats.writeCancels} cancelled), ` +
        `${stats.reads} reads (${stats.readCancels} cancelled), ` +
        `${stats.closes} early closes; up to ${stats.peak} fds waited on at once; ${
          (performance.now() - started0).toFixed(0)
        } ms`,
    );
  }),
);
