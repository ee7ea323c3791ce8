"""Python rows of bench/compare/msg_queue.ts: what msg_queue.c does, with
sysv_ipc.MessageQueue (a third-party module: `pip install sysv_ipc`, or
Debian's python3-sysv-ipc) and os.fork(): blocking send/receive on one
private queue, type 1 parent -> child, type 2 back; an empty type-1
message ends the child. The queue is removed whatever happens, short of
SIGKILL.

    msg_queue.py pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> the ns of each of ROUNDS round trips
    msg_queue.py transfer TOTAL CHUNK WARM [CHILD_CPU]    -> "ns count checksum"

transfer sends WARM untimed bytes, then TOTAL timed ones, in CHUNK-byte
messages; the child says "R" first, counts and checksums every message's
bytes and answers "count checksum"; the clock stops when the answer arrives.
"""

import sys

from common import Forked, Rounds, fold_stamps, main, now_ns, send_stamped

DOWN = 1
UP = 2


def private_queue(size):
    """A new private queue whose receive takes messages of up to `size` bytes."""
    try:
        import sysv_ipc
    except ImportError:
        sys.exit("msg_queue.py: the sysv_ipc module is not installed")
    return sysv_ipc.MessageQueue(
        sysv_ipc.IPC_PRIVATE, sysv_ipc.IPC_CREX, mode=0o600, max_message_size=size
    )


def pingpong(rounds, warmup, size, cpu):
    queue = private_queue(size)

    def echo():
        while True:
            data, _ = queue.receive(type=DOWN)
            if not data:
                return
            queue.send(data, type=UP)

    try:
        with Forked(cpu, echo):
            data = bytes(size)
            clock = Rounds(rounds, warmup)
            for i in range(clock.total):
                clock.tick(i)
                queue.send(data, type=DOWN)
                data, _ = queue.receive(type=UP)
                if len(data) != size:
                    raise RuntimeError(f"short echo: {len(data)} bytes")
            clock.tick(clock.total)
            queue.send(b"", type=DOWN)  # ends the echo
    finally:
        queue.remove()
    return clock


def transfer(total, chunk, warm, cpu):
    queue = private_queue(chunk)

    def sink():
        queue.send(b"R", type=UP)
        pos = checksum = 0
        while True:
            data, _ = queue.receive(type=DOWN)
            if not data:
                break
            checksum = fold_stamps(checksum, data, len(data), pos)
            pos += len(data)
        queue.send(f"{pos} {checksum}".encode(), type=UP)

    try:
        with Forked(cpu, sink):
            ready, _ = queue.receive(type=UP)
            if ready != b"R":
                raise RuntimeError("no ready from the child")
            t0 = send_stamped(lambda buf: queue.send(buf, type=DOWN), total, chunk, warm)
            queue.send(b"", type=DOWN)  # ends the stream
            answer, _ = queue.receive(type=UP)
            elapsed = now_ns() - t0
    finally:
        queue.remove()
    return f"{elapsed} {answer.decode()}"


if __name__ == "__main__":
    main(
        "msg_queue.py pingpong ROUNDS WARMUP SIZE [CHILD_CPU]"
        " | transfer TOTAL CHUNK WARM [CHILD_CPU]",
        [("pingpong", pingpong, 3), ("transfer", transfer, 3)],
    )
