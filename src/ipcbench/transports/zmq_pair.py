"""`zmq_ipc` and `zmq_tcp`: a pyzmq PAIR socket pair over ipc:// or tcp://127.0.0.1.

pyzmq is an optional extra (`pip install 'ipcbench[zmq]'`), imported only when a channel is
opened, so that `list` works without it. A zmq context does not survive fork, and a socket cannot
be pickled: the parent binds, and the child makes its own context and connects by address.

Any local process can connect to the port (or, as this user, to the ipc path) first: the two
ends run handshake.py's challenge/response with a per-channel secret before any message is
used, so a pickled payload is never loaded from a peer that did not prove it knows the secret.
Once the child is connected, PAIR refuses every other peer.
"""

import shutil

from ipcbench.lifeline import zmq_directory
from ipcbench.transports.base import ChildEndpoint, Transport, start_serving
from ipcbench.transports.connect_in_child import ConnectInChild
from ipcbench.transports.handshake import (
    HANDSHAKE_TIMEOUT,
    PeerNotAuthenticated,
    child_side,
    new_secret,
    parent_side,
)


class ZmqEndpoint(ChildEndpoint):
    def __init__(self, context, sock, directory=None) -> None:
        import zmq

        self.context, self.sock, self.directory = context, sock, directory
        send, recv, frame_type = sock.send, sock.recv, zmq.Frame

        def send_message(data) -> None:
            # Lending the buffer (copy=False) saves a copy of a large payload, but zmq reads it
            # after send returns: safe only for immutable bytes and for the frames zmq gave us
            # (an echo). pyzmq copies small messages anyway, where that is cheaper.
            lend = type(data) is bytes or (
                type(data) is memoryview and type(data.obj) is frame_type
            )
            send(data, copy=not lend)

        def recv_message() -> memoryview:
            return recv(copy=False).buffer  # a view of zmq's own message: no copy out

        self.send, self.recv = send_message, recv_message

    def close_channel(self) -> None:
        if self.sock is not None:
            # linger=0: whatever is still unsent is of no use once the channel closes.
            self.sock.close(linger=0)
            self.context.term()
            self.sock = self.context = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


def _authenticate(sock, side, secret: bytes, channel: str) -> None:
    """Run one side of the handshake with a receive timeout, then restore blocking receives."""
    import zmq

    sock.setsockopt(zmq.RCVTIMEO, int(HANDSHAKE_TIMEOUT * 1000))
    try:
        side(sock.send, sock.recv, secret, channel)
    except zmq.Again:
        raise PeerNotAuthenticated(
            f"{channel}: no peer completed the handshake within {HANDSHAKE_TIMEOUT:g} s"
        ) from None
    sock.setsockopt(zmq.RCVTIMEO, -1)


def _connect(address: str, secret: bytes) -> ZmqEndpoint:
    """In the child: a context of its own (after the fork), a PAIR socket connected by address."""
    import zmq

    context = zmq.Context()
    sock = context.socket(zmq.PAIR)
    _keep_alive(sock)
    try:
        sock.connect(address)
        _authenticate(sock, child_side, secret, address)
    except BaseException:
        sock.close(linger=0)
        context.term()
        raise
    return ZmqEndpoint(context, sock)


def _keep_alive(sock) -> None:
    """Across hosts, have the kernel end a connection whose other host stopped answering (the
    same probes as tcp's); ignored by ipc:// sockets."""
    import zmq

    from ipcbench.transports.tcp import KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_PROBES

    for option, value in (
        (zmq.TCP_KEEPALIVE, 1),
        (zmq.TCP_KEEPALIVE_IDLE, KEEPALIVE_IDLE),
        (zmq.TCP_KEEPALIVE_INTVL, KEEPALIVE_INTERVAL),
        (zmq.TCP_KEEPALIVE_CNT, KEEPALIVE_PROBES),
    ):
        sock.setsockopt(option, value)


class _ZmqPair(Transport):
    in_default_matrix = False
    receive = "copy"  # recv() is zmq's own message, which the receiver owns

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import zmq  # noqa: F401
        except ImportError:
            return "needs pyzmq: pip install 'ipcbench[zmq]'"
        return None

    def bind(self, sock) -> tuple[str, str | None]:
        """Bind `sock`; return the address for the child and a directory to remove at close."""
        raise NotImplementedError

    def open(self, ctx, capacity, child_cpus):
        import zmq

        context = zmq.Context()
        parent = ZmqEndpoint(context, context.socket(zmq.PAIR))
        secret = new_secret()
        try:
            address, parent.directory = self.bind(parent.sock)
            start_serving(ctx, parent, ConnectInChild(_connect, address, secret), child_cpus)
            _authenticate(parent.sock, parent_side, secret, f"{self.name} {address}")
        except BaseException:
            parent.close()  # the child, if started, is terminated after the grace
            raise
        return parent


class ZmqIpc(_ZmqPair):
    name = "zmq_ipc"
    summary = "pyzmq PAIR sockets over ipc:// (a Unix socket in a private directory)"

    def bind(self, sock):
        directory = zmq_directory()  # mode 0700: only this user; swept if this process dies
        address = f"ipc://{directory}/channel"
        try:
            sock.bind(address)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return address, directory


class ZmqTcp(_ZmqPair):
    # Like any port on 127.0.0.1, another local process could connect first (PAIR takes one
    # peer): the handshake then fails the cell before any message is used.
    name = "zmq_tcp"
    summary = "pyzmq PAIR sockets over tcp:// (127.0.0.1, or the peer node's network)"

    crosses_hosts = True

    def bind(self, sock, host: str = "127.0.0.1"):
        port = sock.bind_to_random_port(f"tcp://{host}")
        return f"tcp://{host}:{port}", None

    def open_peer(self, peer, capacity):
        """The child on the peer node connects back to this host's address facing it, and only
        there; PAIR takes one peer, which must then pass the handshake."""
        import zmq

        context = zmq.Context()
        parent = ZmqEndpoint(context, context.socket(zmq.PAIR))
        secret = new_secret()
        try:
            _keep_alive(parent.sock)
            address, _ = self.bind(parent.sock, peer.local_address)
            process = peer.start_child(_connect, address, secret)
            with peer.connecting(process):
                _authenticate(parent.sock, parent_side, secret, f"{self.name} {address}")
        except BaseException:
            parent.close()  # `connecting` stopped the child
            raise
        parent.process = process
        return peer.attach(parent)
