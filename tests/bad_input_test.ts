/**
 * A systematic bad-input probe of the whole public API (everything `mod.ts`
 * exports): every function, constructor, static and instance method (on a live
 * handle of each class) is called with each argument, and each option key,
 * replaced in turn by every value of a table of hostile inputs
 * (`tests/fixtures/bad_input_cases.ts`: undefined, null, NaN, ±Infinity, -1,
 * -0, 1.5, 2^31, 2^32, 2^53, -(2^63), a bigint, numeric, empty, NUL-holding
 * and 100 000-byte strings, a Symbol, {}, [], a function, a Proxy and getters
 * that throw, views over detached, shared and resizable buffers, a DataView,
 * an Int16Array, a subarray, aborted and fake signals). Each outcome must be
 * a success with the right data (checked byte for byte, never cut short), a
 * TypeError/RangeError naming the parameter, or a system error with `code`,
 * `errno` and `syscall`: never Deno's "Invalid FFI ..." error, an engine
 * error, a hang, or a descriptor or kernel object left behind. The calls are
 * in `tests/fixtures/bad_input_probes.ts`; those that adopt fd numbers, take
 * relative paths, or need signals blocked from the start run in a child
 * (`tests/fixtures/bad_input_child.ts`), where a crash shows as its signal.
 *
 * Then sequences: every member of every handle after `close()`, `close()`
 * inside an abort listener and during the handle's own iteration, closed
 * handles and one fd twice where descriptors are expected, and buffers
 * detached while a send waits.
 *
 * `BAD_INPUT_VERBOSE=1` prints the judgement calls (defensible choices the
 * probe does not fail on); `BAD_INPUT_TRACE=1` every case's outcome.
 *
 * @module
 */
import assert from "node:assert/strict";
import { C } from "../ffi/platform.ts";
import {
  connectSync,
  datagram,
  FdReader,
  Fifo,
  listen,
  MessageQueue,
  notify,
  PosixMessageQueue,
  PosixSemaphore,
  PosixSharedMemory,
  RecordLocks,
  Semaphore,
  SemaphoreSet,
  sendSignal,
  SharedMemory,
  signalNumber,
  socketpair,
  spawn,
  spawnProgram,
  wait,
} from "../mod.ts";
import {
  CANNOT,
  EMULATED,
  EPOLLIN,
  EPOLLOUT,
  fdTarget,
  ownWaitPending,
  readAll,
  TestScope,
  threadsBlockedIn,
  unless,
  until,
  waitedOn,
  within,
} from "./_kernel.ts";
import {
  abstractName,
  describe,
  envFlag,
  type Finding,
  isSystemError,
  report,
  runSpec,
} from "./fixtures/bad_input_cases.ts";
import { concat, drain, IN_CHILD, IN_PROCESS, pairIn } from "./fixtures/bad_input_probes.ts";

/** The hang guard of one case: only a case that hangs waits it out. */
const CASE_MS = EMULATED ? 60_000 : 10_000;
/**
 * The hang guard of a child's whole family: thousands of cases, which take
 * seconds natively and minutes under emulation.
 */
const CHILD_MS = EMULATED ? 20 * 60_000 : 120_000;

const VERBOSE = envFlag("BAD_INPUT_VERBOSE");

/** Fails with every broken promise among `findings` (each case named); prints judgement calls when asked. */
function assertKept(api: string, findings: readonly Finding[]): void {
  const notes = findings.filter((f) => f.kind === "judgement");
  if (VERBOSE && notes.length > 0) console.log(`judgement calls of ${api}:\n${report(notes)}`);
  const fails = findings.filter((f) => f.kind === "fail");
  assert.equal(
    fails.length,
    0,
    `${api}: ${fails.length} case(s) broke the library's promise:\n${report(fails)}`,
  );
}

// ================================================================ the matrix, in this process

const FAMILY_NAMES: Record<string, string> = {
  fd: "pipe ends (FdReader, FdWriter)",
  mq: "message queues (MessageQueue, PosixMessageQueue)",
  shm: "shared memory and futex words",
  sem: "semaphores (SemaphoreSet, Semaphore, PosixSemaphore)",
  socket: "sockets (Connection, Listener, DatagramSocket, ReceivedFds, listen, connect, ...)",
  process: "processes, signals and errors (spawn, ChildProcess, sendSignal, IpcError, ...)",
  lock: "record locks (RecordLocks, RecordLock)",
};

// Defects this probe found, each with a focused test below: `-0` reaching Deno's FFI
// ("Invalid FFI i32/u32 type"); error messages that threw a TypeError of their own for a Symbol
// or a view of a detached buffer; `MessageQueue.open(key, null)` failing in the engine; a NUL in
// spawn's cwd or module reported under another parameter's name; a send whose buffer was
// detached while it waited reporting success. Then the judgement calls it recorded, now
// tested in tests/conventions_test.ts ("one rule for bad arguments everywhere"): integers
// checked by hand that gave a RangeError for a string or bigint, or a TypeError for a number
// out of range; boolean options taken by truthiness; options arguments that were not objects
// taken as none; the constructors of ChildProcess and SignalReader open to user code.
for (const [family, specs] of Object.entries(IN_PROCESS)) {
  Deno.test(`bad input: ${FAMILY_NAMES[family]}`, async (t) => {
    for (const spec of specs()) {
      // A program that cannot start ("5") is refused by posix_spawn only where it sees that.
      const cannot = spec.api === "spawnProgram" ? CANNOT.spawnFailure : undefined;
      await t.step(unless(cannot, spec.api, async () => {
        assertKept(spec.api, await runSpec(spec, { hangMs: CASE_MS }));
      }));
    }
  });
}

// ================================================================ in a child

