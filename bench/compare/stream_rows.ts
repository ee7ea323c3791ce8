/**
 * The FFI rows over a byte stream, one loop for pipes, FIFOs and stream
 * sockets: a 64 B ping-pong against a child that echoes, and a one-way
 * transfer to a child that sinks (pipe_child.ts, socket_child.ts, through
 * stream_child.ts), in each {@link Mode}.
 *
 * @module
 */
import type { ChildProcess, Connection, FdReader, FdWriter } from "../../mod.ts";
import {
  makeBlocking,
  rawReadFull,
  rawWriteAll,
  readFull,
  readFullSync,
  readText,
  type StreamReader,
  type StreamWriter,
  type Transfer,
} from "./common.ts";
import {
  checkStatus,
  type Measure,
  type Mode,
  MSG,
  type Placement,
  RoundClock,
} from "./harness.ts";

/** The parent's side of a run against a child that has started. */
export interface Ends {
  /** What the parent writes, and what it reads (the same connection for a socket). */
  writer: StreamWriter;
  reader: StreamReader;
  child: ChildProcess;
  /** The child's module, for errors. */
  name: string;
  /** Ends what the parent sends: the child sees end of stream, the parent still reads. */
  finish(): void;
  /** Closes the parent's ends. */
  close(): void;
}

/** Starts the child with `args` and connects it to the parent. */
export type Connect = (where: Placement, args: string[]) => Ends | Promise<Ends>;

/** Ends over two descriptors (pipes, FIFOs): finishing closes the writer. */
export function fdEnds(writer: FdWriter, reader: FdReader, child: ChildProcess): Ends {
  return {
    writer,
    reader,
    child,
    name: "pipe_child.ts",
    finish: () => writer.close(),
    close: () => {
      writer.close();
      reader.close();
    },
  };
}

/** Ends over one connection: finishing shuts down its sending side. */
export function connectionEnds(conn: Connection, child: ChildProcess): Ends {
  return {
    writer: conn,
    reader: conn,
    child,
    name: "socket_child.ts",
    finish: () => conn.shutdown("write"),
    close: () => conn.close(),
  };
}

/** One 64 B ping-pong run in `mode` against a child that echoes: µs per round trip. */
export function ffiPingPong(mode: Mode, connect: Connect): Measure {
  return async (where, laps) => {
    const ends = await connect(where, [`echo-${mode}`, `${MSG}`]);
    const { writer, reader } = ends;
    try {
      const buf = new Uint8Array(MSG);
      if (mode === "raw") {
        makeBlocking(writer.fd);
        makeBlocking(reader.fd);
      }
      const clock = new RoundClock();
      for (let i = 0; i < clock.total; i++) {
        clock.tick(i);
        if (mode === "sync") {
          writer.writeSync(buf);
          if (!readFullSync(reader, buf)) throw new Error(`${ends.name} ended early`);
        } else if (mode === "async") {
          await writer.write(buf);
          if (!(await readFull(reader, buf))) throw new Error(`${ends.name} ended early`);
        } else {
          rawWriteAll(writer.fd, buf);
          if (!rawReadFull(reader.fd, buf)) throw new Error(`${ends.name} ended early`);
        }
      }
      clock.tick(clock.total);
      return clock.laps(laps);
    } finally {
      ends.close();
      await checkStatus(ends.child.status, ends.name);
    }
  };
}

/** One transfer run of `bulk` in `mode` to a child that sinks: MiB/s. */
export function ffiTransfer(mode: Mode, connect: Connect, bulk: Transfer): Measure {
  return async (where) => {
    const ends = await connect(where, [`sink-${mode}`]);
    const { writer, reader } = ends;
    try {
      const chunk = new Uint8Array(bulk.chunk);
      const ready = new Uint8Array(1);
      // The child says when it is ready, so its start-up time stays out of the figure.
      if (mode === "raw") {
        makeBlocking(writer.fd);
        makeBlocking(reader.fd);
        rawReadFull(reader.fd, ready);
      } else if (mode === "sync") {
        if (!readFullSync(reader, ready)) throw new Error(`${ends.name} ended early`);
      } else {
        if (!(await readFull(reader, ready))) throw new Error(`${ends.name} ended early`);
      }
      const t0 = await bulk.send(
        chunk,
        mode === "sync"
          ? () => writer.writeSync(chunk)
          : mode === "async"
          ? () => writer.write(chunk)
          : () => rawWriteAll(writer.fd, chunk),
      );
      ends.finish();
      const report = await readText(reader, mode);
      const ms = performance.now() - t0;
      bulk.check(report);
      return bulk.rate(ms);
    } finally {
      ends.close();
      await checkStatus(ends.child.status, ends.name);
    }
  };
}
