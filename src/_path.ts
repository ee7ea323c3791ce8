/**
 * File system paths given by users: checked, encoded as C strings, and their
 * file type read with `stat(2)` (no `--allow-read` needed).
 *
 * @module
 */
import { cString, encodeName } from "../ffi/cstring.ts";
import { libc } from "../ffi/libc.ts";
import { C, LAYOUTS } from "../ffi/platform.ts";
import { E, errorOf, lastErrno } from "./_sys.ts";
import { shown } from "./_check.ts";

/**
 * A path as a string, or a `file:` URL.
 *
 * @example The same file, named both ways
 * ```ts
 * import { MessageQueue, type PathLike } from "@libc/ipc";
 * import assert from "node:assert/strict";
 * const [text, url]: PathLike[] = ["/", new URL("file:///")];
 * assert.equal(MessageQueue.ftok(text, 65), MessageQueue.ftok(url, 65));
 * ```
 */
export type PathLike = string | URL;

/** The path as text, checked: a non-empty string without NUL, shorter than PATH_MAX. */
export function pathText(path: PathLike, what = "path"): string {
  if (path instanceof URL) {
    if (path.protocol !== "file:") {
      throw new TypeError(`${what} must be a file: URL, got ${path.href}`);
    }
    // As Deno's own file APIs: a host would name another machine's file.
    if (path.host !== "") {
      throw new TypeError(`${what}: a file: URL must have no host, got ${path.href}`);
    }
    // As Deno's own pathFromURL: a `%` that begins no escape stands for itself.
    path = decodeURIComponent(path.pathname.replace(/%(?![0-9A-Fa-f]{2})/g, "%25"));
  }
  if (typeof path !== "string") {
    throw new TypeError(`${what} must be a string or file: URL, got ${shown(path)}`);
  }
  if (path === "") throw new TypeError(`${what} must not be empty`);
  if (path.includes("\0")) throw new TypeError(`${what} must not contain a NUL character`);
  const bytes = encodeName(path, what).byteLength;
  if (bytes >= C.PATH_MAX) {
    throw new RangeError(
      `${what} is ${bytes} bytes long; the limit (PATH_MAX) is ${C.PATH_MAX - 1}`,
    );
  }
  return path;
}

/** `path` as a NUL-terminated C string. */
export function cPath(path: string): Uint8Array<ArrayBuffer> {
  return cString(path, "path");
}

/** The kind of file at a path, from `st_mode` (a symbolic link only where it is not followed). */
export type FileKind = "fifo" | "file" | "directory" | "socket" | "symbolic link" | "other";

/** Each kind with its article, for messages: "it is a regular file". */
export const A_FILE_KIND: Readonly<Record<FileKind, string>> = {
  fifo: "a FIFO",
  file: "a regular file",
  directory: "a directory",
  socket: "a socket",
  "symbolic link": "a symbolic link",
  other: "a device or other special file",
};

/** The kind of file at `path`, or `null` when nothing is there. */
export function fileKind(path: string): FileKind | null {
  return fileOf(path)?.kind ?? null;
}

/** What `stat(2)` says of a file, as this library uses it. */
export interface FileInfo {
  readonly kind: FileKind;
  /** `st_mode & S_IFMT`: the kind as C has it. */
  readonly type: number;
  /** The permission bits (`st_mode & 07777`). */
  readonly mode: number;
  readonly uid: number;
  /** Which file it is: `st_dev:st_ino`, the same for every path and descriptor of it. */
  readonly id: string;
  readonly size: bigint;
}

/**
 * What is at `path` (following links, unless `follow` is false: `lstat(2)`),
 * or null when nothing is there; other failures of `stat(2)` throw.
 */
export function fileOf(path: string, follow = true): FileInfo | null {
  const buf = new Uint8Array(LAYOUTS.stat.size);
  if ((follow ? libc.stat(cPath(path), buf) : libc.lstat(cPath(path), buf)) < 0) {
    const code = lastErrno();
    if (code === E.ENOENT) return null;
    throw errorOf(code, follow ? "stat" : "lstat", { path });
  }
  return infoOf(buf);
}

/** What `fd` is open on (`fstat(2)`), or null when that fails (errno says why). */
export function fileOfFd(fd: number): FileInfo | null {
  const buf = new Uint8Array(LAYOUTS.stat.size);
  return libc.fstat(fd, buf) < 0 ? null : infoOf(buf);
}

function infoOf(buf: Uint8Array): FileInfo {
  const st = LAYOUTS.stat.decode(buf);
  const type = st.st_mode & C.S_IFMT;
  return {
    kind: kindOf(type),
    type,
    mode: st.st_mode & 0o7777,
    uid: st.st_uid,
    id: `${st.st_dev}:${st.st_ino}`,
    size: BigInt(st.st_size),
  };
}

/** The kind of file of an `st_mode & S_IFMT`. */
export function kindOf(mode: number): FileKind {
  switch (mode) {
    case C.S_IFLNK:
      return "symbolic link";
    case C.S_IFIFO:
      return "fifo";
    case C.S_IFREG:
      return "file";
    case C.S_IFDIR:
      return "directory";
    case C.S_IFSOCK:
      return "socket";
    default:
      return "other";
  }
}
