/**
 * Peer credentials of Unix sockets (`SO_PEERCRED`), and the uid check a
 * listener applies to the connections it accepts.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { ok } from "../_sys.ts";
import type { ErrorSubject } from "../errors.ts";
import { checkInteger, shown } from "../_check.ts";

const UCRED = LAYOUTS.ucred;

/**
 * Who is at the other end of a Unix socket: its process id, user id and group
 * id (`struct ucred`). For a connection, as the kernel recorded them when it
 * was made (`connect(2)`, `listen(2)` or `socketpair(2)`; `SO_PEERCRED`), with
 * the effective ids; for a datagram, as it was sent (`SCM_CREDENTIALS`; see
 * {@link Datagram.credentials}).
 *
 * @example
 * ```ts
 * import { type PeerCredentials, socketpair } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * using pair = socketpair();
 * const peer: PeerCredentials = pair[0].peerCredentials();
 * assert.equal(peer.pid, Deno.pid);
 * ```
 */
export interface PeerCredentials {
  /** The peer's process id (of the process that connected, or sent the datagram; it may have ended since). */
  readonly pid: number;
  /** The peer's user id (effective for a connection, real for a datagram). */
  readonly uid: number;
  /** The peer's group id (effective for a connection, real for a datagram). */
  readonly gid: number;
}

// One buffer for every call: they end before any other code runs.
const credBuf = new Uint8Array(UCRED.size);
const credLen = new Uint32Array(1);
const credLenBytes = new Uint8Array(credLen.buffer);

/** The credentials `getsockopt(SO_PEERCRED)` reports for the Unix socket `fd`. */
export function peerCredentialsOf(fd: number, subject: ErrorSubject): PeerCredentials {
  credLen[0] = UCRED.size;
  ok(
    libc.getsockopt(fd, C.SOL_SOCKET, C.SO_PEERCRED, credBuf, credLenBytes),
    "getsockopt",
    subject,
  );
  const { pid, uid, gid } = UCRED.decode(credBuf);
  return { pid, uid, gid };
}

/**
 * Which peers a Unix listener accepts: `"same"` (the user the listening
 * socket belongs to) or a list of user ids.
 *
 * @example
 * ```ts
 * import type { AllowUids } from "@libc/ipc";
 * const onlyRootAndNobody: AllowUids = [0, 65534];
 * ```
 */
export type AllowUids = "same" | readonly number[];

/** Checks `allowUids` before any system call: `"same"`, or a non-empty list of uids. */
export function checkAllowUids(allowUids: unknown): AllowUids | undefined {
  if (allowUids === undefined || allowUids === "same") return allowUids;
  if (!Array.isArray(allowUids)) {
    throw new TypeError(
      `allowUids must be "same" or an array of user ids, got ${shown(allowUids)}`,
    );
  }
  if (allowUids.length === 0) {
    throw new RangeError("allowUids is empty: it would refuse every peer");
  }
  for (const uid of allowUids) checkInteger(uid, "allowUids: a user id", 0, 0xfffffffe);
  return allowUids;
}

/** Checks `onRefused`: a function, or nothing. */
export function checkOnRefused(
  onRefused: unknown,
): ((peer: PeerCredentials) => void) | undefined {
  if (onRefused !== undefined && typeof onRefused !== "function") {
    throw new TypeError(`onRefused must be a function, got ${typeof onRefused}`);
  }
  return onRefused as ((peer: PeerCredentials) => void) | undefined;
}

/** The check a listener applies to each connection it accepts. */
export interface PeerGate {
  /** Whether the peer of the accepted socket `fd` may stay; its credentials otherwise. */
  refuses(fd: number, subject: ErrorSubject): PeerCredentials | undefined;
  readonly onRefused?: (peer: PeerCredentials) => void;
}

/**
 * The gate for a listening socket `fd`. `"same"` is the user the listening
 * socket belongs to: its own `SO_PEERCRED`, which `listen(2)` records.
 */
export function peerGate(
  fd: number,
  allowUids: AllowUids,
  onRefused: ((peer: PeerCredentials) => void) | undefined,
  subject: ErrorSubject,
): PeerGate {
  const uids = new Set(allowUids === "same" ? [peerCredentialsOf(fd, subject).uid] : allowUids);
  return {
    refuses(accepted, about) {
      const peer = peerCredentialsOf(accepted, about);
      return uids.has(peer.uid) ? undefined : peer;
    },
    onRefused,
  };
}
