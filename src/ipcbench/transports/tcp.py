"""`tcp`: one TCP connection with TCP_NODELAY, length-framed: over 127.0.0.1, or across hosts.

Locally the parent makes both ends (listen on an ephemeral port, connect, accept) and hands one to
the child, as it would a socketpair: the data path is the same as a child connecting itself, and
a child that dies on start cannot leave the parent waiting in accept(). Another local process can
still connect to the port in between: a connection is kept only if its peer address is the
parent's own connecting socket (the kernel reports it; it cannot be forged from another socket
on the machine while ours holds that port); others are closed unread.

Across hosts (`run --peer NODE`) the parent listens on its own address on the route to the peer,
and only there; the child, started on the peer node, connects back. Any process on the peer's
host could connect first, so a connection is kept only from the peer's address and only once it
has proved it knows the cell's random secret (handshake.py), which reached the child through the
cluster, never over this channel. Others are closed unread. Keep-alives end a child whose parent's
host went away.

Old result files name this transport `tcp_loopback` (see results.RENAMED).
"""

import socket
import time

from ipcbench.transports.base import Transport
from ipcbench.transports.framing import HEADER
from ipcbench.transports.handshake import (
    HANDSHAKE_TIMEOUT,
    PeerNotAuthenticated,
    child_side,
    new_secret,
    parent_side,
)
from ipcbench.transports.socket_stream import SocketStream, open_socket_pair

# Foreign connections closed before giving up: a port scan must not fail the cell, a flood may.
MAX_STRANGERS = 16
ACCEPT_TIMEOUT = 10.0
# How long the child on a peer node may take to start, import and connect back.
PEER_CONNECT_TIMEOUT = 30.0
# Handshake messages are a nonce and a MAC: anything longer is not a peer of ours.
HANDSHAKE_MESSAGE_MAX = 128
# A silent connection is probed after this many seconds, then every KEEPALIVE_INTERVAL; after
# KEEPALIVE_PROBES unanswered probes the kernel ends it (a host that vanished: ~25 s).
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_PROBES = 10, 5, 3


def loopback_pair() -> tuple[socket.socket, socket.socket]:
    """Two connected TCP sockets over 127.0.0.1, Nagle off on both (no 40 ms delayed-ack waits)."""
    with socket.create_server(("127.0.0.1", 0), backlog=MAX_STRANGERS) as listener:
        return connect_pair(listener)


def connect_pair(listener: socket.socket) -> tuple[socket.socket, socket.socket]:
    """Connect to `listener` and accept that very connection, closing any other peer's."""
    listener.settimeout(ACCEPT_TIMEOUT)
    client = socket.create_connection(listener.getsockname())
    try:
        server = _accept_own(listener, client.getsockname())
    except BaseException:
        client.close()
        raise
    for sock in (server, client):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return server, client


def _accept_own(listener: socket.socket, own: tuple) -> socket.socket:
    for _ in range(MAX_STRANGERS + 1):
        server, peer = listener.accept()
        if peer == own:
            server.settimeout(None)
            return server
        server.close()  # not ours: nothing it sent is read
    raise ConnectionError(
        f"tcp: {MAX_STRANGERS} other local connections came first; is something flooding 127.0.0.1?"
    )


def accept_peer(listener: socket.socket, peer_host: str, secret: bytes, seconds: float):
    """The first connection from `peer_host` that passes the handshake; others are closed."""
    deadline = time.monotonic() + seconds
    refused = 0
    for _ in range(MAX_STRANGERS + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        listener.settimeout(remaining)
        try:
            sock, address = listener.accept()
        except TimeoutError:
            break
        if address[0] == peer_host:
            sock.settimeout(min(HANDSHAKE_TIMEOUT, max(remaining, 1.0)))
            try:
                parent_side(*_handshake_calls(sock), secret, f"tcp from {address[0]}")
            except (PeerNotAuthenticated, OSError):
                pass  # counted below, closed unread
            else:
                return _ready(sock)
        refused += 1
        sock.close()
    raise ConnectionError(
        f"tcp: no connection from {peer_host} proved the cell's key within {seconds:g} s "
        f"({refused} refused)"
    )


def connect_back(address: tuple, secret: bytes, capacity: int) -> SocketStream:
    """On the peer node: connect to the parent, prove the secret, then serve over the socket."""
    sock = socket.create_connection(address, timeout=HANDSHAKE_TIMEOUT)
    try:
        child_side(*_handshake_calls(sock), secret, f"tcp to {address[0]}")
    except BaseException:
        sock.close()
        raise
    return SocketStream(_ready(sock), capacity)


def _handshake_calls(sock: socket.socket):
    """(send, recv) of small framed messages, for the handshake only (nothing is unpickled)."""

    def send(data: bytes) -> None:
        sock.sendall(HEADER.pack(len(data)) + data)

    def recv() -> bytes:
        (size,) = HEADER.unpack(_read(sock, HEADER.size))
        if size > HANDSHAKE_MESSAGE_MAX:
            raise PeerNotAuthenticated("tcp: the peer sent something that is not a handshake")
        return _read(sock, size)

    return send, recv


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError("tcp: the peer closed the connection during the handshake")
        data += chunk
    return data


def _ready(sock: socket.socket) -> socket.socket:
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    keep_alive(sock)
    return sock


def keep_alive(sock: socket.socket) -> None:
    """Have the kernel end a connection whose other host stopped answering."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (
        ("TCP_KEEPIDLE", KEEPALIVE_IDLE),
        ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
        ("TCP_KEEPCNT", KEEPALIVE_PROBES),
    ):
        if hasattr(socket, option):  # Linux
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


class Tcp(Transport):
    name = "tcp"
    summary = "TCP with TCP_NODELAY, length framing: 127.0.0.1, or the peer node's network"
    receive = "copy"
    in_default_matrix = False
    crosses_hosts = True

    def open(self, ctx, capacity, child_cpus):
        parent_sock, child_sock = loopback_pair()
        return open_socket_pair(ctx, capacity, child_cpus, parent_sock, child_sock)

    def open_peer(self, peer, capacity: int):
        secret = new_secret()
        # Only the address facing the peer: nothing listens on the host's other networks.
        with socket.create_server((peer.local_address, 0), backlog=MAX_STRANGERS) as listener:
            process = peer.start_child(connect_back, listener.getsockname(), secret, capacity)
            with peer.connecting(process):
                sock = accept_peer(listener, peer.address, secret, PEER_CONNECT_TIMEOUT)
        return peer.attach(SocketStream(sock, capacity, process))
