/**
 * The Deno receivers of bench/compare/lag.ts (descriptors and control page:
 * lag_common.ts):
 *
 *   lag_child.ts FORM MECH ROW [ARGS...]
 *
 * FORM: `sync` or `async` (this library's two forms), `deno` (Deno's own
 * API), `raw` (a blocking libc `read` through `Deno.dlopen`: pipe only) or
 * `parked` (the same `read` as a `nonblocking` FFI call: pipe only).
 * MECH and ARGS:
 *
 *   pipe                 fd 5 is the read end (deno: `Deno.open("/dev/fd/5")`)
 *   fifo PATH DIR        the FIFO at PATH; DIR for the many waits' FIFOs
 *   sysvq ID             System V queue ID, any type (many: types 1..100)
 *   posixq NAME PREFIX   POSIX queue NAME (many: queues PREFIX0.., unlinked at once)
 *   futex                the row's futex word of the page
 *   sysvsem ID           member 0 of System V set ID (many: members 1..100)
 *   posixsem OFFSET      the `sem_t` at OFFSET of the page
 *   unix | dgram | tcp   fd 5 is a connected socket (stream, datagram, TCP)
 *   unix PATH | tcp PORT (deno) `Deno.connect` to lag.ts's listener
 *   signal               SIGRTMIN+1 (blocked from the start); deno: SIGUSR2 by a listener
 *
 * It acks "ready", then waits for one message at a time: when a wait
 * returns it reads `CLOCK_MONOTONIC` and the command word, and acks that time
 * (SAMPLE) or, in the async and deno forms, starts WAITS waits on objects of
 * its own that nothing will reach and acks "ready" (MANY). lag.ts ends it.
 *
 * @module
 */
import {
  Connection,
  connectSync,
  FdReader,
  FdWriter,
  Fifo,
  listen,
  MessageQueue,
  type NetAddress,
  pipe,
  PosixMessageQueue,
  PosixSemaphore,
  PosixSharedMemory,
  SemaphoreSet,
  signals,
  socketpair,
  wait,
  waitSync,
} from "../../mod.ts";
import { makeBlocking, monotonicNs, rawLibc, rawReadFull } from "./common.ts";
import {
  ACK_SIZE,
  COMMAND,
  FUTEX_BASE,
  LISTENED,
  MANY,
  PAGE_SIZE,
  SEM_SIZE,
  SIGNAL,
  WAITS,
} from "./lag_common.ts";

const [form, mech, rowArg, ...args] = Deno.args;
const row = Number(rowArg);
const page = PosixSharedMemory.fromFd(3);
const words = new Int32Array(page.bytes.buffer, 0, PAGE_SIZE / 4);
const acks = new FdWriter(4);
const record = new BigInt64Array(ACK_SIZE / 8);
const recordBytes = new Uint8Array(record.buffer);
const buf = new Uint8Array(64);
const byte = new Uint8Array(1);
/** What the many waits use: kept referenced while they are pending. */
const kept: unknown[] = [];

function ack(ns: number): void {
  record[0] = BigInt(row);
  record[1] = BigInt(ns);
  acks.writeSync(recordBytes);
}

/** A wait that must never end: nothing is sent to it. */
function pending(wait: Promise<unknown>): void {
  kept.push(wait);
  wait.then(
    () => fail("a wait of the many waits ended: something arrived"),
    (e) => fail(`a wait of the many waits failed: ${e?.stack ?? e}`),
  );
}

function fail(message: string): never {
  console.error(`lag_child.ts ${Deno.args.join(" ")}: ${message}`);
  Deno.exit(1);
}

/** Runs `make` `WAITS` times, one after the other. */
async function times(make: (i: number) => unknown): Promise<void> {
  for (let i = 0; i < WAITS; i++) await make(i);
}

// ---------------------------------------------------------------- this library

/** One message's wait in this library's two forms. */
interface LibWait {
  sync(): unknown;
  async(): Promise<unknown>;
}

