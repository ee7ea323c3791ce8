/**
 * Signals that carry a value: the parent sends its child the real-time signal
 * SIGRTMIN+1 three times with `sigqueue(3)`, with the values 1, 2 and 3. The
 * child, started with SIGRTMIN+1 blocked, reads them with a signalfd and
 * prints each value with its sender's pid (the parent's): real-time signals
 * queue, so each one arrives, in the order sent, with its own value. (Standard
 * signals do not queue: one sent while another of its kind is pending is lost.)
 *
 * Run: `deno run --allow-ffi examples/signal_payload.ts`. It prints, with the
 * parent's pid:
 *
 * ```text
 * Signal SIGRTMIN+1 from 12345: value 1
 * Signal SIGRTMIN+1 from 12345: value 2
 * Signal SIGRTMIN+1 from 12345: value 3
 * ```
 *
 * @module
 */
import { sendSignal, signals, spawn } from "@libc/ipc";

if (Deno.args[0] === "child") {
  using reader = signals(["SIGRTMIN+1"]);
  for (let i = 0; i < 3; i++) {
    const { name, pid, value } = await reader.read();
    console.log(`Signal ${name} from ${pid}: value ${value}`);
  }
} else {
  // Blocked from the child's first instruction, the signals wait for its reader.
  const child = spawn(import.meta.url, { args: ["child"], blockSignals: ["SIGRTMIN+1"] });
  // By pid, with a value: sigqueue(3). (The child is ours and not reaped: its pid is its own.)
  for (const value of [1, 2, 3]) sendSignal(child.pid, "SIGRTMIN+1", { value });
  const status = await child.status;
  if (!status.success) Deno.exit(status.code);
}
