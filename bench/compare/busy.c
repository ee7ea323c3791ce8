/* The load and the feed of busy.ts:
 *   busy hog    spins forever (a program that keeps a CPU busy)
 *   busy feed   writes 64 bytes to stdout every 100 µs until the reader goes */
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "hog") == 0) {
    volatile unsigned long x = 0;
    for (;;) x++;
  }
  char b[64] = {0};
  struct timespec gap = {0, 100000};
  for (;;) {
    if (write(1, b, sizeof b) < 0) return 0;
    nanosleep(&gap, 0);
  }
}