/** Runs `family` of the probe in a child; its findings by API, and its status. */
async function inChild(s: TestScope, family: string) {
  const dir = await s.tempDir("libc-ipc-bad-child-");
  const out = s.pipe();
  const stdin = s.pipe();
  const child = s.fixture("bad_input_child.ts", {
    args: [family, String(CASE_MS)],
    fds: { 0: stdin.reader, 3: out.writer },
    cwd: dir,
    blockSignals: ["SIGUSR1", "SIGUSR2"],
    // The probes make temporary directories and read /proc, as the test does.
    flags: ["--allow-all"],
  });
  out.writer.close();
  stdin.reader.close();
  const text = await child.check(() => readAll(out.reader, CHILD_MS));
  // A crash (SIGSEGV, SIGABRT) is a signal here, with what the child wrote to stderr.
  await child.exits(0, `family ${family}`);
  const left = [...Deno.readDirSync(dir)].map((e) => e.name);
  assert.deepEqual(left, [], `files left in the child's working directory by family ${family}`);
  return JSON.parse(text) as { api: string; findings: Finding[] }[];
}

const CHILD_NAMES: Record<string, string> = {
  adopt: "constructors that adopt an fd (FdReader, FdWriter, fromFd)",
  path: "paths (Fifo, RecordLocks.open, listen/connect/datagram on a path)",
  signal: "signals (signalfd reads, relaunch, constructors closed to user code)",
};

for (const family of Object.keys(IN_CHILD)) {
  // The child compares its whole descriptor table around each call.
  Deno.test(unless(CANNOT.fdTables, `bad input, in a child: ${CHILD_NAMES[family]}`, async (t) => {
    await using s = new TestScope();
    for (const { api, findings } of await inChild(s, family)) {
      await t.step(api, () => assertKept(api, findings));
    }
  }));
}

Deno.test(unless(
  CANNOT.fdTables,
  "bad input leaves no descriptor, socket or object behind (every in-process family again, in a child that compares its whole descriptor table)",
  async (t) => {
    await using s = new TestScope();
    for (const family of Object.keys(IN_PROCESS)) {
      await t.step(family, async () => {
        const results = await inChild(s, family);
        assert.equal(results.length, IN_PROCESS[family]().length, "every API of the family ran");
        // The other findings are the in-process test's; a probe that could not run is this one's.
        const leaks = results.flatMap(({ findings }) =>
          findings.filter((f) =>
            f.kind === "fail" &&
            /^(descriptors left open|left behind|sockets left bound|the probe itself failed)/.test(
              f.what,
            )
          )
        );
        assert.deepEqual(leaks.map((f) => `${f.api}: ${f.what}`), []);
      });
    }
  },
));

// ================================================================ focused reproductions of the defects

/** `fn`'s outcome as text, for a table of expectations. */
async function outcomeOf(fn: () => unknown): Promise<{ error?: unknown; text: string }> {
  try {
    const v = await fn();
    (v as Partial<Disposable> | undefined)?.[Symbol.dispose]?.();
    return { text: "success" };
  } catch (e) {
    return { error: e, text: describe(e) };
  }
}

Deno.test("-0 is 0: no call passes it on to Deno's FFI ('Invalid FFI i32/u32 type')", async () => {
  await using s = new TestScope();
  const q = s.messageQueue("private");
  q.sendSync("m");
  const pq = s.handle(PosixMessageQueue.open(s.posixName(), { create: true, messageSize: 64 }));
  const set = s.semaphoreSet(SemaphoreSet.open("private", { count: 2 }));
  const shm = s.handle(PosixSharedMemory.anonymous(4096));
  const lockPath = `${await s.tempDir("libc-ipc-bad-")}/lock`;
  const locks = s.handle(RecordLocks.open(lockPath, { create: true }));
  // fromId(-0) looks up id 0, whoever made it: the handles below are only closed, never removed.
  // Number.isInteger(-0) is true and -0 < 0 is false, so range checks let -0 through, and
  // Deno's FFI refuses it for an i32 or u32 parameter (a TypeError that names no parameter).
  // Each call below must act as with 0 (or refuse 0 with a typed error).
  const calls: [string, () => unknown][] = [
    ["MessageQueue.fromId(-0)", () => MessageQueue.fromId(-0)],
    ["SharedMemory.fromId(-0)", () => SharedMemory.fromId(-0)],
    ["SemaphoreSet.fromId(-0)", () => SemaphoreSet.fromId(-0)],
    ["Semaphore.fromId(-0)", () => Semaphore.fromId(-0)],
    ["MessageQueue.receive({ maxSize: -0 })", () => q.tryReceive({ maxSize: -0 })],
    ["PosixMessageQueue.send(data, { priority: -0 })", () => pq.trySend("m", { priority: -0 })],
    [
      "PosixMessageQueue.open(name, { mode: -0 })",
      () => PosixMessageQueue.open(s.posixName(), { create: true, mode: -0 }),
    ],
    [
      "PosixSharedMemory.open(name, { mode: -0 })",
      () => PosixSharedMemory.open(s.shmName(), { create: true, size: 64, mode: -0 }),
    ],
    [
      "PosixSemaphore.open(name, { mode: -0 })",
      () => PosixSemaphore.open(s.semName(), { create: true, mode: -0 }),
    ],
    [
      "PosixSemaphore.open(name, { value: -0 })",
      () => PosixSemaphore.open(s.semName(), { create: true, value: -0 }),
    ],
    ["PosixSemaphore.init(view, -0)", () => PosixSemaphore.init(shm.bytes.subarray(0, 32), -0)],
    ["SemaphoreSet.value(-0)", () => set.value(-0)],
    ["SemaphoreSet.setValue(-0, 1)", () => set.setValue(-0, 1)],
    ["SemaphoreSet.setValue(0, -0)", () => set.setValue(0, -0)],
    ["listen({ backlog: -0 })", () => listen({ abstract: abstractName(), backlog: -0 })],
    [
      "RecordLocks.open(path, { mode: -0 })",
      () => RecordLocks.open(`${lockPath}-made`, { create: true, mode: -0 }),
    ],
    ["RecordLocks.tryLock({ start: -0 })", () => locks.tryLock({ start: -0, length: 1 })],
    ["RecordLocks.lock({ start: -0 })", () => locks.lock({ start: -0, length: 1 })],
    ["RecordLocks.lockSync({ length: -0 })", () => locks.lockSync({ start: 1, length: -0 })],
    ["RecordLocks.holder({ start: -0 })", () => locks.holder({ start: -0, length: 1 })],
    ["spawnProgram(..., { fds: { 3: -0 } })", async () => {
      const child = spawnProgram("/bin/true", [], { fds: { 3: -0 } });
      await child.status;
    }],
  ];
  const leaked: string[] = [];
  for (const [what, call] of calls) {
    const { text } = await outcomeOf(call);
    if (/Invalid FFI/.test(text)) leaked.push(`${what}: ${text}`);
  }
  assert.deepEqual(leaked, [], "calls that passed -0 on to Deno's FFI");
});

