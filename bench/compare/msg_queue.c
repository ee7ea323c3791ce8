/*
 * C baseline of bench/compare/msg_queue.ts: a two-process ping-pong over one
 * System V message queue, with a C parent and a C child (fork), blocking
 * msgsnd/msgrcv. Types route the direction: type 1 parent -> child, type 2
 * child -> parent; an empty type-1 message ends the child.
 *
 *   msg_queue pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> elapsed ns of ROUNDS round trips
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
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DOWN 1
#define UP 2

struct message {
  long mtype;
  unsigned char mtext[];
};

static int queue = -1;

static void die(const char *what) {
  perror(what);
  if (queue >= 0) msgctl(queue, IPC_RMID, NULL);
  exit(1);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void send_msg(struct message *m, long type, size_t size) {
  m->mtype = type;
  while (msgsnd(queue, m, size, 0) < 0) {
    if (errno != EINTR) die("msgsnd");
  }
}

static size_t receive_msg(struct message *m, long type, size_t max) {
  for (;;) {
    ssize_t n = msgrcv(queue, m, max, type, 0);
    if (n >= 0) return (size_t)n;
    if (errno != EINTR) die("msgrcv");
  }
}

/* Places the calling process on one CPU (cpu < 0: leaves it where it is). */
static void place(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) < 0) die("sched_setaffinity");
}

static int64_t pingpong(long rounds, long warmup, size_t size, int child_cpu) {
  queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  if (queue < 0) die("msgget");
  struct message *m = calloc(1, sizeof(struct message) + size);
  if (m == NULL) die("calloc");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    place(child_cpu);
    size_t n;
    while ((n = receive_msg(m, DOWN, size)) > 0) send_msg(m, UP, n);
    _exit(0);
  }
  int64_t t0 = 0;
  for (long i = 0; i < warmup + rounds; i++) {
    if (i == warmup) t0 = now_ns();
    send_msg(m, DOWN, size);
    if (receive_msg(m, UP, size) != size) {
      fprintf(stderr, "msg_queue: short echo\n");
      exit(1);
    }
  }
  int64_t elapsed = now_ns() - t0;
  send_msg(m, DOWN, 0);
  if (waitpid(pid, NULL, 0) < 0) die("waitpid");
  if (msgctl(queue, IPC_RMID, NULL) < 0) die("msgctl");
  free(m);
  return elapsed;
}

int main(int argc, char **argv) {
  if (argc >= 5 && strcmp(argv[1], "pingpong") == 0) {
    int cpu = argc >= 6 ? atoi(argv[5]) : -1;
    size_t size = (size_t)atol(argv[4]);
    if (size == 0) {
      fprintf(stderr, "msg_queue: SIZE must be at least 1\n");
      return 2;
    }
    printf("%lld\n", (long long)pingpong(atol(argv[2]), atol(argv[3]), size, cpu));
  } else {
    fprintf(stderr, "usage: msg_queue pingpong ROUNDS WARMUP SIZE [CHILD_CPU]\n");
    return 2;
  }
  return 0;
}