const LIB: Record<string, () => LibWait | Promise<LibWait>> = {
  pipe: () => stream(new FdReader(5)),
  fifo: async () =>
    stream(form === "sync" ? Fifo.openSync(args[0], "read") : await Fifo.open(args[0], "read")),
  sysvq: () => {
    const q = MessageQueue.fromId(Number(args[0]));
    return { sync: () => q.receiveSync(), async: () => q.receive() };
  },
  posixq: () => {
    const q = PosixMessageQueue.open(args[0], { access: "read" });
    return { sync: () => q.receiveSync(), async: () => q.receive() };
  },
  futex: () => {
    const i = FUTEX_BASE + row;
    let seen = Atomics.load(words, i);
    return {
      sync: () => {
        for (let v; (v = Atomics.load(words, i)) === seen;) waitSync(words, i, v);
        seen = Atomics.load(words, i);
      },
      async: async () => {
        for (let v; (v = Atomics.load(words, i)) === seen;) await wait(words, i, v);
        seen = Atomics.load(words, i);
      },
    };
  },
  sysvsem: () => {
    const set = SemaphoreSet.fromId(Number(args[0]));
    const take = [{ index: 0, delta: -1 }];
    return { sync: () => set.opSync(take), async: () => set.op(take) };
  },
  posixsem: () => {
    const at = Number(args[0]);
    const sem = PosixSemaphore.at(page.bytes.subarray(at, at + SEM_SIZE));
    return { sync: () => sem.waitSync(), async: () => sem.wait() };
  },
  unix: () => stream(Connection.fromFd(5)),
  tcp: () => stream(Connection.fromFd(5)),
  dgram: () => {
    const c = Connection.fromFd(5);
    return { sync: () => c.receiveSync(), async: () => c.receive() };
  },
  signal: () => {
    const reader = signals([SIGNAL]);
    return { sync: () => reader.readSync(), async: () => reader.read() };
  },
};

function stream(from: { readSync(b: Uint8Array): unknown; read(b: Uint8Array): Promise<unknown> }) {
  return { sync: () => from.readSync(buf), async: () => from.read(buf) };
}

/** The many waits of the async form, each on an object of its own. */
const LIB_MANY: Record<string, () => Promise<void>> = {
  pipe: () =>
    times(() => {
      const p = pipe();
      kept.push(p);
      pending(p.reader.read(new Uint8Array(1)));
    }),
  fifo: () =>
    times(async (i) => {
      const path = `${args[1]}/lib-${row}-${i}`;
      Fifo.create(path);
      const ends = await Promise.all([Fifo.open(path, "read"), Fifo.open(path, "write")]);
      kept.push(ends);
      pending(ends[0].read(new Uint8Array(1)));
    }),
  sysvq: () => {
    const q = MessageQueue.fromId(Number(args[0]));
    // Each of its own type: waits for one type would share one parked call.
    return times((i) => pending(q.receive({ type: i + 1 })));
  },
  posixq: () =>
    times((i) => {
      const name = `${args[1]}${i}`;
      const q = PosixMessageQueue.open(name, {
        create: true,
        exclusive: true,
        access: "read",
        maxMessages: 1,
        messageSize: 8,
      });
      PosixMessageQueue.unlink(name);
      pending(q.receive());
    }),
  futex: () => {
    const shm = PosixSharedMemory.anonymous(WAITS * 4);
    kept.push(shm);
    const own = new Int32Array(shm.bytes.buffer, 0, WAITS);
    return times((i) => pending(wait(own, i, 0)));
  },
  sysvsem: () => {
    const set = SemaphoreSet.fromId(Number(args[0]));
    return times((i) => pending(set.op([{ index: i + 1, delta: -1 }])));
  },
  posixsem: () => {
    const shm = PosixSharedMemory.anonymous(WAITS * SEM_SIZE);
    kept.push(shm);
    return times((i) => {
      const at = i * SEM_SIZE;
      pending(PosixSemaphore.init(shm.bytes.subarray(at, at + SEM_SIZE), 0).wait());
    });
  },
  unix: () =>
    times(() => {
      const pair = socketpair();
      kept.push(pair);
      pending(pair[0].read(new Uint8Array(1)));
    }),
  dgram: () =>
    times(() => {
      const pair = socketpair("datagram");
      kept.push(pair);
      pending(pair[0].receive());
    }),
  tcp: () => {
    const listener = listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as NetAddress;
    kept.push(listener);
    return times(() => {
      const client = connectSync({ hostname: "127.0.0.1", port });
      kept.push(client);
      pending(listener.acceptSync({ timeout: 10_000 }).read(new Uint8Array(1)));
    });
  },
  signal: () => times(() => pending(signals([SIGNAL]).read())),
};

// ---------------------------------------------------------------- Deno's own

const DENO: Record<string, () => Promise<() => Promise<unknown>>> = {
  pipe: async () => {
    const file = await Deno.open("/dev/fd/5", { read: true });
    return () => file.read(buf);
  },
  fifo: async () => {
    const file = await Deno.open(args[0], { read: true });
    return () => file.read(buf);
  },
  unix: async () => {
    const conn = await Deno.connect({ transport: "unix", path: args[0] });
    return () => conn.read(buf);
  },
  tcp: async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(args[0]) });
    return () => conn.read(buf);
  },
};

