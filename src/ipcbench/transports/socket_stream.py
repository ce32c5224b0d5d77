"""Whole messages over a connected stream socket: a 4-byte length, then the payload.

The framing of framing.py, with the socket calls themselves: `sendall`/`sendmsg` out, and
`recv_into` in through a BufferedReader (socket.makefile), so a small message (header and
payload) costs one system call, many small streamed messages share one, and a large payload is
received straight into a reused buffer.
"""

import socket

from ipcbench.transports.base import ChildEndpoint, start_serving, undo_on_error
from ipcbench.transports.frames import framed_pieces
from ipcbench.transports.framing import (
    HEADER,
    READ_BUFFER,
    SMALL_MESSAGE,
    framed_receiver,
    unsent,
)


class SocketStream(ChildEndpoint):
    """A framed endpoint over a socket that it owns and closes (and the child at the other end,
    if any: see ChildEndpoint)."""

    def __init__(self, sock, capacity: int, process=None) -> None:
        self.sock, self.capacity, self.process = sock, capacity, process
        self._reader = sock.makefile("rb", buffering=READ_BUFFER)
        # Closures over their state: this is the hot path of every round trip.
        self.send = _sender(sock)
        self.send_frames = _frames_sender(sock)
        self.recv = framed_receiver(self._reader, capacity)

    def close_channel(self) -> None:
        self._reader.close()
        try:
            # Ends the connection itself, not just this descriptor: the other side reads EOF
            # at once, even if it missed the exit command and a forked child inherited a copy.
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed, or the other side went first
        self.sock.close()  # idempotent

    def let_go(self) -> None:
        # Only this descriptor: a shutdown would end the connection for the child too.
        self._reader.close()
        self.sock.close()

    def child_args(self) -> tuple:
        # Sockets pickle for a child being started (multiprocessing duplicates the fd for it).
        return self.sock, self.capacity


def _sender(sock):
    sendall, sendmsg, pack = sock.sendall, sock.sendmsg, HEADER.pack

    def send(data) -> None:
        size = len(data)
        if size <= SMALL_MESSAGE:  # one copy into one send is cheaper than a gather
            sendall(pack(size) + data)
            return
        pieces = (pack(size), data)
        sent = sendmsg(pieces)  # gather: no copy of the payload
        if sent < HEADER.size + size:
            _send_rest(sendall, pieces, sent)

    return send


def _frames_sender(sock):
    """send_frames (see transports/frames.py): all frames, each framed, in one sendmsg."""
    sendall, sendmsg = sock.sendall, sock.sendmsg

    def send_frames(frames) -> None:
        pieces = framed_pieces(frames, HEADER)
        sent = sendmsg(pieces)
        if sent < sum(map(len, pieces)):
            _send_rest(sendall, pieces, sent)

    return send_frames


def _send_rest(sendall, pieces, sent: int) -> None:
    # A socket's buffer took only part of the message: the rest the slow way.
    for rest in unsent(pieces, sent):
        sendall(rest)


def open_socket_pair(ctx, capacity: int, child_cpus, parent_sock, child_sock) -> SocketStream:
    """Start the child on `child_sock`; return the parent's endpoint on `parent_sock`."""
    with undo_on_error() as undo:
        undo.callback(parent_sock.close)
        undo.callback(child_sock.close)
        parent, child_side = SocketStream(parent_sock, capacity), SocketStream(child_sock, capacity)
    return start_serving(ctx, parent, child_side, child_cpus)