Deno.test("an error about a bad value names its parameter, whatever the value (a Symbol, a view of a detached buffer, null options)", async () => {
  await using s = new TestScope();
  const dir = await s.tempDir("libc-ipc-bad-");
  const q = s.messageQueue("private");
  const [a, b] = pairIn(s);
  const shm = s.handle(PosixSharedMemory.anonymous(64));
  const words = new Int32Array(shm.bytes.buffer, 0, 4);
  const locks = s.handle(RecordLocks.open(`${dir}/lock`, { create: true }));
  const symbol = Symbol("hostile");
  const detached = () => {
    const view = new Uint8Array(8);
    view.buffer.transfer();
    return view;
  };
  const any = (x: unknown) => x as never;
  // A message built with String(value) or a template literal throws a TypeError of its own for
  // a Symbol, or a typed array over a detached buffer ("Cannot convert a Symbol value to a
  // string"), in place of the check's, which names the parameter.
  const calls: [string, RegExp, () => unknown][] = [
    ["MessageQueue.open(detached)", /\bkey\b/, () => MessageQueue.open(any(detached()))],
    ["MessageQueue.fromId(detached)", /\bid\b/, () => MessageQueue.fromId(any(detached()))],
    ["MessageQueue.ftok(dir, Symbol)", /\bprojId\b/, () => MessageQueue.ftok(dir, any(symbol))],
    [
      "MessageQueue.ftok(dir, detached)",
      /\bprojId\b/,
      () => MessageQueue.ftok(dir, any(detached())),
    ],
    ["receive({ maxSize: Symbol })", /\bmaxSize\b/, () => q.tryReceive({ maxSize: any(symbol) })],
    [
      "receive({ maxSize: detached })",
      /\bmaxSize\b/,
      () => q.tryReceive({ maxSize: any(detached()) }),
    ],
    ["new FdReader(Symbol)", /\bfd\b/, () => new FdReader(any(symbol))],
    ["SharedMemory.read(detached)", /\boffset\b/, () => shm.read(any(detached()))],
    ["wait(view, detached, 0)", /\bindex\b/, () => wait(words, any(detached()), 0)],
    ["notify(view, 0, detached)", /\bcount\b/, () => notify(words, 0, any(detached()))],
    ["signalNumber(detached)", /\bsignal\b/, () => signalNumber(any(detached()))],
    ["Fifo.tryOpen(path, detached)", /\bdirection\b/, () => Fifo.tryOpen(dir, any(detached()))],
    ["shutdown(detached)", /\bhow\b|\bshutdown\b/, () => a.shutdown(any(detached()))],
    ["receiveFds({ max: detached })", /\bmax\b/, () => b.tryReceiveFds({ max: any(detached()) })],
    [
      "listen({ allowUids: Symbol })",
      /\ballowUids\b/,
      () => listen({ abstract: abstractName(), allowUids: any(symbol) }),
    ],
    ["socketpair(detached)", /\btype\b/, () => socketpair(any(detached()))],
    [
      "PosixMessageQueue.open(name, { access: detached })",
      /\baccess\b/,
      () => PosixMessageQueue.open(s.posixName(), { access: any(detached()) }),
    ],
    ["tryLock({ start: Symbol })", /\bstart\b/, () => locks.tryLock({ start: any(symbol) })],
    ["lock({ length: detached })", /\blength\b/, () => locks.lock({ length: any(detached()) })],
    ["holder({ shared: Symbol })", /\bshared\b/, () => locks.holder({ shared: any(symbol) })],
    [
      "RecordLocks.open(path, { access: Symbol })",
      /\baccess\b/,
      () => RecordLocks.open(`${dir}/lock`, { access: any(symbol) }),
    ],
    ["RecordLocks.open(detached)", /\bpath\b/, () => RecordLocks.open(any(detached()))],
    // Every open checks that options is an object before reading it.
    ["MessageQueue.open(key, null)", /\boptions\b/, () => MessageQueue.open("private", any(null))],
    [
      "RecordLocks.open(path, null)",
      /\boptions\b/,
      () => RecordLocks.open(`${dir}/lock`, any(null)),
    ],
    // An empty array would pass for no options.
    ["RecordLocks.open(path, [])", /\boptions\b/, () => RecordLocks.open(`${dir}/lock`, any([]))],
  ];
  const unnamed: string[] = [];
  for (const [what, names, call] of calls) {
    const { error, text } = await outcomeOf(call);
    const typed = error instanceof TypeError || error instanceof RangeError;
    if (!typed || !names.test((error as Error).message)) unnamed.push(`${what}: ${text}`);
  }
  assert.deepEqual(unnamed, [], "errors that do not name the parameter they are about");
});

