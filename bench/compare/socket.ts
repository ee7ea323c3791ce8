/**
 * Cross-process socket comparison: this library against C, against the least
 * any Deno program pays (raw libc calls through `Deno.dlopen`) and against
 * Deno's own `Deno.listen`/`Deno.connect`, over a Unix stream socket and over
 * TCP on 127.0.0.1, each in a 64 B ping-pong and in a one-way transfer of
 * 64 KiB writes (256 MiB over the Unix socket, 64 MiB over TCP, each after a
 * few unmeasured MiB): four tables. Every row is measured in the same run, at
 * every placement of harness.ts, and reported as ratios to the C baseline
 * (socket.c) and to Deno's built-in sockets.
 *
 * C, the floor and this library make both ends of a connection in the parent
 * (a socketpair; a TCP connection connected and accepted) and hand one to
 * the child (fork; `spawn(..., { fds: { 3: conn } })`, socket_child.ts). The
 * Deno rows listen in the parent and connect from the child
 * (socket_deno_child.ts, started with `Deno.Command`, which is all a Deno
 * program without FFI can do). Every TCP connection has `TCP_NODELAY`.
 * Where `python3` runs, a Python 3 program (python/sockets.py) adds a row to
 * each table: the socket module, connected as C does it, and `os.fork`.
 *
 * Run: `deno task bench:compare:socket` (Linux; needs a C compiler as `cc`),
 * or all drivers with `deno task bench:compare`. `--raw` also prints every
 * sample. The socket files live in a temporary directory, removed at the end.
 * Unix datagram sockets have a driver of their own: datagram.ts.
 *
 * @module
 */
import {
  type ChildProcess,
  type Connection,
  connectSync,
  listen,
  type NetAddress,
  socketpair,
  spawn,
} from "../../mod.ts";
import { readAllText, readFull, Transfer, writeAll } from "./common.ts";
import {
  checkStatus,
  cPingPong,
  fixed,
  GOALS,
  mark,
  type Measure,
  measure,
  type Mode,
  MSG,
  pingPongIntro,
  placed,
  type Placement,
  placements,
  printedTransfer,
  quick,
  RoundClock,
  type Row,
  row,
  runC,
  section,
  standalone,
  table,
  tempPrefix,
  TRANSFER_WARM,
  withC,
} from "./harness.ts";
import { pyPingPong, Python, type PythonRow, runPython } from "./python/python.ts";
import { type Connect, connectionEnds, ffiPingPong, ffiTransfer } from "./stream_rows.ts";

type Transport = "unix" | "tcp";

const MIB = 1024 * 1024;
/**
 * Throughput by transport: timed bytes, bytes per write, untimed bytes sent
 * first. TCP moves a quarter as much, to keep its table short: of its 54
 * runs, 36 start a Deno child, whose start-up (not timed, but waited for)
 * costs as much as the transfer on 2 CPUs.
 */
const BULK: Record<Transport, Transfer> = {
  unix: new Transfer(quick(256, 8) * MIB, 64 * 1024, TRANSFER_WARM),
  tcp: new Transfer(quick(64, 4) * MIB, 64 * 1024, TRANSFER_WARM),
};
/** The goal of TCP ping-pong for the sync form (the async form keeps the harness's). */
const TCP_SYNC_GOAL = 1.3;
/** The goal of throughput: at least this much of C's. */
export const THROUGHPUT_GOAL = 0.8;

const here = (name: string) => new URL(name, import.meta.url);
const CHILD = here("socket_child.ts");
const DENO_CHILD = here("socket_deno_child.ts").pathname;

/** The directory of the Deno rows' socket file, made by {@link main}. */
let dir = "";
const socketPath = () => `${dir}/deno.sock`;

// ------------------------------------------------- this library, and the floor

/** Both ends of a connection: a Unix socketpair, or a TCP connection on 127.0.0.1. */
export function connected(transport: Transport): [Connection, Connection] {
  if (transport === "unix") return socketpair();
  using listener = listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as NetAddress;
  const client = connectSync({ hostname: "127.0.0.1", port, noDelay: true });
  try {
    const server = listener.acceptSync({ timeout: 10_000 });
    server.setNoDelay(true);
    return [server, client];
  } catch (e) {
    client.close();
    throw e;
  }
}

/**
 * Starts socket_child.ts with `theirs` as its fd 3, and closes it here (the
 * child holds a copy). SIGINT is blocked in it (see msg_queue.ts's
 * `spawnChild`): a datagram peer that Ctrl-C ended never wakes a receive here.
 */
export function startChild(where: Placement, args: string[], theirs: Connection): ChildProcess {
  try {
    return placed(
      where,
      () => spawn(CHILD, { args, fds: { 3: theirs }, blockSignals: ["SIGINT"] }),
    );
  } finally {
    theirs.close();
  }
}

