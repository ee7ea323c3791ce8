/**
 * Symbols of `<signal.h>` and `<time.h>`: signal sets and dispositions,
 * signals to processes and threads, and per-thread timers.
 *
 * @module
 */

export const signal = {
  // int kill(pid_t pid, int sig);
  kill: { parameters: ["i32", "i32"], result: "i32" },
  // int tgkill(pid_t tgid, pid_t tid, int sig);
  tgkill: { parameters: ["i32", "i32", "i32"], result: "i32" },
  // pid_t gettid(void);
  gettid: { parameters: [], result: "i32" },
  // int sigemptyset(sigset_t *set);
  sigemptyset: { parameters: ["buffer"], result: "i32" },
  // int sigaddset(sigset_t *set, int signum);
  sigaddset: { parameters: ["buffer", "i32"], result: "i32" },
  // int sigdelset(sigset_t *set, int signum);
  sigdelset: { parameters: ["buffer", "i32"], result: "i32" },
  // int sigfillset(sigset_t *set);
  sigfillset: { parameters: ["buffer"], result: "i32" },
  // int sigaction(int signum, const struct sigaction *act, struct sigaction *oldact);
  sigaction: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // pid_t getpid(void): its address is the handler of the library's signals (it does nothing harmful).
  getpid_address: { name: "getpid", type: "pointer" },
  // int timer_create(clockid_t clockid, struct sigevent *sevp, timer_t *timerid);
  timer_create: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int timer_settime(timer_t timerid, int flags, const struct itimerspec *new_value,
  //                   struct itimerspec *old_value);
  timer_settime: { parameters: ["pointer", "i32", "buffer", "buffer"], result: "i32" },
  // int timer_delete(timer_t timerid);
  timer_delete: { parameters: ["pointer"], result: "i32" },
  // int sigqueue(pid_t pid, int sig, const union sigval value);
  // The union is passed by value in one 64-bit register: `sival_int` is its low 32 bits.
  sigqueue: { parameters: ["i32", "i32", "i64"], result: "i32" },
  // int pthread_sigmask(int how, const sigset_t *set, sigset_t *oldset);  (returns an error number)
  pthread_sigmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int sigismember(const sigset_t *set, int signum);
  sigismember: { parameters: ["buffer", "i32"], result: "i32" },
  // int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout);
  sigtimedwait: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  // int signalfd(int fd, const sigset_t *mask, int flags);  (sys/signalfd.h)
  signalfd: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  // int clock_gettime(clockid_t clockid, struct timespec *tp);
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
} as const;
