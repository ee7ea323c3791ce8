/**
 * @libc/ipc — every classic POSIX inter-process-communication primitive for
 * Deno, called in libc through `Deno.dlopen`: no native addon, only
 * `--allow-ffi`.
 *
 * @example A pipe between a parent and a child it spawns
 * ```ts ignore
 * import { FdReader, pipe, spawn } from "@libc/ipc";
 * if (Deno.args[0] === "child") {
 *   using reader = new FdReader(3);
 *   console.log("Child process received:", await new Response(reader.readable).text());
 * } else {
 *   const p = pipe();
 *   await using child = spawn(import.meta.url, { args: ["child"], fds: { 3: p.reader } });
 *   p.reader.close();
 *   await p.writer.write("Hello from parent process");
 *   p.writer.close();
 *   await child.status;
 * }
 * ```
 *
 * @module
 */
export {
  type ErrorSubject,
  IpcError,
  type SystemError,
  type SystemErrorInfo,
} from "./src/errors.ts";
export type { WaitOptions } from "./src/_wait.ts";
export { FdHandle } from "./src/fd_handle.ts";
export { FdReader, type SyncWaitOptions } from "./src/fd_reader.ts";
export { FdWriter, type WriteData } from "./src/fd_writer.ts";
export { type Pipe, pipe } from "./src/pipe.ts";
export { type SignalName, signalNumber } from "./src/signals.ts";
export {
  ChildProcess,
  type ChildStatus,
  type FdSource,
  spawn,
  type SpawnOptions,
  spawnProgram,
  type SpawnProgramOptions,
} from "./src/spawn.ts";
export {
  Fifo,
  type FifoCreateOptions,
  type FifoEnd,
  type FifoOpenOptions,
  type FifoOpenSyncOptions,
  type FifoSide,
} from "./src/fifo.ts";
export type { PathLike } from "./src/_path.ts";
export {
  type Message,
  MessageQueue,
  type MessageQueueOptions,
  type MessageQueueStat,
  type MessageType,
  type ReceiveOptions,
  type SendOptions,
} from "./src/msg_queue.ts";
export {
  type PosixMessage,
  PosixMessageQueue,
  type PosixMessageQueueAccess,
  type PosixMessageQueueAttributes,
  type PosixMessageQueueOpenOptions,
  type PosixMessagesOptions,
  type PosixReceiveOptions,
  type PosixReceiveSyncOptions,
  type PosixSendOptions,
  type PosixSendSyncOptions,
  type PosixTrySendOptions,
} from "./src/posix_mq.ts";