Deno.test("a NUL in spawn's cwd or module is refused naming cwd or module, not another parameter", async () => {
  await using s = new TestScope();
  const dir = await s.tempDir("libc-ipc-bad-");
  // The error names the parameter the caller gave (once "path" for cwd, "argument" for the
  // module, which spawn() puts among the arguments of `deno run`).
  assert.throws(
    () => spawnProgram("/bin/true", [], { cwd: `${dir}\0x` }),
    (e: Error) => e instanceof TypeError && /\bcwd\b/.test(e.message),
  );
  assert.throws(
    () => spawn(`${dir}/m\0.ts`),
    (e: Error) => e instanceof TypeError && /\bmodule\b/.test(e.message),
  );
});

// ================================================================ buffers detached while a send waits

/** A send that waits for room, its buffer detached meanwhile. */
interface DetachCase {
  name: string;
  /** Fills the channel, starts the send of `data`, waits until it waits in the kernel. */
  start(s: TestScope, data: Uint8Array): Promise<{
    sent: Promise<unknown>;
    /** Makes room, then everything that arrives after the filler, once the send settled. */
    drain(): Promise<Uint8Array[]>;
  }>;
  /** A stream: what arrived is bytes, counted by `bytesWritten` on a failure. */
  stream: boolean;
}

/** Calls `put` until it throws (the channel is full); what it returned, summed. */
function fill(put: () => number): number {
  let filled = 0;
  for (;;) {
    try {
      filled += put();
    } catch {
      break;
    }
  }
  return filled;
}

/** What `take` returns until it throws WouldBlock, or until (and with) a null. */
function takeAll<T>(take: () => T): T[] {
  const out: T[] = [];
  for (;;) {
    try {
      const v = take();
      out.push(v);
      if (v === null) return out;
    } catch (e) {
      if (e instanceof Deno.errors.WouldBlock) return out;
      throw e;
    }
  }
}

/** Whether `p` has settled (one turn of the microtask queue, a barrier, not a sleep). */
async function settledNow(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(() => settled = true, () => settled = true);
  await Promise.resolve();
  await Promise.resolve();
  return settled;
}

/**
 * Reads from `read` until `filled` bytes have come and `sent` has settled,
 * then what is left; returns what came after the first `filled` bytes.
 */
async function readPast(
  read: (b: Uint8Array) => number | null,
  filled: number,
  sent: Promise<unknown>,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  while (total < filled || !(await settledNow(sent))) {
    const got = drain(read);
    parts.push(got);
    total += got.length;
    // A turn of the event loop lets the pending write go on: a barrier, not a sleep.
    if (got.length === 0) await new Promise((r) => setTimeout(r, 1));
  }
  parts.push(drain(read));
  return concat(parts).subarray(filled);
}

/** A stream between the two ends `ends` makes, filled: the write of `data` waits for room. */
function streamCase(
  name: string,
  ends: (s: TestScope) => [
    { fd: number; tryWrite(d: Uint8Array): number; write(d: Uint8Array): Promise<number> },
    { tryRead(b: Uint8Array): number | null },
  ],
): DetachCase {
  return {
    name,
    stream: true,
    async start(s, data) {
      const [writer, reader] = ends(s);
      const filled = fill(() => writer.tryWrite(new Uint8Array(65536)));
      const sent = writer.write(data);
      await waitedOn(writer.fd, EPOLLOUT);
      return { sent, drain: async () => [await readPast((b) => reader.tryRead(b), filled, sent)] };
    },
  };
}

/**
 * The drain of a channel of messages: `makeRoom`, then, once `sent` has
 * settled, every message that arrived (the end of a stream, null, as one of
 * no bytes: a message of no bytes reads as the end of the stream).
 */
function messagesAfter(
  makeRoom: () => void,
  sent: Promise<unknown>,
  take: () => Uint8Array | null,
): () => Promise<Uint8Array[]> {
  return async () => {
    makeRoom();
    await within(sent.catch(() => {}), "the send to settle");
    return takeAll(take).map((m) => m ?? new Uint8Array(0));
  };
}

const DETACH_CASES: DetachCase[] = [
  streamCase("FdWriter.write", (s) => {
    const p = s.pipe();
    return [p.writer, p.reader];
  }),
  streamCase("Connection.write (stream)", (s) => pairIn(s, "stream")),
  {
    name: "Connection.send (seqpacket)",
    stream: false,
    async start(s, data) {
      const [a, b] = pairIn(s, "seqpacket");
      const filled = fill(() => {
        a.trySend(new Uint8Array(1000));
        return 1;
      });
      const sent = a.send(data);
      await waitedOn(a.fd, EPOLLOUT);
      const makeRoom = () => {
        for (let i = 0; i < filled; i++) b.tryReceive();
      };
      return { sent, drain: messagesAfter(makeRoom, sent, () => b.tryReceive()) };
    },
  },
  {
    name: "PosixMessageQueue.send",
    stream: false,
    async start(s, data) {
      const q = s.handle(
        PosixMessageQueue.open(s.posixName(), {
          create: true,
          exclusive: true,
          maxMessages: 1,
          messageSize: 1024,
        }),
      );
      q.trySend("filler");
      const sent = q.send(data);
      await waitedOn(q.fd, EPOLLOUT);
      return { sent, drain: messagesAfter(() => q.tryReceive(), sent, () => q.tryReceive().data) };
    },
  },
  {
    name: "DatagramSocket.sendTo",
    stream: false,
    async start(s, data) {
      const x = s.handle(datagram({ abstract: abstractName() }));
      const y = s.handle(datagram({ abstract: abstractName() }));
      const filled = fill(() => {
        x.trySendTo(new Uint8Array(1000), y.addr as never);
        return 1;
      });
      const sent = x.sendTo(data, y.addr as never);
      // A Unix datagram waits for room in the receiver's queue: the sender's fd is polled.
      await until(
        () => threadsBlockedIn(Deno.pid, { syscall: "epoll_wait" }).length > 0,
        "the send to wait in epoll_wait",
      );
      const makeRoom = () => {
        for (let i = 0; i < filled; i++) y.tryReceiveFrom();
      };
      return { sent, drain: messagesAfter(makeRoom, sent, () => y.tryReceiveFrom().data) };
    },
  },
  {
    name: "MessageQueue.send (copies the data first)",
    stream: false,
    async start(s, data) {
      const q = s.messageQueue("private");
      q.setMaxBytes(2048);
      q.trySend(new Uint8Array(2048 - 8));
      const sent = q.send(data);
      await ownWaitPending({ syscall: "msgsnd", arg0: q.id });
      return { sent, drain: messagesAfter(() => q.tryReceive(), sent, () => q.tryReceive().data) };
    },
  },
];

