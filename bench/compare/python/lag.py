"""Python receivers of bench/compare/lag.ts, with the standard library only,
blocking in the call as C does. Descriptors and control page as in
lag_common.ts (these numbers repeat its):

    lag.py MECH ROW [ARGS...]

    pipe                   os.read on fd 5
    fifo PATH DIR          os.open(PATH, O_RDONLY), then os.read
    unix | dgram | tcp     socket.recv on fd 5
    signal NUMBER          signal.sigwaitinfo, the signal blocked first

It acks "ready", then each message's CLOCK_MONOTONIC time, until the
command word says MANY: then it makes 100 objects of its own that nothing
reaches and acks "ready"; the waits are one select.poll over their 100
descriptors, or, for the signal, 100 threads each blocked in sigwaitinfo
(Python has no signalfd). lag.ts ends it.

The standard library has no System V queue or semaphore, no POSIX queue, no
futex, and no way to wait on a sem_t another program made, so those
mechanisms have no Python receiver.
"""

import mmap
import os
import select
import signal
import socket
import struct
import sys
import threading

from common import now_ns

PAGE_SIZE = 4096
MANY = 2
WAITS = 100

buf = bytearray(64)


def fail(message):
    sys.exit(f"lag.py {' '.join(sys.argv[1:])}: {message}")


def receiver(mech, row, args):
    """One message's wait, and what makes the many waits (their descriptors,
    or None where it waits by itself)."""
    if mech == "pipe":
        return (lambda: os.read(5, 64)), pipes
    if mech == "fifo":
        fd = os.open(args[0], os.O_RDONLY)
        return (lambda: os.read(fd, 64)), lambda: fifos(f"{args[1]}/py-{row}-")
    if mech in ("unix", "dgram", "tcp"):
        s = socket.socket(fileno=5)
        s.setblocking(True)  # its description is the one lag.ts made, non-blocking
        many = {"unix": socket.socketpair, "dgram": datagram_pairs, "tcp": tcp_pairs}[mech]
        return (lambda: s.recv_into(buf)), lambda: pairs(many)
    if mech == "signal":
        signals = {int(args[0])}
        signal.pthread_sigmask(signal.SIG_BLOCK, signals)
        return (lambda: signal.sigwaitinfo(signals)), lambda: waiting_threads(signals)
    fail("usage: see the docstring of lag.py")


kept = []  # the other ends of the many waits' objects


def pipes():
    fds = []
    for _ in range(WAITS):
        r, w = os.pipe()
        kept.append(w)
        fds.append(r)
    return fds


def fifos(prefix):
    fds = []
    for i in range(WAITS):
        path = f"{prefix}{i}"
        os.mkfifo(path, 0o600)
        # Non-blocking: no writer yet; then a writer of its own, so a read would wait.
        fds.append(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        kept.append(os.open(path, os.O_WRONLY))
    return fds


def datagram_pairs():
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)


tcp_server = None


def tcp_pairs():
    global tcp_server
    if tcp_server is None:
        tcp_server = socket.create_server(("127.0.0.1", 0), backlog=WAITS)
    client = socket.create_connection(tcp_server.getsockname())
    accepted, _ = tcp_server.accept()
    return accepted, client


def pairs(make):
    fds = []
    for _ in range(WAITS):
        mine, theirs = make()
        kept.extend((mine, theirs))
        fds.append(mine.fileno())
    return fds


def waiting_threads(signals):
    for _ in range(WAITS):
        threading.Thread(target=signal.sigwaitinfo, args=(signals,), daemon=True).start()
    return None


def main():
    # Ctrl-C ends it as it ends C's receivers (lag.ts cleans up), without a traceback.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if len(sys.argv) < 3:
        fail("usage: see the docstring of lag.py")
    mech, row, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    page = mmap.mmap(3, PAGE_SIZE)

    def ack(ns):
        os.write(4, struct.pack("<qq", row, ns))

    take, many = receiver(mech, row, args)
    ack(0)
    while True:
        take()
        t = now_ns()
        if struct.unpack_from("<i", page, 0)[0] == MANY:
            break
        ack(t)
    fds = many()
    ack(0)
    if fds is None:
        threading.Event().wait()  # the threads wait
    poll = select.poll()
    for fd in fds:
        poll.register(fd, select.POLLIN)
    if poll.poll():
        fail("something arrived at the many waits")


if __name__ == "__main__":
    main()
