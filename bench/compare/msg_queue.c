/*
 * C baseline of bench/compare/msg_queue.ts: a two-process ping-pong over one
 * System V message queue, with a C parent and a C child (fork), blocking
 * msgsnd/msgrcv. Types route the direction: type 1 parent -> child, type 2
 * child -> parent; an empty type-1 message ends the child.
 *
 *   msg_queue pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> the ns of each of ROUNDS round trips
 *
 * The parent stays on the CPUs it was started on; CHILD_CPU moves the child.
 * Error exits, the clock, placement and the command line are common.h's.
 */
#include "common.h"

#include <sys/ipc.h>
#include <sys/msg.h>

#define DOWN 1
#define UP 2

struct message {
  long mtype;
  unsigned char mtext[];
};

static int queue = -1;

/* A queue outlives its processes: a failure removes it before exiting. */
static void remove_queue(void) {
  if (queue >= 0) msgctl(queue, IPC_RMID, NULL);
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

static void pingpong(struct rounds *r, size_t size, int child_cpu) {
  on_exit_failure = remove_queue;
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
  for (long i = 0; i < r->warmup + r->rounds; i++) {
    tick(r, i);
    send_msg(m, DOWN, size);
    if (receive_msg(m, UP, size) != size) fail("msg_queue: short echo");
  }
  tick(r, r->warmup + r->rounds);
  send_msg(m, DOWN, 0);
  reap(pid);
  if (msgctl(queue, IPC_RMID, NULL) < 0) die("msgctl");
  free(m);
}

int main(int argc, char **argv) {
  if (pingpong_command(argc, argv, "pingpong", pingpong)) return 0;
  fprintf(stderr, "usage: msg_queue pingpong ROUNDS WARMUP SIZE [CHILD_CPU]\n");
  return 2;
}
