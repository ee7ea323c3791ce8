/**
 * A randomized stress test of the waiting engine (src/_wait.ts): it looks for
 * lost wake-ups, lost or duplicated data, leaked waits or descriptors, and a
 * process that cannot exit.
 *
 * 1. One process, 64 pipes, several writers and readers per pipe, random
 *    sizes (1 B .. 256 KiB), random timeouts and aborts at random moments,
 *    some pipes closed mid-way, new pipes taking the descriptor numbers of
 *    closed ones. Every byte carries its writer's stream and a function of its
 *    position in it: with one reader per pipe, each stream must arrive whole
 *    and in order; with several readers (whose reads may settle in any order),
 *    each stream's bytes must be exactly those written, as a multiset.
 *    "Written" is exact: completed writes plus the `bytesWritten` of rejected
 *    ones (an abort rejects with the bare reason only when nothing was written).
 * 2. A parent and 2..4 Deno children exchanging over pipes, one System V queue
 *    and two POSIX queues, with random pauses, aborts and timeouts: every
 *    message a send reported as sent arrives exactly once; each child exits
 *    by itself (code 0) although it leaves cancelled waits behind.
 *
 * The seed is printed; `STRESS_SEED=<n>` repeats a run's random choices (the
 * timing, and so what a cancellation hits, still differs from run to run).
 * No timing threshold: a wait that never ends is caught by a hang guard,
 * which then reports what each task was waiting for.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type ChildProcess,
  type ChildStatus,
  type FdReader,
  MessageQueue,
  type Pipe,
  PosixMessageQueue,
  spawn,
} from "../mod.ts";
import { fdEngine } from "../src/_wait/mod.ts";
import {
  assertReleased,
  openFds,
  readAllBytes,
  readProcFile,
  TestScope,
  within,
} from "./_helpers.ts";
import {
  buildMessage,
  buildRecord,
  type Cancel,
  CH,
  type ChildReport,
  isCancellation,
  KIND_END,
  mix32,
  PARENT,
  parseMessage,
  pause,
  randomCancel,
  RecordParser,
  Rng,
  sleep,
  started,
  stressSeed,
} from "./fixtures/wait_stress_common.ts";

const SEED = stressSeed();
const CHILD = new URL("./fixtures/wait_stress_child.ts", import.meta.url);
/** Hang guard of a whole scenario: only a failure ever waits this long. */
const GUARD_MS = 60_000;