Deno.test("a send whose buffer is detached while it waits fails, or delivers the data whole: never a short or empty message reported as sent", async (t) => {
  for (const c of DETACH_CASES) {
    await t.step(c.name, async () => {
      await using s = new TestScope();
      const data = new Uint8Array(100).fill(0x5a);
      const { sent, drain } = await c.start(s, data);
      data.buffer.transfer();
      const arrived = await within(drain(), `${c.name}: what arrives`);
      const outcome = await within(
        sent.then((v) => ({ ok: true as const, v }), (e) => ({ ok: false as const, e })),
        `${c.name} to settle`,
      );
      const want = new Uint8Array(100).fill(0x5a);
      const sizes = arrived.map((m) => m.length);
      // The async forms read the caller's view again at every try: once detached it reads as
      // 0 bytes, and write() once resolved with 0 for 100 bytes, send()/sendTo() delivered an
      // empty message (on seqpacket the peer read it as the end of the stream) and resolved.
      if (outcome.ok) {
        if (c.stream) {
          assert.equal(outcome.v, 100, `${c.name} resolved with ${outcome.v} for 100 bytes`);
          assert.deepEqual(arrived[0], want, `${c.name}: the bytes that arrived`);
        } else {
          assert.deepEqual(sizes, [100], `${c.name} resolved; messages that arrived: ${sizes}`);
          assert.deepEqual(arrived[0], want);
        }
      } else {
        assert.ok(
          outcome.e instanceof TypeError || isSystemError(outcome.e),
          `${c.name}: ${describe(outcome.e)}`,
        );
        if (c.stream) {
          const written = (outcome.e as { bytesWritten?: number }).bytesWritten ?? 0;
          assert.equal(
            arrived[0].length,
            written,
            `${c.name}: bytesWritten must count what arrived`,
          );
        } else {
          assert.deepEqual(sizes, [], `${c.name} failed, yet messages arrived: ${sizes}`);
        }
      }
    });
  }
});

// ================================================================ every member after close()

/** A closed handle, and arguments for its members (others are called with none). */
interface Closed {
  name: string;
  make(s: TestScope): Promise<object> | object;
  args?: Record<string, unknown[]>;
}

const buf = () => new Uint8Array(64);
const streamArgs = {
  read: [buf()],
  readSync: [buf()],
  tryRead: [buf()],
  write: ["x"],
  writeSync: ["x"],
  tryWrite: ["x"],
};
const messageArgs = {
  send: ["x"],
  sendSync: ["x"],
  trySend: ["x"],
  receiveInto: [buf()],
  receiveIntoSync: [buf()],
  tryReceiveInto: [buf()],
};
const oneOp = [[{ index: 0, delta: 1 }]];
const connectionArgs = {
  peek: [buf()],
  peekSync: [buf()],
  tryPeek: [buf()],
  setBufferSizes: [{ send: 4096 }],
  sendFds: [[0]],
  sendFdsSync: [[0]],
  trySendFds: [[0]],
  shutdown: ["readwrite"],
};

const CLOSED: Closed[] = [
  { name: "FdReader", make: (s) => s.pipe().reader, args: streamArgs },
  { name: "FdWriter", make: (s) => s.pipe().writer, args: streamArgs },
  {
    name: "MessageQueue",
    make: (s) => s.messageQueue("private"),
    args: { ...messageArgs, setMaxBytes: [4096] },
  },
  {
    name: "PosixMessageQueue",
    make: (s) => s.handle(PosixMessageQueue.open(s.posixName(), { create: true, messageSize: 64 })),
    args: messageArgs,
  },
  {
    name: "SharedMemory",
    make: (s) => s.segment(SharedMemory.open("private", { size: 4096 })),
    args: { readInto: [buf()], setOwnership: [{ mode: 0o600 }] },
  },
  {
    name: "PosixSharedMemory",
    make: (s) => s.handle(PosixSharedMemory.anonymous(4096)),
    args: { readInto: [buf()], resize: [8192] },
  },
  {
    name: "SemaphoreSet",
    make: (s) => s.semaphoreSet(SemaphoreSet.open("private", { count: 2 })),
    args: {
      op: oneOp,
      opSync: oneOp,
      tryOp: oneOp,
      value: [0],
      setValue: [0, 1],
      setValues: [[1, 1]],
      waitingForIncrease: [0],
      waitingForZero: [0],
      pid: [0],
    },
  },
  {
    name: "Semaphore",
    make: (s) => {
      const sem = Semaphore.open("private");
      s.semaphoreSet(sem.set);
      return sem;
    },
  },
  {
    name: "PosixSemaphore (named)",
    make: (s) => s.handle(PosixSemaphore.open(s.semName(), { create: true })),
  },
  {
    name: "PosixSemaphore (unnamed)",
    make: (s) =>
      s.handle(
        PosixSemaphore.init(s.handle(PosixSharedMemory.anonymous(64)).bytes.subarray(0, 32), 0),
      ),
  },
  {
    name: "Connection (stream)",
    make: (s) => {
      return pairIn(s, "stream")[0];
    },
    args: { ...streamArgs, ...connectionArgs },
  },
  {
    name: "Connection (seqpacket)",
    make: (s) => {
      return pairIn(s, "seqpacket")[0];
    },
    args: { ...messageArgs, ...connectionArgs },
  },
  {
    name: "Listener",
    make: (s) => s.handle(listen({ abstract: abstractName() })),
    args: { setBufferSizes: [{ send: 4096 }] },
  },
  {
    name: "DatagramSocket",
    make: (s) => s.handle(datagram({ abstract: abstractName() })),
    args: {
      sendTo: ["x", { abstract: "nobody" }],
      sendToSync: ["x", { abstract: "nobody" }],
      trySendTo: ["x", { abstract: "nobody" }],
      receiveFromInto: [buf()],
      receiveFromIntoSync: [buf()],
      tryReceiveFromInto: [buf()],
      peekFrom: [buf()],
      peekFromSync: [buf()],
      tryPeekFrom: [buf()],
      setBufferSizes: [{ send: 4096 }],
      setMulticastTtl: [1],
    },
  },
  {
    name: "ReceivedFds",
    make: (s) => {
      const [a, b] = pairIn(s);
      const p = s.pipe();
      a.sendFdsSync([p.reader, p.writer]);
      return s.handle(b.tryReceiveFds()!);
    },
    args: {
      take: [0],
      adopt: [0, (fd: number) => fd],
      reader: [0],
      writer: [1],
      connection: [0],
      listener: [0],
    },
  },
  {
    name: "RecordLocks",
    make: async (s) => {
      const path = `${await s.tempDir("libc-ipc-bad-")}/lock`;
      const locks = s.handle(RecordLocks.open(path, { create: true }));
      locks.tryLock({ start: 0, length: 1 }); // released by close()
      return locks;
    },
  },
];

