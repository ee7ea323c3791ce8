/*
 * C baseline of bench/compare/signal.ts: the signal round trip of the Deno
 * rows, with a C parent and a C child (fork). Both block the two signals
 * before the fork and read them with sigwaitinfo; each signal carries the
 * round's number (sigqueue), which the other side checks and sends back.
 *
 *   signal roundtrip ROUNDS WARMUP [CHILD_CPU]  -> the ns of each of ROUNDS round trips
 *
 * SIGRTMIN+1 goes to the child, SIGRTMIN+2 comes back. The parent stays on
 * the CPUs it was started on; CHILD_CPU moves the child.
 */
#include "common.h"

#include <signal.h>

/* Waits for a signal of `set` and returns the value it carries. */
static int take(const sigset_t *set) {
  siginfo_t info;
  while (sigwaitinfo(set, &info) < 0) {
    if (errno != EINTR) die("sigwaitinfo");
  }
  return info.si_value.sival_int;
}

static void give(pid_t pid, int sig, int value) {
  union sigval v = {.sival_int = value};
  if (sigqueue(pid, sig, v) < 0) die("sigqueue");
}

static void roundtrip(struct rounds *r, int child_cpu) {
  int there = SIGRTMIN + 1, back = SIGRTMIN + 2;
  sigset_t there_set, back_set, both;
  sigemptyset(&there_set);
  sigaddset(&there_set, there);
  sigemptyset(&back_set);
  sigaddset(&back_set, back);
  sigemptyset(&both);
  sigaddset(&both, there);
  sigaddset(&both, back);
  if (sigprocmask(SIG_BLOCK, &both, NULL) < 0) die("sigprocmask");
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    place(child_cpu);
    for (long i = 0; i < r->warmup + r->rounds; i++) {
      int value = take(&there_set);
      if (value != (int)i) fail("signal: the child got a wrong value");
      give(parent, back, value);
    }
    _exit(0);
  }
  for (long i = 0; i < r->warmup + r->rounds; i++) {
    tick(r, i);
    give(pid, there, (int)i);
    if (take(&back_set) != (int)i) fail("signal: the parent got a wrong value");
  }
  tick(r, r->warmup + r->rounds);
  reap(pid);
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "roundtrip") == 0) {
    struct rounds r = rounds_of(atol(argv[2]), atol(argv[3]));
    roundtrip(&r, argc >= 5 ? atoi(argv[4]) : -1);
    print_laps(&r);
    free(r.at);
    return 0;
  }
  fprintf(stderr, "usage: signal roundtrip ROUNDS WARMUP [CHILD_CPU]\n");
  return 2;
}