/** Starts a read of each of `files` once all are open: each read holds one of Deno's pool threads. */
function readAll(files: Array<{ read(b: Uint8Array): Promise<unknown> }>): void {
  for (const f of files) pending(f.read(new Uint8Array(1)));
}

/** The many waits of Deno's own API, each on an object of its own. */
const DENO_MANY: Record<string, () => Promise<void>> = {
  pipe: async () => {
    // Deno cannot make a pipe: this library makes them, Deno opens their read ends.
    const files: Deno.FsFile[] = [];
    await times(async () => {
      const p = pipe();
      kept.push(p);
      files.push(await Deno.open(`/dev/fd/${p.reader.fd}`, { read: true }));
    });
    readAll(files);
  },
  fifo: async () => {
    const files: Deno.FsFile[] = [];
    await times(async (i) => {
      const path = `${args[1]}/deno-${row}-${i}`;
      Fifo.create(path); // Deno cannot make a FIFO
      const ends = await Promise.all([
        Deno.open(path, { read: true }),
        Deno.open(path, { write: true }),
      ]);
      kept.push(ends);
      files.push(ends[0]);
    });
    readAll(files);
  },
  unix: () => connections(Deno.listen({ transport: "unix", path: `${args[0]}-many` })),
  tcp: () => connections(Deno.listen({ hostname: "127.0.0.1", port: 0 })),
};

/** WAITS connections to `listener` (this process's own), a read pending on each. */
async function connections(listener: Deno.Listener): Promise<void> {
  kept.push(listener);
  const addr = listener.addr;
  const conns: Deno.Conn[] = [];
  await times(async () => {
    const [conn, accepted] = await Promise.all([
      addr.transport === "unix"
        ? Deno.connect({ transport: "unix", path: addr.path })
        : Deno.connect({ hostname: "127.0.0.1", port: (addr as Deno.NetAddr).port }),
      listener.accept(),
    ]);
    kept.push(accepted);
    conns.push(conn);
  });
  readAll(conns);
}

/** `Deno.addSignalListener`: acks from the listener; many: WAITS more listeners. */
function denoSignal(): void {
  // A signal listener does not keep a Deno process alive: a timer that never fires does.
  setInterval(() => {}, 2 ** 30);
  const heard = () => {
    const t = monotonicNs();
    if (Atomics.load(words, COMMAND) !== MANY) return ack(t);
    Deno.removeSignalListener(LISTENED, heard);
    // After this signal's dispatch, which would reach listeners added during it.
    setTimeout(() => {
      for (let i = 0; i < WAITS; i++) {
        Deno.addSignalListener(LISTENED, () => fail("a signal came to the many listeners"));
      }
      ack(0);
    }, 0);
  };
  Deno.addSignalListener(LISTENED, heard);
  ack(0);
}

// ---------------------------------------------------------------- main

/** Acks "ready", then each message's time, until the command says MANY. */
async function serve(next: () => number | Promise<number>, many: () => Promise<void>) {
  ack(0);
  for (;;) {
    const t = await next();
    if (Atomics.load(words, COMMAND) === MANY) {
      await many();
      ack(0);
      return; // the pending waits keep the process alive until lag.ts ends it
    }
    ack(t);
  }
}

if (form === "sync" || form === "async") {
  const open = LIB[mech] ?? fail(`no ${mech} receiver`);
  const w = await open();
  if (form === "sync") {
    await serve(() => {
      w.sync();
      return monotonicNs();
    }, () => fail("the sync form has one wait only"));
  } else {
    await serve(async () => {
      await w.async();
      return monotonicNs();
    }, LIB_MANY[mech]);
  }
} else if (form === "raw" && mech === "pipe") {
  makeBlocking(5);
  await serve(() => {
    rawReadFull(5, byte);
    return monotonicNs();
  }, () => fail("the raw form has one wait only"));
} else if (form === "parked" && mech === "pipe") {
  makeBlocking(5);
  const { readParked } = rawLibc();
  await serve(async () => {
    if (await readParked(5, byte, 1) !== 1) fail("read(5) failed");
    return monotonicNs();
  }, () => fail("the parked form has one wait only"));
} else if (form === "deno" && mech === "signal") {
  denoSignal();
} else if (form === "deno") {
  const open = DENO[mech] ?? fail(`Deno has no ${mech} receiver`);
  const read = await open();
  await serve(async () => {
    await read();
    return monotonicNs();
  }, DENO_MANY[mech]);
} else {
  fail("usage: see the comment at the top of lag_child.ts");
}
