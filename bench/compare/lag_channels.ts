/**
 * The sending side of every mechanism of bench/compare/lag.ts: what each
 * receiver waits on (made here, before the receiver starts, and removed by
 * `close`, Ctrl-C included), and how one message is sent to it. Every message
 * is one byte, or 8 for the queues, or a futex word moved, a semaphore given,
 * a signal sent.
 *
 * @module
 */
import { atInterrupt } from "./harness.ts";
import { connected } from "./socket.ts";
import {
  type ChildProcess,
  type Connection,
  type FdSource,
  type FdWriter,
  Fifo,
  listen,
  type Listener,
  MessageQueue,
  type NetAddress,
  notify,
  pipe,
  PosixMessageQueue,
  PosixSemaphore,
  type PosixSharedMemory,
  SemaphoreSet,
  sendSignal,
  type SignalName,
  signalNumber,
  socketpair,
} from "../../mod.ts";
import {
  ACK_TIMEOUT_MS,
  FUTEX_BASE,
  LISTENED,
  SEM_BASE,
  SEM_SIZE,
  SIGNAL,
  WAITS,
} from "./lag_common.ts";

const BYTE = new Uint8Array([1]);
const DATA = new Uint8Array(8);

/**
 * Who receives: C, raw libc through `Deno.dlopen` (the floor of any Deno
 * receiver, pipes only): blocking the thread (`raw`) or as a `nonblocking`
 * call on a pool thread (`parked`: the floor of any async wait through FFI),
 * this library's two forms, Deno's own API, Python.
 */
export type Form = "c" | "raw" | "parked" | "sync" | "async" | "deno" | "python";

/** Where a row's channel is made. */
export interface Place {
  row: number;
  form: Form;
  /** The run's temporary directory. */
  dir: string;
  page: PosixSharedMemory;
  words: Int32Array;
}

/** The sending side of one row, made before its receiver starts. */
export interface Channel {
  /** The receiver's arguments after MECH ROW. */
  args: string[];
  /** The receiver's fd 5, closed here once the receiver has its copy. */
  fd?: FdSource & { close(): void };
  /** Signals the receiver blocks from its start (this library's signal reader needs it). */
  blockSignals?: SignalName[];
  /** Once the receiver runs: what must meet it (a FIFO's write end, a connection to accept). */
  connect?(receiver: ChildProcess): void;
  /** Sends one message. */
  send(): void;
  /** Removes what the channel made. */
  close(): void;
}

/** A mechanism: its receivers' calls, and how its messages are sent. */
export interface Mechanism {
  /** The receivers' MECH argument. */
  key: string;
  title: string;
  /** What each form's receiver calls; a form without one has no row. */
  calls: Partial<Record<Form, string>>;
  open(at: Place): Channel;
}

