/*
 * C baseline of bench/compare/pipe.ts and fifo.ts: the same two workloads as
 * the Deno rows, with a C parent and a C child (fork), so the ratios compare
 * like with like. Error exits, the clock, placement and the ping-pong command
 * line are common.h's.
 *
 *   pipe pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> the ns of each of ROUNDS round trips
 *   pipe transfer TOTAL CHUNK WARM [CHILD_CPU]    -> "ns count checksum"
 *   pipe fifo-pingpong DOWN UP ROUNDS WARMUP SIZE [CHILD_CPU]
 *   pipe fifo-transfer DOWN UP TOTAL CHUNK WARM [CHILD_CPU]
 *
 * The fifo- commands do the same over two FIFOs made at the paths DOWN
 * (parent -> child) and UP (child -> parent) instead of two pipes: each
 * process opens its ends by path after the fork, and the parent unlinks both
 * once the child holds them (a failure unlinks them too).
 *
 * transfer sends WARM untimed bytes, then TOTAL timed ones, in CHUNK-byte
 * writes.
 *
 * The parent stays on the CPUs it was started on; CHILD_CPU moves the child.
 * The data protocol (block stamps, checksum) is the one of common.ts.
 */
#include "common.h"
#include "stream.h"

#include <fcntl.h>
#include <sys/stat.h>

/* The fifo- commands' paths, down and up; NULL for pipes. */
static const char *fifos[2];

static void unlink_fifos(void) {
  for (int i = 0; i < 2; i++) unlink(fifos[i]);
}

/* A channel each way, before the fork: two pipes, or two FIFOs made (not opened yet). */
static void make_channels(int down[2], int up[2]) {
  if (fifos[0] == NULL) {
    if (pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0) die("pipe2");
    return;
  }
  on_exit_failure = unlink_fifos;
  for (int i = 0; i < 2; i++) {
    if (mkfifo(fifos[i], 0600) < 0) die("mkfifo");
  }
}

static int open_fifo(const char *path, int flags) {
  int fd = open(path, flags | O_CLOEXEC);
  if (fd < 0) die("open");
  return fd;
}

/*
 * After the fork, keeps this side's ends (down[0] and up[1] in the child,
 * down[1] and up[0] in the parent) and closes the others. FIFOs are opened in
 * the same order on both sides (down, then up), so neither open waits for
 * ever; the parent's last open returns once the child holds both.
 */
static void keep_ends(int child, int down[2], int up[2]) {
  if (fifos[0] == NULL) {
    close(child ? down[1] : down[0]);
    close(child ? up[0] : up[1]);
  } else if (child) {
    down[0] = open_fifo(fifos[0], O_RDONLY);
    up[1] = open_fifo(fifos[1], O_WRONLY);
  } else {
    down[1] = open_fifo(fifos[0], O_WRONLY);
    up[0] = open_fifo(fifos[1], O_RDONLY);
    unlink_fifos();
    on_exit_failure = NULL;
  }
}

static void pingpong(struct rounds *r, size_t size, int child_cpu) {
  int down[2], up[2];
  make_channels(down, up);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    place(child_cpu);
    keep_ends(1, down, up);
    echo(down[0], up[1], size);
    _exit(0);
  }
  keep_ends(0, down, up);
  unsigned char *buf = calloc(1, size);
  for (long i = 0; i < r->warmup + r->rounds; i++) {
    tick(r, i);
    write_full(down[1], buf, size);
    if (!read_full(up[0], buf, size)) fail("pipe: echo ended early");
  }
  tick(r, r->warmup + r->rounds);
  close(down[1]);
  close(up[0]);
  free(buf);
  reap(pid);
}

static void transfer(uint64_t total, size_t chunk, uint64_t warm, int child_cpu) {
  int data[2], res[2];
  make_channels(data, res);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    place(child_cpu);
    keep_ends(1, data, res);
    sink(data[0], res[1]);
    _exit(0);
  }
  keep_ends(0, data, res);
  unsigned char *buf = calloc(1, chunk);
  char line[64];
  if (!read_full(res[0], (unsigned char *)line, 1)) die("ready");
  int64_t t0 = now_ns();
  for (uint64_t off = 0; off < warm + total; off += chunk) {
    if (off == warm) t0 = now_ns();
    for (size_t o = 0; o < chunk; o += BLOCK) buf[o] = stamp((off + o) / BLOCK);
    write_full(data[1], buf, chunk);
  }
  close(data[1]);
  read_to_end(res[0], line, sizeof line);
  int64_t elapsed = now_ns() - t0;
  close(res[0]);
  free(buf);
  reap(pid);
  printf("%lld %s", (long long)elapsed, line);
}

int main(int argc, char **argv) {
  if (argc >= 4 && strncmp(argv[1], "fifo-", 5) == 0) {
    /* "fifo-X DOWN UP ARGS..." is "X ARGS..." over FIFOs. */
    fifos[0] = argv[2];
    fifos[1] = argv[3];
    argv[3] = argv[1] + 5;
    argv += 2;
    argc -= 2;
  }
  if (pingpong_command(argc, argv, "pingpong", pingpong)) return 0;
  if (transfer_command(argc, argv, "transfer", transfer)) return 0;
  fprintf(stderr,
          "usage: pipe [fifo-]pingpong [DOWN UP] ROUNDS WARMUP SIZE [CHILD_CPU]"
          " | [fifo-]transfer [DOWN UP] TOTAL CHUNK WARM [CHILD_CPU]\n");
  return 2;
}
