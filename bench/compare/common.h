/*
 * What the C baselines of bench/compare share: error exits, the clock, CPU
 * placement and the ping-pong command line. Each program includes it once;
 * everything here is static.
 *
 *   NAME pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> elapsed ns of ROUNDS round trips
 *
 * The parent stays on the CPUs it was started on; CHILD_CPU moves the child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Run by die() and fail() before they exit: removes what would outlive the process. */
static void (*on_exit_failure)(void);

static void fail(const char *message) {
  fprintf(stderr, "%s\n", message);
  if (on_exit_failure != NULL) on_exit_failure();
  exit(1);
}

/* Exits after a failed call, with errno's message. */
static void die(const char *what) {
  perror(what);
  if (on_exit_failure != NULL) on_exit_failure();
  exit(1);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Places the calling process on one CPU (cpu < 0: leaves it where it is). */
static void place(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) < 0) die("sched_setaffinity");
}

static void reap(pid_t pid) {
  if (waitpid(pid, NULL, 0) < 0) die("waitpid");
}

/* A ping-pong: the elapsed ns of `rounds` round trips of `size` bytes after `warmup` ones. */
typedef int64_t pingpong_fn(long rounds, long warmup, size_t size, int child_cpu);

/*
 * Runs `pingpong` if argv asks for it ("pingpong ROUNDS WARMUP SIZE [CHILD_CPU]")
 * and prints its result; returns 0 when argv asks for something else.
 */
static int pingpong_command(int argc, char **argv, pingpong_fn *pingpong) {
  if (argc < 5 || strcmp(argv[1], "pingpong") != 0) return 0;
  size_t size = (size_t)atol(argv[4]);
  if (size == 0) fail("pingpong: SIZE must be at least 1");
  int cpu = argc >= 6 ? atoi(argv[5]) : -1;
  printf("%lld\n", (long long)pingpong(atol(argv[2]), atol(argv[3]), size, cpu));
  return 1;
}
