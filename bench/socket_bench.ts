/**
 * One-process socket and signal costs, each group against the least any Deno
 * code can pay for the same thing:
 *
 * - a message written on one end of a Unix stream socketpair and read on the
 *   other, 64 B and 64 KiB, through this library's sync and async forms,
 *   against `send` + `recv` through a plain `Deno.dlopen`, and against Deno's
 *   own `Deno.UnixConn` (a connection made in this process with
 *   `Deno.listen`/`Deno.connect`: Deno has no socketpair);
 * - a 64 B datagram sent from one unconnected Unix datagram socket to another
 *   (abstract names) and received with its sender's address, against
 *   `sendto` + `recvfrom` through a plain `Deno.dlopen`;
 * - sending a signal to a child that blocks it (so it stays pending, and
 *   later ones of the same standard signal merge into it): `sendSignal` by
 *   pid, to the child (its pidfd), with a value, against `kill` through
 *   `Deno.dlopen`.
 *
 * Not here: a signal sent to this process and read back. A signalfd sees a
 * signal only while every thread of the process blocks it, which a Deno
 * process gets only from its start, and `deno bench` starts with nothing
 * blocked and cannot be relaunched so (`relaunchWithSignalsBlocked` refuses
 * it). Signal round trips between two processes are in
 * bench/compare/signal.ts; socket ping-pong and throughput between two
 * processes, against C, in bench/compare/socket.ts.
 *
 * Run: `deno bench --allow-ffi --allow-read --allow-write --allow-net bench/socket_bench.ts`.
 * Without the last three (as in `deno task bench`) the `Deno.UnixConn` rows
 * are ignored: Deno's Unix sockets need read, write and net permission.
 *
 * @module
 */
import { datagram, sendSignal, socketpair, spawnProgram } from "../mod.ts";
import { LIBC_PATH } from "../ffi/platform.ts";

const libc = Deno.dlopen(LIBC_PATH, {
  send: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "u32", "i32", "buffer", "u32"], result: "i32" },
  recvfrom: { parameters: ["i32", "buffer", "u32", "i32", "buffer", "buffer"], result: "i32" },
}).symbols;

const SMALL = 64;
const LARGE = 64 * 1024;
const SIGUSR2 = 12;

const denoAllowed = (["read", "write", "net"] as const).every((name) =>
  Deno.permissions.querySync({ name }).state === "granted"
);

// Deno.bench has no teardown hook: what the suites made goes when the module unloads.
const cleanups: Array<() => void> = [];
globalThis.addEventListener("unload", () => cleanups.forEach((f) => f()));

function pairFixture(size: number) {
  const pair = socketpair();
  cleanups.push(() => pair[Symbol.dispose]());
  const [a, b] = pair;
  return { a, b, out: new Uint8Array(size).fill(7), into: new Uint8Array(size) };
}

/** Both ends of a Unix stream connection made with Deno's own API, in a temporary directory. */
async function denoFixture(size: number) {
  const dir = Deno.makeTempDirSync({ prefix: "ipc-bench-" });
  const listener = Deno.listen({ transport: "unix", path: `${dir}/bench.sock` });
  const client = await Deno.connect({ transport: "unix", path: `${dir}/bench.sock` });
  const server = await listener.accept();
  cleanups.push(() => {
    client.close();
    server.close();
    listener.close();
    Deno.removeSync(dir, { recursive: true });
  });
  return { client, server, out: new Uint8Array(size).fill(7), into: new Uint8Array(size) };
}

/** Fails loudly rather than timing a short transfer. */
function expect(n: number | null, size: number): void {
  if (n !== size) throw new Error(`moved ${n} bytes, expected ${size}`);
}

