/*
 * C baseline of bench/compare/pipe.ts: the same two workloads as the Deno
 * rows, with a C parent and a C child (fork), so the ratios compare like with
 * like. Error exits, the clock, placement and the ping-pong command line are
 * common.h's.
 *
 *   pipe pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> elapsed ns of ROUNDS round trips
 *   pipe transfer TOTAL CHUNK [CHILD_CPU]         -> "ns count checksum"
 *
 * The parent stays on the CPUs it was started on; CHILD_CPU moves the child.
 * The data protocol (block stamps, checksum) is the one of common.ts.
 */
#include "common.h"
#include "stream.h"

#include <fcntl.h>

static int64_t pingpong(long rounds, long warmup, size_t size, int child_cpu) {
  int down[2], up[2];
  if (pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0) die("pipe2");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    place(child_cpu);
    close(down[1]);
    close(up[0]);
    echo(down[0], up[1], size);
    _exit(0);
  }
  close(down[0]);
  close(up[1]);
  unsigned char *buf = calloc(1, size);
  int64_t t0 = 0;
  for (long i = 0; i < warmup + rounds; i++) {
    if (i == warmup) t0 = now_ns();
    write_full(down[1], buf, size);
    if (!read_full(up[0], buf, size)) fail("pipe: echo ended early");
  }
  int64_t elapsed = now_ns() - t0;
  close(down[1]);
  close(up[0]);
  free(buf);
  reap(pid);
  return elapsed;
}

static void transfer(uint64_t total, size_t chunk, int child_cpu) {
  int data[2], res[2];
  if (pipe2(data, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0) die("pipe2");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    place(child_cpu);
    close(data[1]);
    close(res[0]);
    sink(data[0], res[1]);
    _exit(0);
  }
  close(data[0]);
  close(res[1]);
  unsigned char *buf = calloc(1, chunk);
  char line[64];
  if (!read_full(res[0], (unsigned char *)line, 1)) die("ready");
  int64_t t0 = now_ns();
  for (uint64_t off = 0; off < total; off += chunk) {
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
  if (pingpong_command(argc, argv, pingpong)) return 0;
  if (argc >= 4 && strcmp(argv[1], "transfer") == 0) {
    transfer(strtoull(argv[2], NULL, 10), (size_t)atol(argv[3]), argc >= 5 ? atoi(argv[4]) : -1);
    return 0;
  }
  fprintf(stderr, "usage: pipe pingpong ROUNDS WARMUP SIZE [CHILD_CPU] | transfer TOTAL CHUNK [CHILD_CPU]\n");
  return 2;
}
