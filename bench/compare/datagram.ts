/**
 * Cross-process Unix datagram socket comparison, over a socketpair of
 * datagram sockets (`socketpair("datagram")`; one end handed to the child):
 * a 64 B ping-pong, and 64 KiB datagrams parent → child. In C (socket.c:
 * fork, blocking send/read), with raw libc calls through `Deno.dlopen` (the
 * floor: read/write, which move one datagram each), with this library's sync
 * and async forms (`sendSync`/`receiveIntoSync`, `await send`/`receiveInto`:
 * into a buffer, as C reads), and in Python 3 (python/sockets.py:
 * `socket.socketpair(AF_UNIX, SOCK_DGRAM)`). Every row is measured in the
 * same run, at every placement of harness.ts, and reported as a ratio to C.
 *
 * Deno's stable API has no Unix datagram socket (`Deno.listenDatagram` is
 * there only with `--unstable-net`), so there is no Deno row. A datagram
 * socket has no end of stream: an empty datagram stands for it. The socket
 * buffers are the kernel's defaults: a 64 KiB datagram fits in the default
 * send buffer (`net.core.wmem_default`, 208 KiB on most systems), so no
 * `SO_SNDBUF` is raised, and only a few datagrams are in flight at once.
 *
 * Run: `deno task bench:compare:datagram` (Linux; needs a C compiler as
 * `cc`), or all drivers with `deno task bench:compare`. `--raw` also prints
 * every sample.
 *
 * @module
 */
import { type Connection, socketpair } from "../../mod.ts";
import { makeBlocking, rawLibc, Transfer } from "./common.ts";
import {
  checkStatus,
  cPingPong,
  fixed,
  goalsOf,
  mark,
  type Measure,
  measure,
  type Mode,
  MSG,
  pingPongIntro,
  pingPongTable,
  type Placement,
  placements,
  printedTransfer,
  quick,
  RoundClock,
  row,
  runC,
  section,
  standalone,
  table,
  TRANSFER_WARM,
  withC,
} from "./harness.ts";
import { startChild, THROUGHPUT_GOAL } from "./socket.ts";
import { pyPingPong, Python, runPython } from "./python/python.ts";

/** Throughput: timed bytes, bytes per datagram, untimed bytes sent first. */
const BULK = new Transfer(quick(16, 2) * 1024 * 1024, 64 * 1024, TRANSFER_WARM);
/** The datagram that ends the stream. */
const END = new Uint8Array(0);

/** The floor's blocking `read` of one datagram into `buf`: its size. */
function rawReceive(fd: number, buf: Uint8Array): number {
  const n = rawLibc().read(fd, buf, buf.byteLength);
  if (n < 0) throw new Error("read failed");
  return n;
}

/** The floor's blocking `write` of one datagram. */
function rawSend(fd: number, data: Uint8Array): void {
  if (rawLibc().write(fd, data, data.byteLength) !== data.byteLength) {
    throw new Error("write failed");
  }
}

/** Receives one datagram into `buf` in `mode`: its size. */
async function receive(conn: Connection, mode: Mode, buf: Uint8Array): Promise<number> {
  if (mode === "raw") return rawReceive(conn.fd, buf);
  return (mode === "sync" ? conn.receiveIntoSync(buf) : await conn.receiveInto(buf)) ?? 0;
}

/**
 * Runs `use` with this process's end of a datagram socketpair whose other
 * end runs socket_child.ts `ROLE-mode`; ends the child with an empty
 * datagram afterwards, or kills it should `use` fail (a datagram socket
 * whose peer closed does not wake a receiver).
 */
async function withChild<T>(
  where: Placement,
  args: string[],
  mode: Mode,
  use: (mine: Connection) => Promise<T>,
): Promise<T> {
  const [mine, theirs] = socketpair("datagram");
  using _mine = mine;
  const child = startChild(where, args, theirs);
  try {
    if (mode === "raw") makeBlocking(mine.fd);
    const result = await use(mine);
    await checkStatus(child.status, "socket_child.ts");
    return result;
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // It has ended.
    }
    await child.status.catch(() => {});
  }
}

