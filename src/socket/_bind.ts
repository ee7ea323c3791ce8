/**
 * Binding Unix sockets to file system paths: the socket file gets exactly
 * the mode asked for, a stale socket file may be replaced, and the file is
 * removed at close only if it is still the one this socket created.
 *
 * The mode is set without a window in which the file has more permissions
 * than asked for: `bind(2)` creates the file with the socket inode's mode
 * less the umask, so `fchmod(2)` on the socket before `bind` makes the file
 * appear with at most `mode`; a `chmod(2)` then gives it exactly `mode` where
 * the umask took bits away, through a descriptor of the file bound, never
 * through a link put at the path meanwhile. The kernel binds the name itself, so the address
 * peers see (`getpeername`) is the real path.
 *
 * @module
 */
import { libc } from "../../ffi/libc.ts";
import { C } from "../../ffi/platform.ts";
import { E, errorOf, lastErrno, ok } from "../_sys.ts";
import { errorFromCode } from "../errors.ts";
import { A_FILE_KIND, cPath, fileOf } from "../_path.ts";
import type { Endpoint } from "./_address.ts";
import { decodeName, encodeName } from "../../ffi/cstring.ts";
import { openSocket } from "./_socket.ts";
import { chmodCreated } from "../_chmod.ts";

/**
 * A socket file this process created: its path (absolute, so that a change
 * of working directory does not make close() look elsewhere), and the inode
 * it had.
 */
export interface BoundPath {
  readonly path: string;
  /** Which file (`st_dev:st_ino`). */
  readonly id: string;
}

/**
 * `path` made absolute against the working directory (from libc: no
 * `--allow-read`; its bytes that are not UTF-8 kept as {@link decodeName}
 * carries them), or `path` itself when that cannot name it: the directory
 * is removed, or too deep for the result to fit PATH_MAX (lstat and unlink
 * would refuse it). Called after a successful bind, which a throw here would
 * leave with its file on disk.
 */
function absolute(path: string): string {
  if (path.startsWith("/")) return path;
  const buf = new Uint8Array(C.PATH_MAX);
  if (libc.getcwd(buf, BigInt(buf.byteLength)) === null) return path;
  const cwd = buf.subarray(0, buf.indexOf(0));
  if (cwd.byteLength + 1 + encodeName(path).byteLength >= C.PATH_MAX) return path;
  const dir = decodeName(cwd);
  return `${dir === "/" ? "" : dir}/${path}`;
}

/**
 * Whether no socket is bound to the socket file at `at` any more: a connect
 * is refused (ECONNREFUSED), or the file went away meanwhile. The probe is a
 * datagram socket, whatever the socket there: a stream or seqpacket one
 * answers EPROTOTYPE, bound or listening, and a connect of its own type would
 * sit in a live listener's queue for it to accept; a datagram one only
 * records the peer.
 */
function isStale(at: Endpoint): boolean | "cannot tell" {
  const probe = openSocket(C.AF_UNIX, "datagram", at.subject);
  const r = libc.connect(probe, at.sockaddr, at.length);
  const code = r < 0 ? lastErrno() : 0;
  libc.close(probe);
  // The file's mode keeps this user from connecting: bound or not, the probe cannot say.
  if (code === E.EACCES || code === E.EPERM) return "cannot tell";
  return code === E.ECONNREFUSED || code === E.ENOENT;
}

/**
 * Binds `fd` (a Unix socket) to the path of `at`, the file with
 * exactly `mode`. An existing file there is AddrInUse, unless `replace` is
 * set and it is a socket no process has bound any more: that one is removed first.
 */
export function bindPath(
  fd: number,
  at: Endpoint,
  mode: number,
  replace: boolean,
): BoundPath {
  const path = at.path!;
  const c = cPath(path);
  ok(libc.fchmod(fd, mode), "fchmod", { path });
  if (libc.bind(fd, at.sockaddr, at.length) < 0) {
    const code = lastErrno();
    if (code !== E.EADDRINUSE) throw errorOf(code, "bind", { path });
    const there = fileOf(path, false);
    if (there !== null && there.kind !== "socket") {
      throw errorFromCode(code, "bind", { path }, `it exists and is ${A_FILE_KIND[there.kind]}`);
    }
    if (!replace) {
      throw errorFromCode(
        code,
        "bind",
        { path },
        "a socket file is there; replace: true replaces a stale one",
      );
    }
    const stale = isStale(at);
    if (stale !== true) {
      throw errorFromCode(
        code,
        "bind",
        { path },
        stale === false
          ? "a socket there is in use: a process has it bound"
          : "a socket file is there that this user may not connect to, so whether a process " +
            "has it bound cannot be told: remove it, if it is stale, as a user who may",
      );
    }
    if (libc.unlink(c) < 0 && lastErrno() !== E.ENOENT) {
      throw errorOf(lastErrno(), "unlink", { path });
    }
    // Someone may have bound it again meanwhile: then this is AddrInUse after all.
    ok(libc.bind(fd, at.sockaddr, at.length), "bind", { path });
  }
  const mine = fileOf(path, false);
  if (mine === null || mine.kind !== "socket") {
    throw errorFromCode(E.ENOENT, "bind", { path }, "the socket file vanished right after bind");
  }
  const bound = { path: absolute(path), id: mine.id };
  // The umask took bits away: give them back.
  if (mine.mode !== mode) {
    try {
      chmodCreated(path, mode, "socket", "bind", mine.id);
    } catch (e) {
      releasePath(bound);
      throw e;
    }
  }
  return bound;
}

/** Removes the socket file, if it is still the one this socket created (not a newer one). */
export function releasePath(bound: BoundPath): void {
  const c = cPath(bound.path);
  let now;
  try {
    now = fileOf(bound.path, false);
  } catch {
    return;
  }
  if (now !== null && now.kind === "socket" && now.id === bound.id) {
    libc.unlink(c);
  }
}
