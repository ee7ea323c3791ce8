/**
 * The Deno child of bench/compare/signal.ts: it answers each signal from its
 * parent with one back (signals: signal_common.ts).
 *
 *   echo-MODE N PARENT   N rounds: reads THERE carrying the round's number i and
 *                        sends BACK with i to PARENT; then ends at THERE with STOP
 *   listener N PARENT    with `Deno.addSignalListener` and `Deno.kill` only: says it
 *                        listens (one LISTEN_BACK), answers N LISTEN_THERE with
 *                        LISTEN_BACK, and ends at the next one
 *
 * MODE is `sync` or `async` (this library's signalfd reader and `sendSignal`)
 * or `raw` (the floor: `sigtimedwait` and `sigqueue` through a plain
 * `Deno.dlopen`). The echo modes need THERE blocked from the start
 * (`spawn(..., { blockSignals })`); the listener mode needs `--allow-run`.
 *
 * @module
 */
import { sendSignal, signalNumber, signals } from "../../mod.ts";
import { BACK, LISTEN_BACK, LISTEN_THERE, RawSignals, STOP, THERE } from "./signal_common.ts";

const [role, mode] = Deno.args[0]?.split("-") ?? [];
const rounds = Number(Deno.args[1]);
const parent = Number(Deno.args[2]);

if (role === "echo" && mode === "raw") {
  const raw = new RawSignals(THERE);
  const back = signalNumber(BACK);
  for (let i = 0; i < rounds; i++) {
    const value = raw.wait();
    if (value !== i) throw new Error(`round ${i}: got value ${value}`);
    raw.send(parent, back, value);
  }
  if (raw.wait() !== STOP) throw new Error("expected the stop value");
} else if (role === "echo" && (mode === "sync" || mode === "async")) {
  using reader = signals([THERE]);
  for (let i = 0; i < rounds; i++) {
    const { value } = mode === "sync" ? reader.readSync() : await reader.read();
    if (value !== i) throw new Error(`round ${i}: got value ${value}`);
    sendSignal(parent, BACK, { value });
  }
  const { value } = mode === "sync" ? reader.readSync() : await reader.read();
  if (value !== STOP) throw new Error(`expected the stop value, got ${value}`);
} else if (role === "listener") {
  // A signal listener does not keep a Deno process alive: a timer that never fires does.
  const alive = setInterval(() => {}, 2 ** 30);
  let answered = 0;
  const answer = () => {
    if (answered++ < rounds) return Deno.kill(parent, LISTEN_BACK);
    Deno.removeSignalListener(LISTEN_THERE, answer);
    clearInterval(alive);
  };
  Deno.addSignalListener(LISTEN_THERE, answer);
  Deno.kill(parent, LISTEN_BACK);
} else {
  throw new TypeError(
    `usage: signal_child.ts echo-MODE N PARENT | listener N PARENT, got ${Deno.args}`,
  );
}