// The test's own libc: readiness for diagnostics, and queue cleanup that does
// not rely on the code under test.
const lib = Deno.dlopen("libc.so.6", {
  __errno_location: { parameters: [], result: "pointer" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  msgctl: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  mq_open: { parameters: ["buffer", "i32", "u32", "buffer"], result: "i32" },
  mq_close: { parameters: ["i32"], result: "i32" },
  mq_unlink: { parameters: ["buffer"], result: "i32" },
});
const sys = lib.symbols;
const errnoView = new Deno.UnsafePointerView(sys.__errno_location()!);
const cstr = (s: string) => new TextEncoder().encode(`${s}\0`);
const IPC_RMID = 0;
const ENOENT = 2;

/** What poll(2) says about `fd` now (for diagnostics only). */
function readiness(fd: number): string {
  const pfd = new Uint8Array(8);
  const v = new DataView(pfd.buffer);
  v.setInt32(0, fd, true);
  v.setInt16(4, 0x1 | 0x4, true); // POLLIN | POLLOUT
  const n = sys.poll(pfd, 1n, 0);
  if (n < 0) return `poll failed (errno ${errnoView.getInt32()})`;
  const r = v.getInt16(6, true);
  const names = [[0x1, "IN"], [0x4, "OUT"], [0x8, "ERR"], [0x10, "HUP"], [0x20, "NVAL"]] as const;
  return names.filter(([bit]) => (r & bit) !== 0).map(([, name]) => name).join("|") || "not ready";
}

/**
 * Runs a test body; when both it and the disposal of its scope fail, Deno
 * shows only "SuppressedError": this prints both.
 */
function explained(body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (e) {
      if (e instanceof SuppressedError) {
        console.error("test failed:", e.suppressed, "\nand then its clean-up:", e.error);
      }
      throw e;
    }
  };
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** What a task is doing now, for the report of a hang. */
interface Task {
  name: string;
  op: string;
  since: number;
  done: boolean;
}

function newTask(name: string, tasks: Task[]): Task {
  const t = { name, op: "starting", since: performance.now(), done: false };
  tasks.push(t);
  return t;
}

function doing(t: Task, op: string): void {
  t.op = op;
  t.since = performance.now();
}

function describeTasks(tasks: Task[]): string {
  const now = performance.now();
  return tasks.filter((t) => !t.done).map((t) =>
    `  ${t.name}: ${t.op} for ${(now - t.since).toFixed(0)} ms`
  ).join("\n");
}

// ===================================================================== part 1

/** Pipes in use at once. */
const PIPES = 64;
/**
 * Pipes each of the 64 slots goes through, one after the other: a new pipe
 * often gets the descriptor numbers of one just closed while the engine
 * still has events of the others in flight.
 */
const GENERATIONS = 20;
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
      await sleep(rng.int(2, 25));
      run.shared.ac.abort(run.shared.reason);
      run.shared = { ac: new AbortController(), reason: new Error("stress storm") };
    }
  })();
  const closer = (async () => {
    if (run.close === "none") return;
    await sleep(rng.int(0, 40));
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

// ===================================================================== part 2

/** Message sizes: well below msgmax and the POSIX queue's message size. */
const SYSV_CAP = 256;
const POSIX_CAP = 256;
const POSIX_MAX_MESSAGES = 8;

const posixPrefix = `/libc-ipc-stress-${Deno.pid}-`;
let posixCounter = 0;

function sysvIds(): Set<number> {
  const ids = new Set<number>();
  for (const line of readProcFile("/proc/sysvipc/msg").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 2) ids.add(Number(f[1]));
  }
  return ids;
}

function posixExists(name: string): boolean {
  const fd = sys.mq_open(cstr(name), 0, 0, null);
  if (fd >= 0) {
    sys.mq_close(fd);
    return true;
  }
  const code = errnoView.getInt32();
  if (code !== ENOENT) throw new Error(`mq_open ${name}: errno ${code}`);
  return false;
}

/**
 * A TestScope that also removes the queues made here, with the test's own
 * msgctl and mq_unlink, even on failure; then checks that none is left (what
 * `ipcs -q` lists, and the POSIX names) and no descriptor refers to a POSIX one.
 */
class StressScope extends TestScope {
  #sysv: number[] = [];
  #posix: string[] = [];

  sysv(q: MessageQueue): MessageQueue {
    this.#sysv.push(q.id);
    return this.handle(q);
  }

  posixName(): string {
    const name = `${posixPrefix}${++posixCounter}`;
    this.#posix.push(name);
    return name;
  }

  override async [Symbol.asyncDispose](): Promise<void> {
    try {
      await super[Symbol.asyncDispose]();
    } finally {
      for (const id of this.#sysv) sys.msgctl(id, IPC_RMID, new Uint8Array(0));
      for (const name of this.#posix) sys.mq_unlink(cstr(name));
    }
    const live = sysvIds();
    assert.deepEqual(this.#sysv.filter((id) => live.has(id)), [], "System V queues left");
    assert.deepEqual(this.#posix.filter(posixExists), [], "POSIX queues left");
    const names = new Set(this.#posix);
    const open = [...openFds()].filter(([, target]) => names.has(target));
    assert.deepEqual(open, [], "POSIX queue descriptors left open");
  }
}

/** One flow of the parent: a task with a name, for the report of a hang. */
function flow(tasks: Task[], name: string, body: (t: Task) => Promise<void>): Promise<void> {
  const t = newTask(name, tasks);
  return body(t).finally(() => t.done = true);
}

/** Rounds of part 2, each with new children and new queues. */
const ROUNDS = 3;

Deno.test(
  "stress: parent and children over pipes and message queues",
  explained(async () => {
    console.log(`wait stress (processes): STRESS_SEED=${SEED}`);
    for (let round = 0; round < ROUNDS; round++) {
      console.log(`  round ${round}: ${await exchange(mix32(SEED, 2, round))}`);
    }
  }),
);

/** One round: spawns the children, runs every flow, checks everything; returns a summary. */
async function exchange(seed: number): Promise<string> {
  const started0 = performance.now();
  await using s = new StressScope();
  const before = fdEngine.pending;
  const rng = new Rng(seed);
  const K = rng.int(2, 4);
  const counts = {
    pipe: rng.int(150, 300),
    sysv: rng.int(150, 300),
    posixDown: rng.int(100, 200) * K,
    posixUp: rng.int(100, 200),
  };
  const tasks: Task[] = [];
  const errors: string[] = [];
  const err = (what: string) => {
    if (errors.length < 20) errors.push(what);
  };

  const sysv = s.sysv(MessageQueue.open("private"));
  const downName = s.posixName();
  const upName = s.posixName();
  const qOptions = {
    create: true,
    exclusive: true,
    maxMessages: POSIX_MAX_MESSAGES,
    messageSize: POSIX_CAP,
  } as const;
  const down = s.handle(PosixMessageQueue.open(downName, { ...qOptions, access: "write" }));
  const up = s.handle(PosixMessageQueue.open(upName, { ...qOptions, access: "read" }));

  interface Kid {
    id: number;
    child: ChildProcess;
    toChild: Pipe;
    fromChild: FdReader;
    report: FdReader;
  }
  const kids: Kid[] = [];
  for (let id = 0; id < K; id++) {
    const toChild = s.pipe();
    const fromChild = s.pipe();
    const report = s.pipe();
    const privateName = s.posixName();
    const child = s.child(spawn(CHILD, {
      args: [
        String(id),
        String(seed),
        String(K),
        String(sysv.id),
        downName,
        upName,
        privateName,
        JSON.stringify(counts),
      ],
      fds: { 3: toChild.reader, 4: fromChild.writer, 5: report.writer },
    }));
    // The child's ends are the child's: end of file comes when it closes them or exits.
    toChild.reader.close();
    fromChild.writer.close();
    report.writer.close();
    kids.push({ id, child, toChild, fromChild: fromChild.reader, report: report.reader });
  }

  const sysvSent = kids.map(() => [] as number[]);
  const sysvGot = kids.map(() => [] as number[]);
  const posixSent: number[] = [];
  const posixGot = kids.map(() => [] as number[]);
  const pipeGot = kids.map((k) => new RecordParser(seed, CH.pipeUp, k.id));
  const reports: ChildReport[] = [];
  const statuses: ChildStatus[] = [];
  let cancels = 0;

  /** A cancellable operation: true if it completed, false if cancelled (as it may be). */
  async function attempt<T>(
    t: Task,
    what: string,
    r: Rng,
    start: (o: Cancel["options"]) => Promise<T>,
    done: (v: T) => void,
  ): Promise<boolean> {
    const c = randomCancel(r);
    doing(t, `${what} (${c.what})`);
    try {
      done(await started(c, start));
      return true;
    } catch (e) {
      if (!isCancellation(c, e)) throw e;
      cancels++;
      return false;
    }
  }

  const flows: Promise<void>[] = [];
  for (const k of kids) {
    const r = (n: number) => new Rng(seed, PARENT, k.id, n);
    flows.push(flow(tasks, `pipe to child ${k.id}`, async (t) => {
      const rr = r(1);
      for (let seq = 0; seq < counts.pipe; seq++) {
        doing(t, `write record ${seq}`);
        await k.toChild.writer.write(buildRecord(seed, CH.pipeDown, k.id, seq));
        await pause(rr);
      }
      k.toChild.writer.close();
    }));
    flows.push(flow(tasks, `pipe from child ${k.id}`, async (t) => {
      const rr = r(2);
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        const size = rr.size(1, buf.length);
        let n: number | null | undefined;
        const ok = await attempt(
          t,
          `read ${size} B`,
          rr,
          (o) => k.fromChild.read(buf.subarray(0, size), o),
          (v) => n = v,
        );
        if (!ok) continue;
        if (n === null) break;
        pipeGot[k.id].push(buf.subarray(0, n!));
        await pause(rr, 0.2);
      }
      k.fromChild.close();
    }));
    flows.push(flow(tasks, `System V to child ${k.id}`, async (t) => {
      const rr = r(3);
      for (let seq = 0; seq < counts.sysv; seq++) {
        const msg = buildMessage(seed, CH.sysvDown, k.id, seq, SYSV_CAP);
        const ok = await attempt(
          t,
          `send ${seq}`,
          rr,
          (o) => sysv.send(msg, { ...o, type: 100 + k.id }),
          () => {},
        );
        if (ok) sysvSent[k.id].push(seq);
        await pause(rr);
      }
      doing(t, "send the end");
      await sysv.send(buildMessage(seed, CH.sysvDown, k.id, 0, SYSV_CAP, KIND_END), {
        type: 100 + k.id,
      });
    }));
    flows.push(flow(tasks, `report of child ${k.id}`, async (t) => {
      doing(t, "read the report to its end");
      const bytes = await readAllBytes(k.report, GUARD_MS);
      k.report.close();
      try {
        reports[k.id] = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        err(
          `child ${k.id}: unreadable report ${JSON.stringify(new TextDecoder().decode(bytes))}`,
        );
      }
      // Its work is done: now it must exit by itself, its cancelled waits notwithstanding.
      doing(t, "wait for the child to exit by itself (its work is done)");
      statuses[k.id] = await k.child.status;
    }));
  }
  flows.push(flow(tasks, "System V from the children", async (t) => {
    const rr = new Rng(seed, PARENT, 10);
    let ends = 0;
    while (ends < K) {
      await attempt(
        t,
        `receive (ends ${ends}/${K})`,
        rr,
        (o) => sysv.receive({ ...o, type: -99 }),
        (m) => {
          try {
            const { kind, sender, seq } = parseMessage(seed, CH.sysvUp, m.data, SYSV_CAP);
            if (sender >= K || m.type !== sender + 1) {
              err(`System V: sender ${sender} with type ${m.type}`);
            } else if (kind === KIND_END) ends++;
            else sysvGot[sender].push(seq);
          } catch (e) {
            err(`System V from children: ${errorText(e)}`);
          }
        },
      );
      await pause(rr);
    }
  }));
  flows.push(flow(tasks, "POSIX to the children", async (t) => {
    const rr = new Rng(seed, PARENT, 11);
    for (let seq = 0; seq < counts.posixDown; seq++) {
      const msg = buildMessage(seed, CH.posixDown, PARENT, seq, POSIX_CAP);
      const priority = rr.int(1, 9);
      const ok = await attempt(
        t,
        `send ${seq}`,
        rr,
        (o) => down.send(msg, { ...o, priority }),
        () => {},
      );
      if (ok) posixSent.push(seq);
      await pause(rr);
    }
    // Priority 0 comes after every data message already in the queue: one end per child.
    for (let i = 0; i < K; i++) {
      doing(t, `send end ${i}`);
      await down.send(buildMessage(seed, CH.posixDown, PARENT, i, POSIX_CAP, KIND_END), {
        priority: 0,
      });
    }
  }));
  flows.push(flow(tasks, "POSIX from the children", async (t) => {
    const rr = new Rng(seed, PARENT, 12);
    let ends = 0;
    while (ends < K) {
      await attempt(t, `receive (ends ${ends}/${K})`, rr, (o) => up.receive(o), (m) => {
        try {
          const { kind, sender, seq } = parseMessage(seed, CH.posixUp, m.data, POSIX_CAP);
          if (sender >= K) err(`POSIX: sender ${sender}`);
          else if (kind === KIND_END) ends++;
          else posixGot[sender].push(seq);
        } catch (e) {
          err(`POSIX from children: ${errorText(e)}`);
        }
      });
      await pause(rr);
    }
  }));

  try {
    await within(Promise.all(flows), `the exchange with ${K} children`, GUARD_MS);
  } catch (e) {
    const children = kids.map((k) =>
      `  child ${k.id} (pid ${k.child.pid}): ${
        statuses[k.id] === undefined ? "not ended" : JSON.stringify(statuses[k.id])
      }, ${
        reports[k.id] === undefined
          ? "no report yet"
          : `report errors ${JSON.stringify(reports[k.id].errors)}`
      }`
    );
    throw new Error(
      `${(e as Error).message} (seed ${SEED}); errors ${JSON.stringify(errors)}\n${
        children.join("\n")
      }\nstuck:\n${describeTasks(tasks)}`,
    );
  }

  // Every child exited by itself, with code 0.
  for (const k of kids) {
    assert.deepEqual(statuses[k.id], { success: true, code: 0, signal: null }, `child ${k.id}`);
  }
  assert.deepEqual(errors, [], `seed ${SEED}`);
  for (const k of kids) {
    const rep = reports[k.id];
    assert.ok(rep !== undefined, `child ${k.id}: no report`);
    const at = `child ${k.id} (seed ${SEED})`;
    assert.deepEqual(rep.errors, [], at);
    assert.equal(rep.pendingAtEnd, 0, `${at}: waits left in the child's engine`);
    // Pipes: every record, in order, nothing more.
    assert.deepEqual(
      rep.pipeIn,
      { records: counts.pipe, partial: 0 },
      `${at}: pipe from the parent`,
    );
    const up = pipeGot[k.id];
    assert.deepEqual(
      { records: up.records, partial: up.partial, error: up.error },
      { records: rep.pipeOutSent, partial: 0, error: undefined },
      `${at}: pipe to the parent`,
    );
    // System V: each type is FIFO and has one receiver: exactly the sent ones, in order.
    assert.deepEqual(rep.sysvIn, sysvSent[k.id], `${at}: System V from the parent`);
    assert.deepEqual(sysvGot[k.id], rep.sysvOutSent, `${at}: System V to the parent`);
    // POSIX up: exactly the sent ones (priorities reorder them).
    assert.deepEqual(
      [...posixGot[k.id]].sort((a, b) => a - b),
      rep.posixOutSent,
      `${at}: POSIX up`,
    );
  }
  // POSIX down: the children compete; together they got each sent message exactly once.
  const got = kids.flatMap((k) => reports[k.id].posixIn).sort((a, b) => a - b);
  assert.deepEqual(got, posixSent, `seed ${SEED}: POSIX down, all children together`);

  assert.equal(fdEngine.pending, before, "waits left in the engine");
  for (const k of kids) {
    assert.ok(k.toChild.writer.closed && k.fromChild.closed && k.report.closed);
  }
  assertReleased(s.targets, kids.map((k) => k.child.pid));
  sysv.remove();
  up.close();
  down.close();
  for (const name of [downName, upName]) PosixMessageQueue.unlink(name);

  const cancelledInChildren = reports.reduce(
    (sum, r) => sum + Object.values(r.cancelled).reduce((a, b) => a + b, 0),
    0,
  );
  return (
    `${K} children; per child ${counts.pipe} records each way, ${counts.sysv} System V down ` +
    `(${sysvSent.map((x) => x.length).join("/")} sent), ${counts.posixUp} POSIX up; ` +
    `${posixSent.length}/${counts.posixDown} POSIX down sent; cancelled: ${cancels} in the parent, ` +
    `${cancelledInChildren} in the children; ${(performance.now() - started0).toFixed(0)} ms`
  );
}
