/**
 * The mode of a file this process just created at a path (a FIFO, a socket
 * file, a named semaphore's file), set again where the umask narrowed it.
 *
 * @module
 */
import { cString } from "../ffi/cstring.ts";
import { libc } from "../ffi/libc.ts";
import { C } from "../ffi/platform.ts";
import { E, errorOf, lastErrno, ok } from "./_sys.ts";
import { errorFromCode } from "./errors.ts";
import { A_FILE_KIND, cPath, type FileKind, fileOfFd } from "./_path.ts";

/**
 * Gives the `kind` of file this process just created at `path` exactly
 * `mode`, through a descriptor of what is there now (`O_PATH|O_NOFOLLOW`),
 * and only if it is still such a file of this user (and the inode `id`, when
 * known). A `chmod(2)` of the path would follow whatever someone with write
 * access to the directory put there meanwhile: a symbolic link to a file of
 * ours would get the mode. Where the descriptor cannot be named
 * (`/proc/self/fd` absent), the path is used after all.
 */
export function chmodCreated(
  path: string,
  mode: number,
  kind: FileKind,
  syscall: string,
  id?: string,
): void {
  const c = cPath(path);
  const fd = libc.open(c, C.O_PATH | C.O_NOFOLLOW | C.O_CLOEXEC, 0);
  if (fd < 0) throw errorOf(lastErrno(), "open", { path });
  try {
    const now = fileOfFd(fd);
    if (now === null) throw errorOf(lastErrno(), "fstat", { path });
    if (now.kind !== kind || now.uid !== libc.geteuid() || (id !== undefined && now.id !== id)) {
      throw errorFromCode(
        E.ENOENT,
        syscall,
        { path },
        `what was made there (${A_FILE_KIND[kind]}) was replaced by ${
          A_FILE_KIND[now.kind]
        } before its mode was set`,
      );
    }
    if (now.mode === mode) return;
    if (libc.chmod(cString(`/proc/self/fd/${fd}`), mode) === 0) return;
    if (lastErrno() !== E.ENOENT) throw errorOf(lastErrno(), "chmod", { path });
    ok(libc.chmod(c, mode), "chmod", { path });
  } finally {
    libc.close(fd);
  }
}
