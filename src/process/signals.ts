/**
 * Signal names and numbers, for spawn's `blockSignals` and `ChildProcess`;
 * they live with the signal family (`src/signal/names.ts`).
 *
 * @module
 */
export { type SignalName, signalName, signalNumber } from "../signal/names.ts";
