/*
 * What the stream baselines of bench/compare share (pipe.c, socket.c): whole
 * reads and writes, the echo of a ping-pong, and the sink of a transfer with
 * the data protocol of common.ts (block stamps folded into a checksum).
 * Include it after common.h.
 */
#define BLOCK 4096

/* Reads exactly n bytes; returns 0 at end of stream before the first byte. */
static int read_full(int fd, unsigned char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r > 0) {
      got += (size_t)r;
    } else if (r == 0) {
      if (got == 0) return 0;
      fail("short read");
    } else if (errno != EINTR) {
      die("read");
    }
  }
  return 1;
}

static void write_full(int fd, const unsigned char *buf, size_t n) {
  size_t put = 0;
  while (put < n) {
    ssize_t r = write(fd, buf + put, n - put);
    if (r >= 0) put += (size_t)r;
    else if (errno != EINTR) die("write");
  }
}

/* The stamp byte at the start of 4 KiB block i of the stream. */
static unsigned char stamp(uint64_t i) { return (unsigned char)((i * 131 + 7) & 255); }

/* Echoes `size`-byte messages from `in` to `out` until end of stream. */
static void echo(int in, int out, size_t size) {
  unsigned char *buf = malloc(size);
  while (read_full(in, buf, size)) write_full(out, buf, size);
  free(buf);
}

/*
 * Says "R" on `result`, reads `in` to end of stream folding every block's
 * stamp byte, and answers "count checksum\n" on `result`.
 */
static void sink(int in, int result) {
  static unsigned char buf[65536];
  uint64_t pos = 0;
  uint32_t sum = 0;
  write_full(result, (const unsigned char *)"R", 1);
  for (;;) {
    ssize_t r = read(in, buf, sizeof buf);
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    uint64_t end = pos + (uint64_t)r;
    for (uint64_t o = (pos + BLOCK - 1) / BLOCK * BLOCK; o < end; o += BLOCK) {
      sum = sum * 31 + buf[o - pos];
    }
    pos = end;
  }
  char line[64];
  int len = snprintf(line, sizeof line, "%llu %u\n", (unsigned long long)pos, sum);
  write_full(result, (const unsigned char *)line, (size_t)len);
}

/* Reads `fd` to end of stream into `line` (at most `size` - 1 bytes), NUL-terminated. */
static void read_to_end(int fd, char *line, size_t size) {
  size_t got = 0;
  for (ssize_t r; (r = read(fd, line + got, size - 1 - got)) != 0;) {
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    got += (size_t)r;
  }
  line[got] = 0;
}
