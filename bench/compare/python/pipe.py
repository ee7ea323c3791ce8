"""Python row of bench/compare/pipe.ts and fifo.ts: what pipe.c does, with
os.pipe() or os.mkfifo(), os.fork() and blocking os.read/os.write.

    pipe.py pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  -> the ns of each of ROUNDS round trips
    pipe.py transfer TOTAL CHUNK WARM [CHILD_CPU]    -> "ns count checksum"
    pipe.py fifo-pingpong DOWN UP ROUNDS WARMUP SIZE [CHILD_CPU]
    pipe.py fifo-transfer DOWN UP TOTAL CHUNK WARM [CHILD_CPU]

pingpong: SIZE bytes down one pipe, echoed back up another; the parent
closing its end ends the child. transfer: the child says "R" on the result
pipe, reads the data pipe to end of file folding the stamps, and answers
"count checksum"; the time runs from the first write after WARM untimed
bytes to that answer. The
fifo- commands do the same over two FIFOs made at DOWN and UP, each process
opening its ends by path (os.open) after the fork, down first; the parent
unlinks both once the child holds them.
"""

import os
import sys

from common import Forked, Rounds, fold_stamps, main, now_ns, send_stamped

# The fifo- commands' paths, down and up; None for pipes.
FIFOS = None


def read_full(fd, size):
    """Exactly `size` bytes; None at end of file before the first one."""
    data = os.read(fd, size)
    if not data:
        return None
    while len(data) < size:
        more = os.read(fd, size - len(data))
        if not more:
            raise EOFError("short read")
        data += more
    return data


def write_all(fd, data):
    n = os.write(fd, data)
    if n < len(data):
        view = memoryview(data)[n:]
        while view:
            view = view[os.write(fd, view) :]


class Channels:
    """A channel each way, made before the fork: two pipes, or two FIFOs.
    After the fork each side calls its method: the child keeps down's read
    end and up's write end, the parent the others."""

    def __init__(self):
        if FIFOS is None:
            self.down = os.pipe()
            self.up = os.pipe()
        else:
            for path in FIFOS:
                os.mkfifo(path, 0o600)

    def child(self):
        """(down's read end, up's write end)."""
        if FIFOS is None:
            os.close(self.down[1])
            os.close(self.up[0])
            return self.down[0], self.up[1]
        down = os.open(FIFOS[0], os.O_RDONLY)
        return down, os.open(FIFOS[1], os.O_WRONLY)

    def parent(self):
        """(down's write end, up's read end)."""
        if FIFOS is None:
            os.close(self.down[0])
            os.close(self.up[1])
            return self.down[1], self.up[0]
        try:
            down = os.open(FIFOS[0], os.O_WRONLY)
            return down, os.open(FIFOS[1], os.O_RDONLY)
        finally:
            unlink_fifos()


def unlink_fifos():
    for path in FIFOS or ():
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def pingpong(rounds, warmup, size, cpu):
    channels = Channels()

    def echo():
        down, up = channels.child()
        while True:
            data = read_full(down, size)
            if data is None:
                return
            write_all(up, data)

    with Forked(cpu, echo):
        down, up = channels.parent()
        data = bytes(size)
        clock = Rounds(rounds, warmup)
        for i in range(clock.total):
            clock.tick(i)
            write_all(down, data)
            data = read_full(up, size)
            if data is None:
                raise EOFError("the echo ended early")
        clock.tick(clock.total)
        os.close(down)  # ends the echo
    return clock


def transfer(total, chunk, warm, cpu):
    channels = Channels()

    def sink():
        data, result = channels.child()
        write_all(result, b"R")
        pos = checksum = 0
        while True:
            buf = os.read(data, 65536)
            if not buf:
                break
            checksum = fold_stamps(checksum, buf, len(buf), pos)
            pos += len(buf)
        write_all(result, f"{pos} {checksum}".encode())

    with Forked(cpu, sink):
        data, result = channels.parent()
        if read_full(result, 1) != b"R":
            raise EOFError("the sink ended early")
        t0 = send_stamped(lambda buf: write_all(data, buf), total, chunk, warm)
        os.close(data)
        answer = b""
        while True:
            more = os.read(result, 64)
            if not more:
                break
            answer += more
        elapsed = now_ns() - t0
    return f"{elapsed} {answer.decode()}"


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1].startswith("fifo-"):
        # "fifo-X DOWN UP ARGS..." is "X ARGS..." over FIFOs.
        FIFOS = sys.argv[2:4]
        sys.argv[1:4] = [sys.argv[1][5:]]
    try:
        main(
            "pipe.py [fifo-]pingpong [DOWN UP] ROUNDS WARMUP SIZE [CHILD_CPU]"
            " | [fifo-]transfer [DOWN UP] TOTAL CHUNK WARM [CHILD_CPU]",
            [("pingpong", pingpong, 3), ("transfer", transfer, 3)],
        )
    finally:
        unlink_fifos()
