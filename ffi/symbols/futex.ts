/**
 * `futex(2)` and `futex_waitv(2)`, through `long syscall(long number, ...)`
 * (glibc has no wrappers). The variadic `syscall` is declared with fixed
 * parameters, which Linux ABIs pass in the same registers. The number is an
 * `i64`: the kernel reads the whole register. Results are small (0, a count,
 * an index, or -1), so they are read as `i32`.
 *
 * @module
 */

export const futex = {
  // long syscall(SYS_futex, uint32_t *uaddr, int op, uint32_t val,
  //              const struct timespec *timeout, uint32_t *uaddr2, uint32_t val3);
  futex: {
    name: "syscall",
    parameters: ["i64", "pointer", "i32", "u32", "buffer", "pointer", "u32"],
    result: "i32",
  },
  // long syscall(SYS_futex_waitv, struct futex_waitv *waiters, unsigned int nr_futexes,
  //              unsigned int flags, struct timespec *timeout, clockid_t clockid);
  futex_waitv: {
    name: "syscall",
    parameters: ["i64", "buffer", "u32", "u32", "pointer", "i32"],
    result: "i32",
  },
  // The same, parked on a pool thread: the one call that waits on every futex word.
  futex_waitv_parked: {
    name: "syscall",
    parameters: ["i64", "buffer", "u32", "u32", "pointer", "i32"],
    result: "i32",
    nonblocking: true,
  },
  // The futex(2) wait, parked on a pool thread (the fallback without futex_waitv).
  futex_parked: {
    name: "syscall",
    parameters: ["i64", "pointer", "i32", "u32", "pointer", "pointer", "u32"],
    result: "i32",
    nonblocking: true,
  },
} as const;