/** One 64 B ping-pong run in `mode` against socket_child.ts: µs per round trip. */
function ffiPingPong(mode: Mode): Measure {
  return (where, laps) =>
    withChild(where, [`echo-${mode}`, `${MSG}`], mode, async (mine) => {
      const buf = new Uint8Array(MSG);
      const clock = new RoundClock();
      for (let i = 0; i < clock.total; i++) {
        clock.tick(i);
        let n: number | null;
        if (mode === "sync") {
          mine.sendSync(buf);
          n = mine.receiveIntoSync(buf);
        } else if (mode === "async") {
          await mine.send(buf);
          n = await mine.receiveInto(buf);
        } else {
          rawSend(mine.fd, buf);
          n = rawReceive(mine.fd, buf);
        }
        if (n !== MSG) throw new Error(`an echo of ${n} bytes`);
      }
      clock.tick(clock.total);
      if (mode === "raw") rawSend(mine.fd, END);
      else mine.sendSync(END);
      return clock.laps(laps);
    });
}

/** One transfer run in `mode` against socket_child.ts: MiB/s. */
function ffiTransfer(mode: Mode): Measure {
  return (where) =>
    withChild(where, [`sink-${mode}`], mode, async (mine) => {
      const chunk = new Uint8Array(BULK.chunk);
      const answer = new Uint8Array(256);
      // The child says when it is ready, so its start-up time stays out of the figure.
      if (await receive(mine, mode, answer) !== 1) throw new Error("no ready from the child");
      const t0 = await BULK.send(
        chunk,
        mode === "sync"
          ? () => mine.sendSync(chunk)
          : mode === "async"
          ? () => mine.send(chunk)
          : () => rawSend(mine.fd, chunk),
      );
      if (mode === "raw") rawSend(mine.fd, END);
      else mine.sendSync(END);
      const n = await receive(mine, mode, answer);
      const ms = performance.now() - t0;
      BULK.check(new TextDecoder().decode(answer.subarray(0, n)));
      return BULK.rate(ms);
    });
}

// --------------------------------------------------------------------- main

const C_ROW = "C (fork; blocking send/read)";
const SYNC_ROW = "@libc/ipc sync: sendSync/receiveIntoSync";
const ASYNC_ROW = "@libc/ipc async: await send/receiveInto";
const NO_DENO = "Deno: no row; its stable API has no Unix datagram socket " +
  "(`Deno.listenDatagram` needs `--unstable-net`).";

/** Measures every row; returns the section of the report. */
export async function main(): Promise<string> {
  const where = placements();
  const py = await Python.find();
  const pyPing = py.row("send/recv_into", pyPingPong("sockets.py", "dgram"));
  const pyBulk = py.row(
    "send/recv_into",
    printedTransfer(BULK, (args) => runPython("sockets.py", args), "dgram-transfer"),
  );
  return await withC(["socket.c"], async ([bin]) => {
    const rows = (c: Measure, ffi: (mode: Mode) => Measure) => [
      row(C_ROW, c),
      row("raw libc via Deno.dlopen (floor): write/read", ffi("raw")),
      row(SYNC_ROW, ffi("sync")),
      row(ASYNC_ROW, ffi("async")),
    ];
    const pingpong = [...rows(cPingPong(bin, "dgram"), ffiPingPong), ...pyPing.rows];
    const cTransfer = printedTransfer(BULK, (args) => runC(bin, args), "dgram-transfer");
    const transfer = [...rows(cTransfer, ffiTransfer), ...pyBulk.rows];
    const seconds = await measure(pingpong, where) + await measure(transfer, where);
    const perMessage = BULK.chunk / (1024 * 1024);
    return section("Unix datagram sockets", seconds, [
      pingPongIntro("a Unix datagram socketpair, one datagram each way"),
      pingPongTable(pingpong, where, C_ROW, goalsOf({ sync: SYNC_ROW, async: ASYNC_ROW })),
      ...pyPing.notes,
      NO_DENO,
      `**Throughput**: ${Transfer.mib(BULK.total)} parent → child over a Unix datagram ` +
      `socketpair in ${BULK.chunk / 1024} KiB datagrams, after ${Transfer.mib(BULK.warm)} ` +
      "unmeasured; the child counts and checksums what it receives and answers on the same " +
      "socket. The kernel's default socket buffers.",
      table(transfer, where, "MiB/s", 0, ["datagrams/s", "vs C", "goal"], (r, m, at) => {
        const c = m / at(C_ROW);
        const goal = r.name === SYNC_ROW || r.name === ASYNC_ROW
          ? `≥ ${THROUGHPUT_GOAL}× C ${mark(c >= THROUGHPUT_GOAL)}`
          : "";
        return [fixed(m / perMessage, 0), `${fixed(c, 2)}×`, goal];
      }),
      ...pyBulk.notes,
    ], [...pingpong, ...transfer]);
  });
}

if (import.meta.main) await standalone(main);
