"""Python rows of bench/compare/socket.ts and datagram.ts: what socket.c
does, with the socket module and os.fork(). Both ends of a connection are
made before the fork, a socket.socketpair() (stream or datagram) or a TCP
connection on 127.0.0.1 connected and accepted by the parent, both ends
with TCP_NODELAY; blocking sendall and recv_into.

    sockets.py pingpong ROUNDS WARMUP SIZE [CHILD_CPU]  over a Unix stream socketpair
    sockets.py tcp ROUNDS WARMUP SIZE [CHILD_CPU]       over TCP on 127.0.0.1
    sockets.py dgram ROUNDS WARMUP SIZE [CHILD_CPU]     over a Unix datagram socketpair
                                                        -> the ns of each of ROUNDS round trips
    sockets.py transfer TOTAL CHUNK WARM [CHILD_CPU]        over a Unix stream socketpair
    sockets.py tcp-transfer TOTAL CHUNK WARM [CHILD_CPU]    over TCP on 127.0.0.1
    sockets.py dgram-transfer TOTAL CHUNK WARM [CHILD_CPU]  over a Unix datagram socketpair
                                                            -> "ns count checksum"

transfer sends WARM untimed bytes, then TOTAL timed ones, in CHUNK-byte
sends (datagrams: one each); the child says "R" first, counts and checksums
the whole stream and answers on the same socket. A datagram socket has no
end of stream: an empty datagram stands for it. (Named sockets.py: a
socket.py here would shadow the socket module.)
"""

import socket

from common import Forked, Rounds, fold_stamps, main, now_ns, send_stamped

UNIX, TCP, DGRAM = "unix", "tcp", "dgram"


def connected(kind):
    """Two connected sockets: a Unix socketpair, or both ends of a TCP connection."""
    if kind == UNIX:
        return socket.socketpair()
    if kind == DGRAM:
        return socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        mine = socket.create_connection(listener.getsockname())
        theirs, _ = listener.accept()
    for s in (mine, theirs):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return mine, theirs


def read_full(sock, view):
    """Fills `view`; False at end of stream before its first byte."""
    got = sock.recv_into(view)
    if got == 0:
        return False
    while got < len(view):
        n = sock.recv_into(view[got:])
        if n == 0:
            raise EOFError("short read")
        got += n
    return True


def end_stream(kind, sock):
    """Ends what the peer reads: end of stream, or an empty datagram."""
    if kind == DGRAM:
        sock.send(b"")
    else:
        sock.shutdown(socket.SHUT_WR)


def pingpong_over(kind, rounds, warmup, size, cpu):
    mine, theirs = connected(kind)

    def echo():
        mine.close()
        view = memoryview(bytearray(size))
        while read_full(theirs, view):
            theirs.sendall(view)

    with mine, Forked(cpu, echo):
        theirs.close()
        view = memoryview(bytearray(size))
        clock = Rounds(rounds, warmup)
        for i in range(clock.total):
            clock.tick(i)
            mine.sendall(view)
            if not read_full(mine, view):
                raise EOFError("the echo ended early")
        clock.tick(clock.total)
        end_stream(kind, mine)  # ends the echo
        mine.close()
    return clock


def pingpong(rounds, warmup, size, cpu):
    return pingpong_over(UNIX, rounds, warmup, size, cpu)


def tcp(rounds, warmup, size, cpu):
    return pingpong_over(TCP, rounds, warmup, size, cpu)


def dgram(rounds, warmup, size, cpu):
    return pingpong_over(DGRAM, rounds, warmup, size, cpu)


def transfer_over(kind, total, chunk, warm, cpu):
    if kind == DGRAM and chunk > 65536:
        raise ValueError("dgram-transfer: CHUNK must be at most 65536 (the sink's buffer)")
    mine, theirs = connected(kind)

    def sink():
        mine.close()
        theirs.sendall(b"R")
        buf = bytearray(65536)
        pos = checksum = 0
        while True:
            n = theirs.recv_into(buf)
            if n == 0:
                break
            checksum = fold_stamps(checksum, buf, n, pos)
            pos += n
        theirs.sendall(f"{pos} {checksum}".encode())

    with mine, Forked(cpu, sink):
        theirs.close()
        if mine.recv(1) != b"R":
            raise EOFError("the sink ended early")
        t0 = send_stamped(mine.sendall, total, chunk, warm)
        end_stream(kind, mine)
        if kind == DGRAM:
            answer = mine.recv(64)  # one datagram
        else:
            answer = b""
            while True:
                more = mine.recv(64)
                if not more:
                    break
                answer += more
        elapsed = now_ns() - t0
    return f"{elapsed} {answer.decode()}"


def transfer(total, chunk, warm, cpu):
    return transfer_over(UNIX, total, chunk, warm, cpu)


def tcp_transfer(total, chunk, warm, cpu):
    return transfer_over(TCP, total, chunk, warm, cpu)


def dgram_transfer(total, chunk, warm, cpu):
    return transfer_over(DGRAM, total, chunk, warm, cpu)


if __name__ == "__main__":
    main(
        "sockets.py pingpong|tcp|dgram ROUNDS WARMUP SIZE [CHILD_CPU]"
        " | transfer|tcp-transfer|dgram-transfer TOTAL CHUNK WARM [CHILD_CPU]",
        [
            ("pingpong", pingpong, 3),
            ("tcp", tcp, 3),
            ("dgram", dgram, 3),
            ("transfer", transfer, 3),
            ("tcp-transfer", tcp_transfer, 3),
            ("dgram-transfer", dgram_transfer, 3),
        ],
    )