/**
 * Members that may still work after `close()`: closing again, the flags, and
 * what the handle knew (its name, address, size, type); the streams (which
 * fail when read), an iteration (which ends at once), a detached view, the
 * locks a `RecordLocks` holds (none: its close released them).
 */
const AFTER_CLOSE_OK = new Set([
  "close",
  "closed",
  "ref",
  "unref",
  "detach",
  "name",
  "messageSize",
  "access",
  "size",
  "addr",
  "type",
  "remoteAddr",
  "readable",
  "writable",
  "fds",
  "bytes",
  "messages",
  "held",
  "Symbol(Symbol.dispose)",
  "Symbol(Symbol.asyncIterator)",
]);

/**
 * Members TypeScript declares `protected` (FdHandle's), which JavaScript can
 * reach but no caller of the API is meant to: not probed after close().
 */
const PROTECTED = new Set(["what", "describe", "subject", "fdFor", "blockingFd"]);

/** Every public member of `o`'s class chain (not Object's): name and descriptor. */
function members(o: object): [string | symbol, PropertyDescriptor][] {
  const found = new Map<string | symbol, PropertyDescriptor>();
  for (
    let p = Object.getPrototypeOf(o);
    p !== null && p !== Object.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    for (const key of Reflect.ownKeys(p)) {
      if (key === "constructor" || PROTECTED.has(String(key)) || found.has(key)) continue;
      found.set(key, Object.getOwnPropertyDescriptor(p, key)!);
    }
  }
  return [...found];
}

Deno.test("after close(), every member of every handle works as before or throws BadResource (EBADF) with its code, errno and syscall", async (t) => {
  for (const c of CLOSED) {
    await t.step(c.name, async () => {
      await using s = new TestScope();
      const h = await c.make(s) as Record<string | symbol, unknown> & { close(): void };
      h.close();
      const wrong: string[] = [];
      for (const [key, d] of members(h)) {
        const name = String(key);
        let outcome: { ok: true; v: unknown } | { ok: false; e: unknown };
        try {
          let v = d.get !== undefined
            ? d.get.call(h)
            : (d.value as (...a: unknown[]) => unknown).apply(h, c.args?.[name] ?? []);
          if (v instanceof Promise) v = await within(v, `${c.name}.${name} after close()`);
          if (
            v !== null && typeof v === "object" &&
            typeof (v as AsyncIterator<unknown>).next === "function"
          ) {
            v = await within(
              (v as AsyncIterator<unknown>).next(),
              `${c.name}.${name}().next() after close()`,
            );
          }
          outcome = { ok: true, v };
        } catch (e) {
          outcome = { ok: false, e };
        }
        if (outcome.ok) {
          // A segment is removed or changed by id after its detach, as C's shmctl after shmdt.
          const byId = (name === "remove" || name === "setOwnership") && c.name === "SharedMemory";
          if (!AFTER_CLOSE_OK.has(name) && !byId) wrong.push(`${name}: worked after close()`);
          continue;
        }
        const e = outcome.e;
        const badResource = e instanceof Deno.errors.BadResource && isSystemError(e) &&
          (e as { code?: string }).code === "EBADF";
        // A named semaphore has nothing to destroy(): a TypeError that says so, closed or not.
        const named = name === "destroy" && c.name === "PosixSemaphore (named)" &&
          e instanceof TypeError;
        // A stream connection refuses the message forms, closed or not (and Unix ones, TCP options).
        const kindOf = e instanceof TypeError &&
          /is for seqpacket|applies to TCP|stream connection/.test((e as Error).message);
        if (!badResource && !named && !kindOf) wrong.push(`${name}: ${describe(e)}`);
      }
      assert.deepEqual(wrong, [], `${c.name} after close()`);
    });
  }
  await t.step("ChildProcess, once ended and reaped", async () => {
    await using s = new TestScope();
    const child = s.child(spawnProgram("/bin/true"));
    await child.status;
    child.unref();
    child.ref();
    assert.throws(
      () => child.kill(),
      (e: Error) => e instanceof TypeError && /already ended/.test(e.message),
    );
    assert.throws(
      () => sendSignal(child, "SIGTERM"),
      (e: Error) => e instanceof Deno.errors.NotFound && isSystemError(e),
    );
  });
});

// ================================================================ close() in an abort listener

/** A wait that can be left pending on a handle, and how to see it pending in the kernel. */
interface PendingWait {
  name: string;
  make(s: TestScope): PendingParts | Promise<PendingParts>;
}

