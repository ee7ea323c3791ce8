/**
 * Argument checks and open helpers of {@link PosixMessageQueue}: names,
 * sizes against the kernel's /proc limits, priorities, and `mq_open` errors.
 *
 * @module
 */
import { posixName } from "../_posix_name.ts";
import { checkInteger, shown } from "../_check.ts";
import { C } from "../../ffi/platform.ts";
import { MQ_HARD_LIMITS } from "../../ffi/symbols/mqueue.ts";
import { E, errorOf } from "../_sys.ts";
import { procSysInt, procText } from "../_proc.ts";

/** Priorities run from 0 to `MQ_PRIO_MAX - 1` (32767 on Linux). */
const MQ_PRIO_MAX: number = C.MQ_PRIO_MAX;

/** Where the kernel publishes the POSIX queue limits. */
const PROC = "/proc/sys/fs/mqueue";
/** The kernel's defaults when /proc cannot be read (`DFLT_MSG`, `DFLT_MSGSIZE`). */
const DEFAULT_MAX_MESSAGES = 10;
const DEFAULT_MESSAGE_SIZE = 8192;

/** Checks a queue name (mq_overview(7)) and returns it as a C string. */
export function checkName(name: unknown): Uint8Array<ArrayBuffer> {
  return posixName(name, "queue name", C.NAME_MAX + 1);
}

export function accessFlags(access: unknown): number {
  switch (access) {
    case undefined:
    case "readwrite":
      return C.O_RDWR;
    case "read":
      return C.O_RDONLY;
    case "write":
      return C.O_WRONLY;
    default:
      throw new TypeError(`access must be "read", "write" or "readwrite", got ${shown(access)}`);
  }
}

export function checkCount(value: unknown, what: string, hard: number): number | undefined {
  if (value === undefined) return undefined;
  return checkInteger(value, what, 1, hard, `1..${hard} (the kernel's ceiling)`);
}

/** Whether this thread has CAP_SYS_RESOURCE in its effective set (capabilities are per thread). */
export function hasCapSysResource(): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(procText("/proc/thread-self/status") ?? "");
  return m !== null && ((BigInt(`0x${m[1]}`) >> BigInt(C.CAP_SYS_RESOURCE)) & 1n) === 1n;
}

/** The queue size to create, checked against the /proc limits; `undefined`: the kernel's defaults. */
export function checkSize(
  options: { maxMessages?: unknown; messageSize?: unknown },
): { maxMessages: number; messageSize: number } | undefined {
  const max = checkCount(options.maxMessages, "maxMessages", MQ_HARD_LIMITS.maxMessages);
  const size = checkCount(options.messageSize, "messageSize", MQ_HARD_LIMITS.messageSize);
  if (max === undefined && size === undefined) return undefined;
  const msgMax = procSysInt("fs/mqueue/msg_max");
  const sizeMax = procSysInt("fs/mqueue/msgsize_max");
  // The kernel's defaults for a missing half, as for a NULL attr: min(default, max).
  const maxMessages = max ??
    Math.min(procSysInt("fs/mqueue/msg_default") ?? DEFAULT_MAX_MESSAGES, msgMax ?? Infinity);
  const messageSize = size ??
    Math.min(procSysInt("fs/mqueue/msgsize_default") ?? DEFAULT_MESSAGE_SIZE, sizeMax ?? Infinity);
  const over = limitExceeded(maxMessages, messageSize, msgMax, sizeMax);
  if (over !== undefined && !hasCapSysResource()) throw new RangeError(over);
  return { maxMessages, messageSize };
}

/** Text naming the /proc limit that `maxMessages`/`messageSize` exceed, if any. */
export function limitExceeded(
  maxMessages: number,
  messageSize: number,
  msgMax = procSysInt("fs/mqueue/msg_max"),
  sizeMax = procSysInt("fs/mqueue/msgsize_max"),
): string | undefined {
  const lift = "; only a process with CAP_SYS_RESOURCE may exceed it";
  if (msgMax !== undefined && maxMessages > msgMax) {
    return `maxMessages ${maxMessages} is above the limit in ${PROC}/msg_max (${msgMax})${lift}`;
  }
  if (sizeMax !== undefined && messageSize > sizeMax) {
    return `messageSize ${messageSize} is above the limit in ${PROC}/msgsize_max (${sizeMax})${lift}`;
  }
  return undefined;
}

export function checkPriority(priority: unknown): number {
  if (priority === undefined) return 0;
  return checkInteger(priority, "priority", 0, MQ_PRIO_MAX - 1, PRIORITY_RANGE);
}

const PRIORITY_RANGE = `0..${MQ_PRIO_MAX - 1} (MQ_PRIO_MAX - 1)`;

/** Adds what the kernel's terse errno means for mq_open. */
export function openError(
  code: number,
  name: string,
  size: { maxMessages: number; messageSize: number } | undefined,
): Error {
  const e = errorOf(code, "mq_open", { path: name });
  if (code === E.EINVAL && size !== undefined) {
    // With CAP_SYS_RESOURCE in a user namespace the kernel still applies the /proc limits.
    const over = limitExceeded(size.maxMessages, size.messageSize);
    if (over !== undefined) {
      return Object.assign(new RangeError(`${over} (${e.message})`), e, { name: "RangeError" });
    }
  } else if (code === E.EMFILE) {
    const rl = /^Max msgqueue size\s+(\d+)/m.exec(procText("/proc/self/limits") ?? "");
    e.message += `; or the queues of this user would exceed RLIMIT_MSGQUEUE` +
      `${rl ? ` (${rl[1]} bytes)` : ""}: close and unlink some, or create smaller ones`;
  } else if (code === E.ENOSPC) {
    e.message += `; the system's queue count reached ${PROC}/queues_max`;
  }
  return e;
}
