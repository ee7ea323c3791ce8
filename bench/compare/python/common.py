"""What the Python programs of bench/compare share, as common.h does for C:
the command line, the clock, the per-round clock of a ping-pong, CPU
placement, the forked child, and the stamps and checksum of the transfers
(common.ts describes the protocol).

    python3 -B PROGRAM.py COMMAND ARGS... [CHILD_CPU]  -> what COMMAND prints: the ns of
                                                          each round trip, or elapsed ns

The parent stays on the CPUs it was started on; CHILD_CPU moves the child;
-B leaves no __pycache__ folder here. Python 3.8 or later. The programs are
named so that none shadows a module of the standard library (a script's
folder comes first on sys.path): sockets.py and signals.py, not socket.py
and signal.py.
"""

import os
import signal
import sys
import time
import traceback

BLOCK = 4096


def now_ns():
    """CLOCK_MONOTONIC in ns, as C's now_ns."""
    return time.monotonic_ns()


class Rounds:
    """The clock of a ping-pong, as common.h's: tick(i) at the top of round i,
    warm-up rounds included, and tick(warmup + rounds) after the last; str()
    gives the ns of each timed round, space-separated."""

    def __init__(self, rounds, warmup):
        self.rounds = rounds
        self.warmup = warmup
        self.total = warmup + rounds
        self.at = [0] * (rounds + 1)

    def tick(self, i):
        if i >= self.warmup:
            self.at[i - self.warmup] = now_ns()

    def __str__(self):
        return " ".join(str(b - a) for a, b in zip(self.at, self.at[1:]))


def succeeded(status):
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


class Forked:
    """A child made by os.fork() that runs role() on CPU `cpu` (None: where
    the parent runs) and exits: 0 when role() returns, 1 when it raises.

    A child that fails mid-run would leave the parent waiting for ever on a
    queue, a semaphore or a signal: SIGCHLD then raises ChildProcessError in
    the parent, whose cleanup runs. Used as a context manager, it reaps the
    child on a normal exit (raising unless the child succeeded) and kills it
    when the parent failed, so no child outlives a failed run."""

    def __init__(self, cpu, role):
        self.pid = os.fork()
        if self.pid == 0:
            code = 1
            try:
                if cpu is not None:
                    os.sched_setaffinity(0, {cpu})
                role()
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                # Never unwind into the parent's code: its cleanup is the parent's.
                sys.stderr.flush()
                os._exit(code)
        self.status = None
        signal.signal(signal.SIGCHLD, self._ended)

    def _ended(self, signum, frame):
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return
        self.status = status
        if not succeeded(status):
            raise ChildProcessError(f"the child failed (wait status {status})")

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        if kind is not None:
            if self.status is None:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            return False
        status = self.status if self.status is not None else os.waitpid(self.pid, 0)[1]
        if not succeeded(status):
            raise ChildProcessError(f"the child failed (wait status {status})")
        return False


def stamp(i):
    """The stamp byte of block i of a transfer's stream."""
    return (i * 131 + 7) & 255


def stamp_chunk(chunk, offset):
    """Stamps `chunk`, which starts at stream offset `offset` (a multiple of BLOCK)."""
    for o in range(0, len(chunk), BLOCK):
        chunk[o] = stamp((offset + o) // BLOCK)


def send_stamped(send, total, chunk, warm):
    """Sends warm + total bytes through send(buf) in stamped chunks of chunk
    bytes; returns now_ns() when the first timed chunk goes, after the warm-up."""
    buf = bytearray(chunk)
    t0 = now_ns()
    for offset in range(0, warm + total, chunk):
        if offset == warm:
            t0 = now_ns()
        stamp_chunk(buf, offset)
        send(buf)
    return t0


def fold_stamps(total, buf, n, pos):
    """Folds the stamps found in buf[0:n], which starts at stream offset pos, into total."""
    first = (pos + BLOCK - 1) // BLOCK * BLOCK
    for o in range(first, pos + n, BLOCK):
        total = (total * 31 + buf[o - pos]) & 0xFFFFFFFF
    return total


def command(name, run, count):
    """Runs run(*ints, child_cpu) and prints its result if the command line is
    `name` with `count` integers and maybe a CPU; returns False otherwise."""
    argv = sys.argv
    if len(argv) < 2 + count or argv[1] != name:
        return False
    ints = [int(a) for a in argv[2 : 2 + count]]
    cpu = int(argv[2 + count]) if len(argv) > 2 + count else None
    print(run(*ints, cpu))
    return True


def main(usage, commands):
    """Runs the first of `commands` ((name, run, count) triples) that the
    command line asks for; exits with `usage` (status 2) if none."""
    # A terminated run still removes what it made: finally blocks run on SystemExit.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))
    for name, run, count in commands:
        if command(name, run, count):
            return
    print(f"usage: {usage}", file=sys.stderr)
    sys.exit(2)
