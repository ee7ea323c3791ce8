/**
 * Message queues, System V and POSIX: `@libc/ipc/mq`.
 *
 * @example
 * ```ts
 * import { MessageQueue } from "@libc/ipc/mq";
 * import assert from "node:assert/strict";
 * using q = MessageQueue.open("private");
 * q.sendSync("hi", { type: 2 });
 * assert.equal(q.receiveSync().type, 2);
 * q.remove();
 * ```
 *
 * @module
 */
export {
  type Message,
  type MessageInfo,
  MessageQueue,
  type MessageQueueOpenOptions,
  type MessageQueueReceiveOptions,
  type MessageQueueSendOptions,
  type MessageQueueStat,
  type MessageType,
  type ReceivedMessageError,
  type SysvOwnership,
  type SysvOwnershipChange,
} from "./message_queue.ts";
export {
  type PosixMessage,
  type PosixMessageInfo,
  PosixMessageQueue,
  type PosixMessageQueueAttributes,
  type PosixMessageQueueOpenOptions,
  type PosixMessageQueueSendOptions,
} from "./posix_message_queue.ts";
export type { PosixMessageQueueNotificationOptions } from "./_notification.ts";
export type { RealTimeSignalName, SignalName, StandardSignalName } from "../signal/names.ts";
export { FdHandle } from "../fd/handle.ts";
export { type ErrorSubject, IpcError, type SystemError, type SystemErrorInfo } from "../errors.ts";
export type { Access, Direction, SyncWaitOptions, WaitOptions } from "../options.ts";
export type { PathLike } from "../_path.ts";
export { released } from "../_wait/release.ts";
