/*
 * What the C baselines of bench/compare share: error exits, the clock, CPU
 * placement, the per-round clock of a ping-pong and its command line. Each
 * program includes it once; everything here is static.
 *
 *   NAME COMMAND ROUNDS WARMUP SIZE [CHILD_CPU]  -> the ns of each of ROUNDS round trips
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

/*
 * The clock of a ping-pong: tick(r, i) at the top of round i, warm-up rounds
 * included, and tick(r, r->warmup + r->rounds) after the last: one clock read
 * per round, so each timed round trip gets its own time (for the p99).
 */
struct rounds {
  long rounds, warmup;
  int64_t *at; /* rounds + 1 stamps */
};

static struct rounds rounds_of(long rounds, long warmup) {
  if (rounds < 1 || warmup < 0) fail("ROUNDS must be at least 1, WARMUP at least 0");
  struct rounds r = {rounds, warmup, malloc(((size_t)rounds + 1) * sizeof(int64_t))};
  if (r.at == NULL) die("malloc");
  /* Touched now, so that no page fault lands in a timed round. */
  for (long i = 0; i <= rounds; i++) r.at[i] = -1;
  return r;
}

static inline void tick(struct rounds *r, long i) {
  if (i >= r->warmup) r->at[i - r->warmup] = now_ns();
}

/* Prints the ns of each timed round, space-separated, on one line. */
static void print_laps(const struct rounds *r) {
  for (long i = 0; i < r->rounds; i++) {
    printf(i == 0 ? "%lld" : " %lld", (long long)(r->at[i + 1] - r->at[i]));
  }
  printf("\n");
}

/* A ping-pong of `size`-byte messages: r->warmup + r->rounds round trips, each ticked. */
typedef void pingpong_fn(struct rounds *r, size_t size, int child_cpu);

/*
 * Runs `pingpong` if argv asks for it ("NAME ROUNDS WARMUP SIZE [CHILD_CPU]")
 * and prints the ns of each timed round trip; returns 0 when argv asks for
 * something else.
 */
static int pingpong_command(int argc, char **argv, const char *name, pingpong_fn *pingpong) {
  if (argc < 5 || strcmp(argv[1], name) != 0) return 0;
  size_t size = (size_t)atol(argv[4]);
  if (size == 0) fail("pingpong: SIZE must be at least 1");
  int cpu = argc >= 6 ? atoi(argv[5]) : -1;
  struct rounds r = rounds_of(atol(argv[2]), atol(argv[3]));
  pingpong(&r, size, cpu);
  print_laps(&r);
  free(r.at);
  return 1;
}

typedef void transfer_fn(uint64_t total, size_t chunk, uint64_t warm, int child_cpu);

/*
 * Runs `NAME TOTAL CHUNK WARM [CHILD_CPU]` when argv[1] is NAME (a transfer
 * prints what it measured itself); returns 0 when argv asks for something else.
 */
static int transfer_command(int argc, char **argv, const char *name, transfer_fn *transfer) {
  if (argc < 5 || strcmp(argv[1], name) != 0) return 0;
  transfer(strtoull(argv[2], NULL, 10), (size_t)atol(argv[3]), strtoull(argv[4], NULL, 10),
           argc >= 6 ? atoi(argv[5]) : -1);
  return 1;
}
