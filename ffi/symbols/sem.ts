/**
 * Symbols of `<sys/sem.h>` (System V semaphores) and `<semaphore.h>` (POSIX
 * semaphores, in libc.so.6 since glibc 2.34).
 *
 * `semctl` is variadic: its fourth argument, a `union semun`, is declared as
 * a pointer (`IPC_STAT`, `GETALL`, `SETALL`, `IPC_INFO`) or as an integer
 * (`SETVAL`); Linux ABIs pass either in the same register. glibc's `semop`
 * enters the `semtimedop` system call with no timeout, so a parked `semop`
 * is found in `/proc/self/task/<tid>/syscall` as `SYS_semtimedop` with the
 * `sembuf` array as argument 1. `sem_open` returns `SEM_FAILED`, which glibc
 * defines as a null pointer.
 *
 * @module
 */

export const sem = {
  // int semget(key_t key, int nsems, int semflg);
  semget: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // int semop(int semid, struct sembuf *sops, size_t nsops);
  semop: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // The same, parked on a pool thread: operations that wait.
  semop_parked: {
    name: "semop",
    parameters: ["i32", "buffer", "u32"],
    result: "i32",
    nonblocking: true,
  },
  // int semtimedop(int semid, struct sembuf *sops, size_t nsops, const struct timespec *timeout);
  semtimedop: { parameters: ["i32", "buffer", "u32", "buffer"], result: "i32" },
  // int semctl(int semid, int semnum, int cmd, ... /* union semun arg */) with a pointer member.
  semctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  // The same with the `int val` member (SETVAL).
  semctl_value: { name: "semctl", parameters: ["i32", "i32", "i32", "i32"], result: "i32" },

  // sem_t *sem_open(const char *name, int oflag, ... /* mode_t mode, unsigned int value */);
  sem_open: { parameters: ["buffer", "i32", "u32", "u32"], result: "pointer" },
  // int sem_close(sem_t *sem);
  sem_close: { parameters: ["pointer"], result: "i32" },
  // int sem_unlink(const char *name);
  sem_unlink: { parameters: ["buffer"], result: "i32" },
  // int sem_init(sem_t *sem, int pshared, unsigned int value);
  sem_init: { parameters: ["pointer", "i32", "u32"], result: "i32" },
  // int sem_destroy(sem_t *sem);
  sem_destroy: { parameters: ["pointer"], result: "i32" },
  // int sem_post(sem_t *sem);
  sem_post: { parameters: ["pointer"], result: "i32" },
  // int sem_trywait(sem_t *sem);
  sem_trywait: { parameters: ["pointer"], result: "i32" },
  // int sem_clockwait(sem_t *sem, clockid_t clockid, const struct timespec *abstime);
  sem_clockwait: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  // int sem_wait(sem_t *sem);
  sem_wait: { parameters: ["pointer"], result: "i32" },
  // int sem_getvalue(sem_t *sem, int *sval);
  sem_getvalue: { parameters: ["pointer", "buffer"], result: "i32" },
} as const;
