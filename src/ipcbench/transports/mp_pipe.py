"""`mp_pipe`: multiprocessing.Pipe(duplex=True), a socketpair, with send_bytes/recv_bytes_into."""

from multiprocessing import BufferTooShort

from ipcbench.transports.base import ChildEndpoint, Transport, start_serving


class ConnectionEndpoint(ChildEndpoint):
    """Whole messages over a multiprocessing Connection, received into one reused buffer.

    fixed_calls() receives straight from the Connection: a subclass that changes what send or
    recv do sets `fixed_calls = None` (on both ends of its channel) or brings its own."""

    def __init__(self, connection, capacity: int, process=None) -> None:
        self.connection, self.capacity, self.process = connection, capacity, process
        self._buffer = bytearray(capacity)
        self._view = memoryview(self._buffer)
        self._fixed = {}
        self.send = connection.send_bytes
        # Connection.send/recv pickle objects themselves: the object API.
        self.send_object, self.recv_object = connection.send, connection.recv

    def recv(self) -> memoryview:
        return self._view[: self.connection.recv_bytes_into(self._buffer)]

    def fixed_calls(self, size: int):
        """(send, recv) for messages of exactly `size` bytes (see base.py): the same framed
        messages, received into one buffer of that size."""
        calls = self._fixed.get(size)
        if calls is None:
            calls = self._fixed[size] = (self.send, fixed_receiver(self.connection, size))
        return calls

    def close_channel(self) -> None:
        self.connection.close()  # idempotent

    def child_args(self) -> tuple:
        return self.connection, self.capacity


class MpPipe(Transport):
    name = "mp_pipe"
    summary = "multiprocessing.Pipe(duplex=True) (a socketpair), send_bytes/recv_bytes_into"
    receive = "copy"

    def open(self, ctx, capacity, child_cpus):
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        parent = ConnectionEndpoint(parent_conn, capacity)
        return start_serving(ctx, parent, ConnectionEndpoint(child_conn, capacity), child_cpus)


def fixed_receiver(connection, size: int):
    """recv() of `size`-byte messages into one reused buffer (valid until the next recv), with
    the attributes of framing.fixed_receiver: child.py's stream loop calls the Connection's own
    recv_bytes_into and checks each stamp in place, without a Python call or a slice of its own
    per message (a 64 B stream measured 1.11x a raw loop through the endpoint's recv). A
    message of another length comes whole from recv() and rest(): a shorter one as the part of
    the buffer it filled, a longer one from the BufferTooShort that recv_bytes_into raises."""
    recv_into = connection.recv_bytes_into
    buffer = memoryview(bytearray(size))

    def recv():
        try:
            got = recv_into(buffer)
        except BufferTooShort as error:
            return error.args[0]
        return buffer if got == size else buffer[:got]

    recv.buffer, recv.readinto = buffer, recv_into
    recv.rest = lambda got: buffer[:got]
    return recv