/** The handle of a wait, how to start the wait, and how to see it pending. */
interface PendingParts {
  handle: { close(): void; closed: boolean };
  start(signal: AbortSignal): Promise<unknown>;
  pending(): Promise<unknown>;
}

/** A wait on `handle` that `start` starts: pending once `handle`'s fd is polled for input. */
function onInput(
  handle: { fd: number; close(): void; closed: boolean },
  start: (signal: AbortSignal) => Promise<unknown>,
) {
  return { handle, start, pending: () => waitedOn(handle.fd, EPOLLIN) };
}

const PENDING: PendingWait[] = [
  {
    name: "FdReader.read",
    make: (s) => {
      const p = s.pipe();
      return onInput(p.reader, (signal) => p.reader.read(new Uint8Array(8), { signal }));
    },
  },
  {
    name: "FdWriter.write (pipe full)",
    make: (s) => {
      const p = s.pipe();
      fill(() => p.writer.tryWrite(new Uint8Array(65536)));
      return {
        handle: p.writer,
        start: (signal) => p.writer.write(new Uint8Array(100), { signal }),
        pending: () => waitedOn(p.writer.fd, EPOLLOUT),
      };
    },
  },
  {
    name: "MessageQueue.receive",
    make: (s) => {
      const q = s.messageQueue("private");
      return {
        handle: q,
        start: (signal) => q.receive({ signal }),
        pending: () => ownWaitPending({ syscall: "msgrcv", arg0: q.id }),
      };
    },
  },
  {
    name: "PosixMessageQueue.receive",
    make: (s) => {
      const q = s.handle(PosixMessageQueue.open(s.posixName(), { create: true, messageSize: 64 }));
      return onInput(q, (signal) => q.receive({ signal }));
    },
  },
  {
    name: "Connection.read",
    make: (s) => {
      const [a] = pairIn(s);
      return onInput(a, (signal) => a.read(new Uint8Array(8), { signal }));
    },
  },
  {
    name: "Listener.accept",
    make: (s) => {
      const l = s.handle(listen({ abstract: abstractName() }));
      return onInput(l, (signal) => l.accept({ signal }));
    },
  },
  {
    name: "DatagramSocket.receiveFrom",
    make: (s) => {
      const d = s.handle(datagram({ abstract: abstractName() }));
      return onInput(d, (signal) => d.receiveFrom({ signal }));
    },
  },
  {
    name: "DatagramSocket.receiveFromInto",
    make: (s) => {
      const d = s.handle(datagram({ abstract: abstractName() }));
      return onInput(d, (signal) => d.receiveFromInto(new Uint8Array(8), { signal }));
    },
  },
  {
    name: "SemaphoreSet.op",
    make: (s) => {
      const set = s.semaphoreSet(SemaphoreSet.open("private", { count: 1 }));
      return {
        handle: set,
        start: (signal) => set.op([{ index: 0, delta: -1 }], { signal }),
        pending: () => ownWaitPending({ syscall: "semtimedop", arg0: set.id }),
      };
    },
  },
  {
    name: "PosixSemaphore.wait (named)",
    make: (s) => {
      const sem = s.handle(PosixSemaphore.open(s.semName(), { create: true, value: 0 }));
      return {
        handle: sem,
        start: (signal) => sem.wait({ signal }),
        // Parked among the futex words of the process: nothing of its own to see in /proc.
        pending: () => Promise.resolve(),
      };
    },
  },
  {
    name: "RecordLocks.lock (another open holds the lock)",
    make: async (s) => {
      const path = `${await s.tempDir("libc-ipc-bad-")}/lock`;
      const locks = s.handle(RecordLocks.open(path, { create: true }));
      s.handle(RecordLocks.open(path)).tryLock();
      return {
        handle: locks,
        start: (signal) => locks.lock({ signal }),
        pending: () =>
          ownWaitPending({ syscall: "fcntl", arg0: locks.fd, args: { 1: C.F_OFD_SETLKW } }),
      };
    },
  },
  {
    name: "wait (a futex word; the shared memory closes)",
    make: (s) => {
      const shm = s.handle(PosixSharedMemory.anonymous(64));
      const words = new Int32Array(shm.bytes.buffer, 0, 1);
      return {
        handle: shm,
        start: (signal) => wait(words, 0, 0, { signal }),
        pending: () => Promise.resolve(),
      };
    },
  },
];

Deno.test("close() inside an abort listener: the wait settles with the reason or BadResource, and nothing is left behind", async (t) => {
  for (const w of PENDING) {
    for (const order of ["before", "after"] as const) {
      await t.step(`${w.name} (listener added ${order} the wait's own)`, async () => {
        await using s = new TestScope();
        const { handle, start, pending } = await w.make(s);
        const ac = new AbortController();
        const reason = new Error("aborted by the test");
        const closeIt = () => handle.close();
        if (order === "before") ac.signal.addEventListener("abort", closeIt);
        const p = start(ac.signal);
        if (order === "after") ac.signal.addEventListener("abort", closeIt);
        await pending();
        ac.abort(reason);
        const e = await within(
          p.then(() => undefined, (e) => e),
          `${w.name} to settle after abort`,
        );
        assert.ok(e !== undefined, `${w.name} resolved although it was aborted`);
        const ok = e === reason || (e instanceof Deno.errors.BadResource && isSystemError(e)) ||
          (e instanceof Deno.errors.Interrupted && (e as Error).cause === reason);
        assert.ok(ok, `${w.name}: ${describe(e)}`);
        assert.equal(handle.closed, true);
      });
    }
  }
});

// ================================================================ close() during the handle's own iteration

/** A handle that iterates, and how to feed it one item. */
interface Iterated {
  name: string;
  make(s: TestScope): {
    handle: AsyncIterable<unknown> & { close(): void; closed: boolean };
    feed(): void;
    pending(): Promise<unknown>;
  };
}