/** The parent's ends of a run against socket_child.ts over {@link connected}. */
function sockets(transport: Transport): Connect {
  return (where, args) => {
    const [mine, theirs] = connected(transport);
    try {
      return connectionEnds(mine, startChild(where, args, theirs));
    } catch (e) {
      mine.close();
      throw e;
    }
  };
}

// ------------------------------------------------------- Deno's own sockets

/** Listens with `Deno.listen`: on a socket file in {@link dir}, or on a free port of 127.0.0.1. */
function denoListen(transport: Transport): { listener: Deno.Listener; at: string } {
  if (transport === "unix") {
    const path = socketPath();
    return { listener: Deno.listen({ transport: "unix", path }), at: path };
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return { listener, at: `${listener.addr.port}` };
}

/** Starts socket_deno_child.ts with only the permissions its transport needs. */
function denoChild(where: Placement, transport: Transport, args: string[]): Deno.ChildProcess {
  // A Unix socket needs all three in Deno 2.9: read and write on its path, and net on `unix:path`.
  const allow = transport === "unix"
    ? [`--allow-read=${dir}`, `--allow-write=${dir}`, `--allow-net=unix:${socketPath()}`]
    : ["--allow-net=127.0.0.1"];
  return placed(where, () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", ...allow, DENO_CHILD, ...args],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn());
}

/** The child's connection, or an error if the child ends before it connects. */
async function acceptFrom(listener: Deno.Listener, child: Deno.ChildProcess): Promise<Deno.Conn> {
  const ended = child.status.then((s): never => {
    throw new Error(`socket_deno_child.ts exited with code ${s.code} before connecting`);
  });
  ended.catch(() => {}); // it may end later, after connecting: that is no error here
  const conn = await Promise.race([listener.accept(), ended]);
  if (conn.remoteAddr.transport === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
  return conn;
}

function denoPingPong(transport: Transport): Measure {
  return async (where, laps) => {
    const { listener, at } = denoListen(transport);
    let child: Deno.ChildProcess | undefined;
    let conn: Deno.Conn | undefined;
    try {
      child = denoChild(where, transport, ["echo", transport, at, `${MSG}`]);
      conn = await acceptFrom(listener, child);
      const buf = new Uint8Array(MSG);
      const clock = new RoundClock();
      for (let i = 0; i < clock.total; i++) {
        clock.tick(i);
        await writeAll(conn, buf);
        if (!(await readFull(conn, buf))) throw new Error("child closed its socket early");
      }
      clock.tick(clock.total);
      return clock.laps(laps);
    } finally {
      conn?.close();
      listener.close();
      if (child !== undefined) await checkStatus(child.status, "socket_deno_child.ts");
    }
  };
}

function denoTransfer(transport: Transport): Measure {
  const bulk = BULK[transport];
  return async (where) => {
    const { listener, at } = denoListen(transport);
    let child: Deno.ChildProcess | undefined;
    let conn: Deno.Conn | undefined;
    try {
      child = denoChild(where, transport, ["sink", transport, at]);
      const accepted = await acceptFrom(listener, child);
      conn = accepted; // for the close below
      if (!(await readFull(accepted, new Uint8Array(1)))) {
        throw new Error("child closed its socket early");
      }
      const chunk = new Uint8Array(bulk.chunk);
      const t0 = await bulk.send(chunk, () => writeAll(accepted, chunk));
      await accepted.closeWrite();
      const report = await readAllText(accepted);
      const ms = performance.now() - t0;
      bulk.check(report);
      return bulk.rate(ms);
    } finally {
      conn?.close();
      listener.close();
      if (child !== undefined) await checkStatus(child.status, "socket_deno_child.ts");
    }
  };
}

// --------------------------------------------------------------------- main

const C_ROW = "C (fork; blocking read/write)";
const FLOOR_ROW = "raw libc via Deno.dlopen (floor)";
const SYNC_ROW = "@libc/ipc sync: writeSync/readSync";
const ASYNC_ROW = "@libc/ipc async: await write/read";
const DENO_ROW = "Deno built-in: Deno.listen/Deno.connect";

/** The same rows for every workload: C, the floor, the library's two forms, Deno's own. */
function rowsOf(c: Measure, ffi: (mode: Mode) => Measure, deno: Measure): Row[] {
  return [
    row(C_ROW, c),
    row(FLOOR_ROW, ffi("raw")),
    row(SYNC_ROW, ffi("sync")),
    row(ASYNC_ROW, ffi("async")),
    row(DENO_ROW, deno),
  ];
}

/** A ping-pong table: µs per round trip, ratios to C and to Deno's sockets, the goals. */
function pingPongTable(
  rows: Row[],
  where: Placement[],
  goals: Record<string, number>,
  beatDeno: boolean,
): string[] {
  return table(rows, where, "µs / round trip", 1, ["vs C", "vs Deno", "goal"], (r, m, at) => {
    const c = m / at(C_ROW);
    const d = m / at(DENO_ROW);
    const goal = goals[r.name];
    const text = goal === undefined
      ? ""
      : `≤ ${goal}× C ${mark(c <= goal)}${beatDeno ? `, < Deno ${mark(d < 1)}` : ""}`;
    return [`${fixed(c, 2)}×`, `${fixed(d, 2)}×`, text];
  });
}

/** The C or Python row of a transfer over `transport`: socket.c's or sockets.py's command. */
function printedBulk(transport: Transport, run: (args: string[]) => Promise<string>): Measure {
  return printedTransfer(BULK[transport], run, transport === "tcp" ? "tcp-transfer" : "transfer");
}

/** The rows of a throughput table over `transport`, Python's where it runs. */
function transferRows(transport: Transport, c: Measure, py: PythonRow): Row[] {
  const rows = rowsOf(
    c,
    (mode) => ffiTransfer(mode, sockets(transport), BULK[transport]),
    denoTransfer(transport),
  );
  return [...rows, ...py.rows];
}

/** The paragraph above a throughput table: what `over` carries, how much. */
function throughputIntro(transport: Transport, over: string): string {
  const bulk = BULK[transport];
  return `**Throughput**: ${Transfer.mib(bulk.total)} parent → child over ${over} ` +
    `in ${bulk.chunk / 1024} KiB writes, after ${Transfer.mib(bulk.warm)} unmeasured; the child ` +
    "counts and checksums what it reads and answers on the same socket.";
}

/** A throughput table: MiB/s, ratios to C and to Deno's sockets, the goals. */
function throughputTable(rows: Row[], where: Placement[]): string[] {
  return table(rows, where, "MiB/s", 0, ["vs C", "vs Deno", "goal"], (r, m, at) => {
    const c = m / at(C_ROW);
    const goal = r.name === SYNC_ROW || r.name === ASYNC_ROW
      ? `≥ ${THROUGHPUT_GOAL}× C ${mark(c >= THROUGHPUT_GOAL)}`
      : "";
    return [`${fixed(c, 2)}×`, `${fixed(m / at(DENO_ROW), 2)}×`, goal];
  });
}

/** Measures every row; returns the section of the report. */
export async function main(): Promise<string> {
  const where = placements();
  const py = await Python.find();
  const pyUnix = py.row("sendall/recv_into", pyPingPong("sockets.py"));
  const pyTcp = py.row("sendall/recv_into", pyPingPong("sockets.py", "tcp"));
  const pyBulk = (transport: Transport) =>
    py.row("sendall/recv_into", printedBulk(transport, (args) => runPython("sockets.py", args)));
  const [pyUnixBulk, pyTcpBulk] = [pyBulk("unix"), pyBulk("tcp")];
  dir = await Deno.makeTempDir({ prefix: tempPrefix("socket-") });
  try {
    return await withC(["socket.c"], async ([bin]) => {
      const unix = [
        ...rowsOf(
          cPingPong(bin),
          (mode) => ffiPingPong(mode, sockets("unix")),
          denoPingPong("unix"),
        ),
        ...pyUnix.rows,
      ];
      const tcp = [
        ...rowsOf(
          cPingPong(bin, "tcp"),
          (mode) => ffiPingPong(mode, sockets("tcp")),
          denoPingPong("tcp"),
        ),
        ...pyTcp.rows,
      ];
      const cBulk = (transport: Transport) => printedBulk(transport, (args) => runC(bin, args));
      const unixBulk = transferRows("unix", cBulk("unix"), pyUnixBulk);
      const tcpBulk = transferRows("tcp", cBulk("tcp"), pyTcpBulk);
      const seconds = await measure(unix, where) + await measure(tcp, where) +
        await measure(unixBulk, where) + await measure(tcpBulk, where);
      return section("Sockets", seconds, [
        pingPongIntro("a Unix stream socket (a socketpair; Deno's own: a socket file)"),
        pingPongTable(unix, where, { [SYNC_ROW]: GOALS.sync, [ASYNC_ROW]: GOALS.async }, true),
        ...pyUnix.notes,
        pingPongIntro("TCP on 127.0.0.1 (`TCP_NODELAY`)"),
        pingPongTable(tcp, where, { [SYNC_ROW]: TCP_SYNC_GOAL, [ASYNC_ROW]: GOALS.async }, false),
        ...pyTcp.notes,
        throughputIntro("unix", "a Unix stream socket"),
        throughputTable(unixBulk, where),
        ...pyUnixBulk.notes,
        throughputIntro("tcp", "TCP on 127.0.0.1 (`TCP_NODELAY`)"),
        throughputTable(tcpBulk, where),
        ...pyTcpBulk.notes,
      ], [...unix, ...tcp, ...unixBulk, ...tcpBulk]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await standalone(main);
