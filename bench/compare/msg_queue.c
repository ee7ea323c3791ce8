/*
 * C baseline of bench/compare/msg_queue.ts: the same two workloads as the
 * Deno rows over one System V message queue, with a C parent and a C child
 * (fork), blocking msgsnd/msgrcv. Types route the direction: type 1 parent ->
 * child, type 2 child -> parent; an empty type-1 message ends the child.
 *
 *   msg_queue pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> the ns of each of ROUNDS round trips
 *   msg_queue transfer TOTAL CHUNK WARM [CHILD_CPU]    -> "ns count checksum"
 *
 * transfer sends WARM untimed bytes, then TOTAL timed ones, in CHUNK-byte
 * messages; the child says "R" first, counts and checksums every message's
 * bytes (the block stamps of common.ts) and answers "count checksum"; the
 * clock stops when the answer arrives.
 *
 * The parent stays on the CPUs it was started on; CHILD_CPU moves the child.
 * Error exits, the clock, placement and the ping-pong command line are
 * common.h's.
 */
#include "common.h"

#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#define DOWN 1
#define UP 2

/* The data protocol of common.ts (as stream.h, which is for streams). */
#define BLOCK 4096
static unsigned char stamp(uint64_t i) { return (unsigned char)((i * 131 + 7) & 255); }

struct message {
  long mtype;
  unsigned char mtext[];
};

static int queue = -1;

/* A queue outlives its processes: a failure removes it before exiting. */
static void remove_queue(void) {
  if (queue >= 0) msgctl(queue, IPC_RMID, NULL);
}

/*
 * Ctrl-C (or a kill) removes the queue too: both processes die at once, and
 * the driver's cleanup, which finds a queue by the pids that used it, may no
 * longer see theirs.
 */
static void on_signal(int sig) {
  remove_queue();
  _exit(128 + sig);
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

/* A private queue, removed by any failure, and a message buffer of `size` bytes of text. */
static struct message *make_queue(size_t size) {
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) die("sigaction");
  on_exit_failure = remove_queue;
  queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  if (queue < 0) die("msgget");
  struct message *m = calloc(1, sizeof(struct message) + size);
  if (m == NULL) die("calloc");
  return m;
}

static void pingpong(struct rounds *r, size_t size, int child_cpu) {
  struct message *m = make_queue(size);
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

/* The child of a transfer: "R", then the stamps of every type-1 message folded, then the answer. */
static void sink(struct message *m, size_t chunk) {
  uint64_t pos = 0;
  uint32_t sum = 0;
  m->mtext[0] = 'R';
  send_msg(m, UP, 1);
  for (size_t n; (n = receive_msg(m, DOWN, chunk)) > 0;) {
    uint64_t end = pos + n;
    for (uint64_t o = (pos + BLOCK - 1) / BLOCK * BLOCK; o < end; o += BLOCK) {
      sum = sum * 31 + m->mtext[o - pos];
    }
    pos = end;
  }
  int len = snprintf((char *)m->mtext, chunk, "%llu %u\n", (unsigned long long)pos, sum);
  send_msg(m, UP, (size_t)len);
}

static void transfer(uint64_t total, size_t chunk, uint64_t warm, int child_cpu) {
  if (chunk < 64) fail("transfer: CHUNK must be at least 64 (the answer's room)");
  struct message *m = make_queue(chunk);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    place(child_cpu);
    sink(m, chunk);
    _exit(0);
  }
  if (receive_msg(m, UP, chunk) != 1 || m->mtext[0] != 'R') {
    fail("msg_queue: no ready from the child");
  }
  int64_t t0 = 0;
  for (uint64_t off = 0; off < warm + total; off += chunk) {
    if (off == warm) t0 = now_ns();
    for (size_t o = 0; o < chunk; o += BLOCK) m->mtext[o] = stamp((off + o) / BLOCK);
    send_msg(m, DOWN, chunk);
  }
  send_msg(m, DOWN, 0);
  size_t n = receive_msg(m, UP, chunk);
  int64_t elapsed = now_ns() - t0;
  reap(pid);
  if (msgctl(queue, IPC_RMID, NULL) < 0) die("msgctl");
  printf("%lld %.*s", (long long)elapsed, (int)n, (const char *)m->mtext);
  free(m);
}

int main(int argc, char **argv) {
  if (pingpong_command(argc, argv, "pingpong", pingpong)) return 0;
  if (transfer_command(argc, argv, "transfer", transfer)) return 0;
  fprintf(stderr,
          "usage: msg_queue pingpong ROUNDS WARMUP SIZE [CHILD_CPU]"
          " | transfer TOTAL CHUNK WARM [CHILD_CPU]\n");
  return 2;
}
