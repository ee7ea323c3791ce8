"""Python rows of bench/compare/posix_mq.ts: what posix_mq.c does, with
posix_ipc.MessageQueue (a third-party module: `pip install posix_ipc`) and
os.fork(): blocking send/receive over two queues, one each way; an empty
message ends the child. Both names are unlinked as soon as the queues are
open (the processes keep them through their descriptors), so none is left
behind whatever happens.

    posix_mq.py pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> the ns of each of ROUNDS round trips
    posix_mq.py transfer TOTAL CHUNK WARM [CHILD_CPU]    -> "ns count checksum"

transfer sends WARM untimed bytes, then TOTAL timed ones, in CHUNK-byte
messages down (10 at most in the queue); the child says "R" up first,
counts and checksums every message's bytes and answers "count checksum" up;
the clock stops when the answer arrives.
"""

import os
import sys

from common import Forked, Rounds, fold_stamps, main, now_ns, send_stamped

# The room of the up queue's messages in a transfer: "R", then "count checksum".
ANSWER = 64


def open_queues(down_size, up_size):
    """The queues down and up, made for messages of the given sizes; their names already gone."""
    try:
        import posix_ipc
    except ImportError:
        sys.exit("posix_mq.py: the posix_ipc module is not installed")
    base = f"/libc-ipc-bench-py-{os.getpid()}"
    queues = []
    try:
        for name, size in ((f"{base}-down", down_size), (f"{base}-up", up_size)):
            queues.append(
                posix_ipc.MessageQueue(
                    name, posix_ipc.O_CREX, mode=0o600, max_messages=10, max_message_size=size
                )
            )
    finally:
        for queue in queues:
            queue.unlink()
    return queues


def pingpong(rounds, warmup, size, cpu):
    down, up = open_queues(size, size)

    def echo():
        while True:
            data, _ = down.receive()
            if not data:
                return
            up.send(data)

    try:
        with Forked(cpu, echo):
            data = bytes(size)
            clock = Rounds(rounds, warmup)
            for i in range(clock.total):
                clock.tick(i)
                down.send(data)
                data, _ = up.receive()
                if len(data) != size:
                    raise RuntimeError(f"short echo: {len(data)} bytes")
            clock.tick(clock.total)
            down.send(b"")  # ends the echo
    finally:
        down.close()
        up.close()
    return clock


def transfer(total, chunk, warm, cpu):
    down, up = open_queues(chunk, ANSWER)

    def sink():
        up.send(b"R")
        pos = checksum = 0
        while True:
            data, _ = down.receive()
            if not data:
                break
            checksum = fold_stamps(checksum, data, len(data), pos)
            pos += len(data)
        up.send(f"{pos} {checksum}".encode())

    try:
        with Forked(cpu, sink):
            ready, _ = up.receive()
            if ready != b"R":
                raise RuntimeError("no ready from the child")
            t0 = send_stamped(down.send, total, chunk, warm)
            down.send(b"")  # ends the stream
            answer, _ = up.receive()
            elapsed = now_ns() - t0
    finally:
        down.close()
        up.close()
    return f"{elapsed} {answer.decode()}"


if __name__ == "__main__":
    main(
        "posix_mq.py pingpong ROUNDS WARMUP SIZE [CHILD_CPU]"
        " | transfer TOTAL CHUNK WARM [CHILD_CPU]",
        [("pingpong", pingpong, 3), ("transfer", transfer, 3)],
    )