/** Every mechanism, in the order of the table. */
export const MECHANISMS: Mechanism[] = [
  {
    key: "pipe",
    title: "pipe",
    calls: {
      c: "read",
      raw: "read",
      parked: "await read (nonblocking)",
      sync: "readSync",
      async: "await read",
      deno: "FsFile.read",
      python: "os.read",
    },
    open: () => {
      const p = pipe();
      return {
        args: [],
        fd: p.reader,
        send: () => p.writer.writeSync(BYTE),
        close: () => closeAll(p.reader, p.writer),
      };
    },
  },
  {
    key: "fifo",
    title: "FIFO",
    calls: {
      c: "read",
      sync: "readSync",
      async: "await read",
      deno: "FsFile.read",
      python: "os.read",
    },
    open: ({ row, dir }) => {
      const path = `${dir}/fifo-${row}`;
      Fifo.create(path);
      let writer: FdWriter | undefined;
      return {
        args: [path, dir],
        connect: () => writer = Fifo.openSync(path, "write", { timeout: ACK_TIMEOUT_MS }),
        send: () => writer!.writeSync(BYTE),
        close: () => writer?.close(), // the FIFO goes with the directory
      };
    },
  },
  {
    key: "sysvq",
    title: "System V queue",
    calls: { c: "msgrcv", sync: "receiveSync", async: "await receive" },
    open: () => {
      const q = MessageQueue.open("private");
      const forget = atInterrupt(() => q.remove());
      return {
        args: [`${q.id}`],
        send: () => q.sendSync(DATA, { type: 1 }),
        close: () => removing(forget, () => q.remove(), () => q.close()),
      };
    },
  },
  {
    key: "posixq",
    title: "POSIX queue",
    calls: { c: "mq_receive", sync: "receiveSync", async: "await receive" },
    open: ({ row }) => {
      const name = `/libc-ipc-bench-lag-${Deno.pid}-${row}`;
      const prefix = `${name}-`;
      // The receiver's many waits make and unlink queues PREFIX0..: one it could not unlink goes too.
      const unlinkAll = () => {
        for (let i = -1; i < WAITS; i++) unlinkQuietly(i < 0 ? name : `${prefix}${i}`);
      };
      const forget = atInterrupt(unlinkAll);
      let q: PosixMessageQueue;
      try {
        q = PosixMessageQueue.open(name, {
          create: true,
          exclusive: true,
          access: "write",
          maxMessages: 1,
          messageSize: DATA.length,
        });
      } catch (e) {
        forget();
        throw e;
      }
      return {
        args: [name, prefix],
        send: () => q.sendSync(DATA),
        close: () => removing(forget, () => q.close(), unlinkAll),
      };
    },
  },
  {
    key: "futex",
    title: "futex word",
    calls: { c: "FUTEX_WAIT", sync: "waitSync", async: "await wait" },
    open: ({ row, words }) => {
      const i = FUTEX_BASE + row;
      return {
        args: [],
        send: () => {
          Atomics.add(words, i, 1);
          notify(words, i, 1);
        },
        close: () => {},
      };
    },
  },
  {
    key: "sysvsem",
    title: "System V semaphore",
    calls: { c: "semop", sync: "opSync", async: "await op" },
    open: () => {
      // Member 0 for the messages, 1..WAITS for the many waits.
      const set = SemaphoreSet.open("private", { count: 1 + WAITS });
      const forget = atInterrupt(() => set.remove());
      const give = [{ index: 0, delta: 1 }];
      return {
        args: [`${set.id}`],
        send: () => set.opSync(give),
        close: () => removing(forget, () => set.remove(), () => set.close()),
      };
    },
  },
  {
    key: "posixsem",
    title: "POSIX semaphore",
    calls: { c: "sem_wait", sync: "waitSync", async: "await wait" },
    open: ({ row, page }) => {
      const at = SEM_BASE + row * SEM_SIZE;
      const sem = PosixSemaphore.init(page.bytes.subarray(at, at + SEM_SIZE), 0);
      return { args: [`${at}`], send: () => sem.post(), close: () => sem.close() };
    },
  },
  {
    key: "unix",
    title: "Unix stream socket",
    calls: {
      c: "read",
      sync: "readSync",
      async: "await read",
      deno: "Deno.connect + read",
      python: "socket.recv_into",
    },
    open: ({ row, form, dir }) => {
      if (form !== "deno") return sending(socketpair());
      const path = `${dir}/unix-${row}.sock`;
      return accepting(listen({ path }), [path]);
    },
  },
  {
    key: "dgram",
    title: "Unix datagram socket",
    calls: {
      c: "read",
      sync: "receiveSync",
      async: "await receive",
      python: "socket.recv_into",
    },
    open: () => {
      const [mine, theirs] = socketpair("datagram");
      return {
        args: [],
        fd: theirs,
        send: () => mine.sendSync(BYTE),
        close: () => closeAll(mine, theirs),
      };
    },
  },
  {
    key: "tcp",
    title: "TCP on 127.0.0.1",
    calls: {
      c: "read",
      sync: "readSync",
      async: "await read",
      deno: "Deno.connect + read",
      python: "socket.recv_into",
    },
    open: ({ form }) => {
      if (form !== "deno") return sending(connected("tcp"));
      const listener = listen({ hostname: "127.0.0.1", port: 0 });
      return accepting(listener, [`${(listener.addr as NetAddress).port}`]);
    },
  },
  {
    key: "signal",
    title: "signal",
    calls: {
      c: "sigwaitinfo",
      sync: "signals().readSync",
      async: "await signals().read",
      deno: "Deno.addSignalListener",
      python: "signal.sigwaitinfo",
    },
    open: ({ form }) => {
      let receiver: ChildProcess | undefined;
      const own = form === "sync" || form === "async";
      return {
        args: [`${signalNumber(SIGNAL)}`],
        blockSignals: own ? [SIGNAL] : undefined,
        connect: (child) => receiver = child,
        send: () =>
          form === "deno" ? sendSignal(receiver!, LISTENED) : sendSignal(receiver!, SIGNAL),
        close: () => {},
      };
    },
  },
];

/** A connection whose first end sends and whose second is the receiver's fd 5. */
function sending([mine, theirs]: [Connection, Connection]): Channel {
  return {
    args: [],
    fd: theirs,
    send: () => mine.writeSync(BYTE),
    close: () => closeAll(mine, theirs),
  };
}

/** A listener the receiver connects to (Deno's own API): the connection accepted here sends. */
function accepting(listener: Listener, args: string[]): Channel {
  let conn: Connection | undefined;
  return {
    args,
    connect: () => {
      conn = listener.acceptSync({ timeout: ACK_TIMEOUT_MS });
      if (listener.addr.transport === "tcp") conn.setNoDelay(true);
    },
    send: () => conn!.writeSync(BYTE),
    close: () => closeAll(conn, listener),
  };
}

/** Closes each of `handles` that is there. */
export function closeAll(...handles: Array<{ close(): void } | undefined>): void {
  for (const h of handles) h?.close();
}

/** Runs every step, then `forget` (the Ctrl-C cleanup is done); throws the first failure. */
function removing(forget: () => void, ...steps: Array<() => void>): void {
  let error: unknown;
  for (const step of steps) {
    try {
      step();
    } catch (e) {
      error ??= e;
    }
  }
  forget();
  if (error !== undefined) throw error;
}

function unlinkQuietly(name: string): void {
  try {
    PosixMessageQueue.unlink(name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