for (const size of [SMALL, LARGE]) {
  const label = size === SMALL ? "64 B" : "64 KiB";
  const group = `${label} write + read over a Unix stream socket`;

  {
    const f = pairFixture(size);
    const [afd, bfd] = [f.a.fd, f.b.fd];
    Deno.bench({
      name: `${label} raw libc send + recv (Deno.dlopen)`,
      group,
      baseline: true,
      fn() {
        expect(libc.send(afd, f.out, size, 0), size);
        expect(libc.recv(bfd, f.into, size, 0), size);
      },
    });
  }
  {
    const f = pairFixture(size);
    Deno.bench({
      name: `${label} writeSync + readSync`,
      group,
      fn() {
        f.a.writeSync(f.out);
        expect(f.b.readSync(f.into), size);
      },
    });
  }
  {
    const f = pairFixture(size);
    Deno.bench({
      name: `${label} await write + read`,
      group,
      async fn() {
        await f.a.write(f.out);
        expect(await f.b.read(f.into), size);
      },
    });
  }
  {
    const f = pairFixture(size);
    const chunks = f.b[Symbol.asyncIterator]();
    Deno.bench({
      name: `${label} writeSync + for await chunks`,
      group,
      async fn() {
        f.a.writeSync(f.out);
        let n = 0;
        while (n < size) n += (await chunks.next()).value!.byteLength;
        expect(n, size);
      },
    });
  }
  {
    const f = pairFixture(size);
    const chunks = f.b.readable.getReader();
    Deno.bench({
      name: `${label} writeSync + readable's read()`,
      group,
      async fn() {
        f.a.writeSync(f.out);
        let n = 0;
        while (n < size) n += (await chunks.read()).value!.byteLength;
        expect(n, size);
      },
    });
  }
  {
    const f = denoAllowed ? await denoFixture(size) : undefined;
    const chunks = f?.server.readable.getReader();
    Deno.bench({
      name: `${label} Deno.UnixConn write + readable's read()`,
      group,
      ignore: f === undefined,
      async fn() {
        expect(await f!.client.write(f!.out), size);
        let n = 0;
        while (n < size) n += (await chunks!.read()).value!.byteLength;
        expect(n, size);
      },
    });
  }
  {
    const f = denoAllowed ? await denoFixture(size) : undefined;
    Deno.bench({
      name: `${label} Deno.UnixConn await write + read`,
      group,
      ignore: f === undefined,
      async fn() {
        expect(await f!.client.write(f!.out), size);
        expect(await f!.server.read(f!.into), size);
      },
    });
  }
}

{
  const name = `ipc-bench-${Deno.pid}`;
  const a = datagram({ abstract: `${name}-a` });
  const b = datagram({ abstract: `${name}-b` });
  cleanups.push(() => (a.close(), b.close()));
  const out = new Uint8Array(SMALL).fill(7);
  const into = new Uint8Array(SMALL);
  const group = "64 B sendTo + receiveFrom between unconnected Unix datagram sockets";
  // struct sockaddr_un of b: AF_UNIX (1, host order), then a NUL and the abstract name.
  const bName = new TextEncoder().encode(`${name}-b`);
  const to = new Uint8Array(3 + bName.byteLength);
  new Uint16Array(to.buffer, 0, 1)[0] = 1;
  to.set(bName, 3);
  const from = new Uint8Array(128);
  const fromLen = new Uint32Array(1);
  const fromLenBytes = new Uint8Array(fromLen.buffer);
  Deno.bench({
    name: "raw sendto + recvfrom (Deno.dlopen)",
    group,
    baseline: true,
    fn() {
      libc.sendto(a.fd, out, SMALL, 0, to, to.byteLength);
      fromLen[0] = from.byteLength;
      expect(libc.recvfrom(b.fd, into, SMALL, 0, from, fromLenBytes), SMALL);
    },
  });
  Deno.bench({
    name: "sendToSync + receiveFromSync",
    group,
    fn() {
      a.sendToSync(out, b.addr);
      expect(b.receiveFromSync().data.byteLength, SMALL);
    },
  });
  Deno.bench({
    name: "sendToSync + receiveFromIntoSync",
    group,
    fn() {
      a.sendToSync(out, b.addr);
      expect(b.receiveFromIntoSync(into).size, SMALL);
    },
  });
  Deno.bench({
    name: "sendToSync to a new { abstract } each time + receiveFromSync",
    group,
    fn() {
      a.sendToSync(out, { abstract: `${name}-b` });
      expect(b.receiveFromSync().data.byteLength, SMALL);
    },
  });
}

{
  // A child that blocks SIGUSR2: every signal sent stays pending (merged into one), none is lost.
  const child = spawnProgram("/bin/sleep", ["1000"], { blockSignals: ["SIGUSR2"] });
  child.unref();
  cleanups.push(() => child.kill("SIGKILL"));
  const pid = child.pid;
  const value = { value: 1 };
  const group = "a signal to a child that blocks it";
  Deno.bench({
    name: "raw kill(pid, SIGUSR2) (Deno.dlopen)",
    group,
    baseline: true,
    fn() {
      if (libc.kill(pid, SIGUSR2) < 0) throw new Error("kill");
    },
  });
  Deno.bench({ name: "sendSignal(pid, SIGUSR2)", group, fn: () => sendSignal(pid, "SIGUSR2") });
  Deno.bench({
    name: "sendSignal(pid, SIGUSR2, { value }) (sigqueue)",
    group,
    fn: () => sendSignal(pid, "SIGUSR2", value),
  });
  Deno.bench({
    name: "sendSignal(child, SIGUSR2) (pidfd)",
    group,
    fn: () => sendSignal(child, "SIGUSR2"),
  });
  Deno.bench({
    name: "sendSignal(child, SIGUSR2, { value }) (pidfd)",
    group,
    fn: () => sendSignal(child, "SIGUSR2", value),
  });
}