const ITERATED: Iterated[] = [
  {
    name: "FdReader",
    make: (s) => {
      const p = s.pipe();
      return {
        handle: p.reader,
        feed: () => void p.writer.writeSync("x"),
        pending: () => waitedOn(p.reader.fd, EPOLLIN),
      };
    },
  },
  {
    name: "MessageQueue",
    make: (s) => {
      const q = s.messageQueue("private");
      return {
        handle: q,
        feed: () => {
          using other = MessageQueue.fromId(q.id);
          other.sendSync("x");
        },
        pending: () => ownWaitPending({ syscall: "msgrcv", arg0: q.id }),
      };
    },
  },
  {
    name: "PosixMessageQueue",
    make: (s) => {
      const name = s.posixName();
      const q = s.handle(PosixMessageQueue.open(name, { create: true, messageSize: 64 }));
      return {
        handle: q,
        feed: () => {
          using other = PosixMessageQueue.open(name, { access: "write" });
          other.sendSync("x");
        },
        pending: () => waitedOn(q.fd, EPOLLIN),
      };
    },
  },
  {
    name: "Connection",
    make: (s) => {
      const [a, b] = pairIn(s);
      return {
        handle: a,
        feed: () => void b.writeSync("x"),
        pending: () => waitedOn(a.fd, EPOLLIN),
      };
    },
  },
  {
    name: "Listener",
    make: (s) => {
      const name = abstractName();
      const l = s.handle(listen({ abstract: name }));
      return {
        handle: l,
        feed: () => void s.handle(connectSync({ abstract: name })),
        pending: () => waitedOn(l.fd, EPOLLIN),
      };
    },
  },
  {
    name: "DatagramSocket",
    make: (s) => {
      const d = s.handle(datagram({ abstract: abstractName() }));
      const other = s.handle(datagram());
      return {
        handle: d,
        feed: () => other.sendToSync("x", d.addr as never),
        pending: () => waitedOn(d.fd, EPOLLIN),
      };
    },
  },
];

Deno.test("close() while the handle's own iteration waits, or from inside its loop: the iteration ends or rejects with BadResource", async (t) => {
  for (const it of ITERATED) {
    await t.step(`${it.name}: close() while next() waits`, async () => {
      await using s = new TestScope();
      const { handle, pending } = it.make(s);
      const iterator = handle[Symbol.asyncIterator]();
      const next = iterator.next();
      await pending();
      handle.close();
      const r = await within(next.then((r) => r, (e) => e), `${it.name}: next() after close()`);
      assert.ok(
        (r as IteratorResult<unknown>).done === true ||
          (r instanceof Deno.errors.BadResource && isSystemError(r)),
        `${it.name}: ${r instanceof Error ? describe(r) : JSON.stringify(r)}`,
      );
      await iterator.return?.(undefined);
    });
    await t.step(`${it.name}: close() inside the loop`, async () => {
      await using s = new TestScope();
      const { handle, feed } = it.make(s);
      feed();
      let items = 0;
      const loop = (async () => {
        for await (const _ of handle) {
          items++;
          handle.close();
        }
      })();
      const e = await within(loop.then(() => undefined, (e) => e), `${it.name}: the loop to end`);
      assert.ok(
        e === undefined || (e instanceof Deno.errors.BadResource && isSystemError(e)),
        `${it.name}: ${describe(e)}`,
      );
      assert.equal(items, 1);
    });
  }
});

// ================================================================ closed handles and one fd twice, where fds are expected

Deno.test("a closed handle where a descriptor is expected is refused with a typed error, and nothing is sent or started", async () => {
  await using s = new TestScope();
  const p = s.pipe();
  p.reader.close();
  assert.throws(
    () => spawnProgram("/bin/true", [], { fds: { 3: p.reader } }),
    (e: Error) =>
      e instanceof Deno.errors.BadResource && isSystemError(e) &&
      (e as { syscall?: string }).syscall === "posix_spawn" && /fds\[3\]/.test(e.message),
  );
  const [a, b] = pairIn(s);
  for (
    const send of [
      () => a.trySendFds([p.reader]),
      () => a.sendFdsSync([p.reader]),
      () => a.sendFds([p.reader]),
    ]
  ) {
    await assert.rejects(
      async () => await send(),
      (e: Error) =>
        e instanceof Deno.errors.BadResource && isSystemError(e) &&
        (e as { syscall?: string }).syscall === "sendmsg" &&
        /fds\[0\] is a closed handle/.test(e.message),
    );
  }
  assert.throws(() => b.tryReceiveFds(), Deno.errors.WouldBlock, "nothing was sent");
  const shm = PosixSharedMemory.anonymous(64);
  const view = shm.bytes.subarray(0, 32);
  const words = new Int32Array(shm.bytes.buffer, 0, 1);
  shm.close();
  assert.throws(() => PosixSemaphore.init(view, 1), TypeError);
  await assert.rejects(wait(words, 0, 0), TypeError);
  assert.throws(() => notify(words, 0), TypeError);
});

Deno.test("one descriptor given twice: spawn hands the child two copies, sendFds sends two, each of the same pipe", async () => {
  await using s = new TestScope();
  const p = s.pipe();
  const out = s.pipe();
  const child = s.child(
    spawnProgram("/bin/sh", ["-c", "readlink /proc/$$/fd/3 /proc/$$/fd/4"], {
      fds: { 1: out.writer, 3: p.reader, 4: p.reader },
    }),
  );
  out.writer.close();
  const lines = (await readAll(out.reader)).trim().split("\n");
  assert.equal((await child.status).code, 0);
  const target = fdTarget(p.reader.fd);
  assert.deepEqual(lines, [target, target]);
  const [a, b] = pairIn(s);
  a.sendFdsSync([p.writer, p.writer], "x");
  using got = b.tryReceiveFds()!;
  assert.equal(got.fds.length, 2);
  assert.notEqual(got.fds[0], got.fds[1]);
  assert.deepEqual(got.fds.map(fdTarget), [fdTarget(p.writer.fd), fdTarget(p.writer.fd)]);
});
