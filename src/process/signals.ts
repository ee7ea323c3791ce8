/**
 * Signal names and numbers, for spawn's `blockSignals` and `ChildProcess`;
 * they live with the signal family (`src/signal/names.ts`).
 *
 * @module
 */
export {
  type RealTimeSignalName,
  type SignalName,
  signalName,
  signalNumber,
  type StandardSignalName,
} from "../signal/names.ts";
