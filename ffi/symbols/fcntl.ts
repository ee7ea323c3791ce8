/** Symbols of `<fcntl.h>` and `<sys/stat.h>`. @module */

export const fcntl = {
  // int open(const char *pathname, int flags, ... /* mode_t mode */);
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  // Blocking form of open(2), parked on a pool thread (FIFO opens wait for the other side).
  open_parked: {
    name: "open",
    parameters: ["buffer", "i32", "u32"],
    result: "i32",
    nonblocking: true,
  },
  // int fcntl(int fd, int cmd, ... /* arg */);
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // fcntl(fd, F_OFD_SETLK | F_OFD_GETLK | F_OFD_SETLKW, struct flock *)
  fcntl_lock: { name: "fcntl", parameters: ["i32", "i32", "buffer"], result: "i32" },
  // F_OFD_SETLKW waits for the lock: parked on a pool thread.
  fcntl_lock_parked: {
    name: "fcntl",
    parameters: ["i32", "i32", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  // int mkfifo(const char *pathname, mode_t mode);
  mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  // int chmod(const char *pathname, mode_t mode);
  chmod: { parameters: ["buffer", "u32"], result: "i32" },
  // int stat(const char *restrict pathname, struct stat *restrict statbuf);
  stat: { parameters: ["buffer", "buffer"], result: "i32" },
  // int lstat(const char *restrict pathname, struct stat *restrict statbuf);
  lstat: { parameters: ["buffer", "buffer"], result: "i32" },
} as const;
