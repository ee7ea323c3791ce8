/**
 * A signal from parent to child, read with a signalfd: the parent starts a
 * child with SIGUSR1 blocked from its first instruction, waits until the child
 * says (on a pipe) that its signal reader is open, and sends it SIGUSR1. The
 * child reads the signal with its sender's pid and prints its number.
 *
 * Blocked in every thread from the start, SIGUSR1 waits, pending, for the
 * child's reader; unblocked, it would open Deno's V8 inspector (or, in the
 * first moments of the process, kill it). A script started without a parent
 * of ours gets the same with `await relaunchWithSignalsBlocked(["SIGUSR1"])`.
 *
 * Run: `deno run --allow-ffi examples/signal.ts`. It prints:
 *
 * ```text
 * Signal received: 10
 * ```
 *
 * @module
 */
import { FdWriter, pipe, sendSignal, signals, spawn } from "@libc/ipc";

if (Deno.args[0] === "child") {
  using reader = signals(["SIGUSR1"]);
  // Fd 3 is the writing end of a pipe the parent reads: say the reader is open.
  using ready = new FdWriter(3);
  ready.writeSync("ready");
  ready.close();
  const signal = await reader.read();
  console.log(`Signal received: ${signal.signal}`);
} else {
  const { reader, writer } = pipe();
  const child = spawn(import.meta.url, {
    args: ["child"],
    blockSignals: ["SIGUSR1"],
    fds: { 3: writer },
  });
  writer.close();
  // The child closes its end once it is ready: the text ends there.
  await new Response(reader.readable).text();
  // Through the child's pidfd: never to another process that reused its pid.
  sendSignal(child, "SIGUSR1");
  const status = await child.status;
  if (!status.success) Deno.exit(status.code);
}
