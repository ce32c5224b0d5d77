"""`posix_mq`: two POSIX message queues (mq_open) through the optional `posix_ipc` package.

A message queue keeps message boundaries, so there is no framing; a message is at most
/proc/sys/fs/mqueue/msgsize_max bytes (8 KiB by default), which becomes the transport's max_size
so the matrix skips larger payloads and says so.

Queues have random names and mode 0600. The child opens them by name and sends one READY
message; the parent then unlinks both names at once, so /dev/mqueue holds nothing of ours while
the benchmark runs, and a crash of either process leaves nothing behind.
posix_ipc is imported only when a channel is opened, so that `list` works without it.
"""

import os
import secrets
from pathlib import Path

from ipcbench.children import kill_process
from ipcbench.transports.base import ChildEndpoint, Transport, start_child, undo_on_error
from ipcbench.transports.connect_in_child import ConnectInChild
from ipcbench.transports.peer import check_peer

READY = b"R"
POLL_SECONDS = 1.0  # how often a waiting parent looks whether its child is still alive
QUEUE_DEPTH = 8  # messages in flight per direction (capped by /proc/sys/fs/mqueue/msg_max)
LIMITS = Path("/proc/sys/fs/mqueue")


def _limit(name: str, default: int) -> int:
    try:
        return int((LIMITS / name).read_text())
    except (OSError, ValueError):
        return default  # not Linux, or no mqueue support: the package then says why at open


class MqEndpoint(ChildEndpoint):
    def __init__(self, outgoing, incoming, process=None, parent_pid=None) -> None:
        self.outgoing, self.incoming, self.process = outgoing, incoming, process
        self.parent_pid = parent_pid
        self.send, self.recv = self._sender(), self._receiver()

    def _sender(self):
        import posix_ipc

        send, busy = self.outgoing.send, posix_ipc.BusyError

        def send_message(data) -> None:
            while True:
                try:
                    return send(data, POLL_SECONDS)
                except busy:  # the queue stayed full: is anyone still reading it?
                    self._check_peer()

        return send_message

    def _receiver(self):
        import posix_ipc

        receive, busy = self.incoming.receive, posix_ipc.BusyError

        def recv() -> bytes:
            while True:
                try:
                    return receive(POLL_SECONDS)[0]  # (message, priority)
                except busy:
                    self._check_peer()

        return recv

    def _check_peer(self) -> None:
        check_peer(self.process, self.parent_pid)

    def close_channel(self) -> None:
        for queue in (self.outgoing, self.incoming):
            try:
                queue.close()
            except Exception:
                pass  # closed before


def _connect(to_child: str, to_parent: str, parent_pid: int) -> MqEndpoint:
    """In the child: open both queues by name, then tell the parent it may unlink them."""
    import posix_ipc

    incoming = posix_ipc.MessageQueue(to_child, read=True, write=False)
    outgoing = posix_ipc.MessageQueue(to_parent, read=False, write=True)
    endpoint = MqEndpoint(outgoing, incoming, parent_pid=parent_pid)
    outgoing.send(READY)
    return endpoint


class PosixMq(Transport):
    name = "posix_mq"
    summary = "two POSIX message queues (posix_ipc), random names unlinked once both sides opened"
    # receive() returns a new bytes object per message, copied out of the kernel's queue.
    receive = "copy"
    in_default_matrix = False
    # Read once, at import: the matrix and `list` consult the class attribute.
    max_size = _limit("msgsize_max", 8192)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import posix_ipc
        except ImportError:
            return "needs posix_ipc: pip install 'ipcbench[posix]'"
        if not posix_ipc.MESSAGE_QUEUES_SUPPORTED:
            return "this system has no POSIX message queues"
        return None

    def open(self, ctx, capacity, child_cpus):
        import posix_ipc

        # A pickle cell asks for a generous capacity; the queue holds what the system allows.
        size = min(capacity, self.max_size)
        depth = min(QUEUE_DEPTH, _limit("msg_max", 10))
        token = secrets.token_hex(8)
        names = (f"/ipcbench-{token}-to-child", f"/ipcbench-{token}-to-parent")
        queues = []
        try:
            with undo_on_error() as undo:
                for name in names:
                    queues.append(
                        posix_ipc.MessageQueue(
                            name,
                            posix_ipc.O_CREX,
                            mode=0o600,
                            max_messages=depth,
                            max_message_size=size,
                        )
                    )
                    undo.callback(queues[-1].close)
                child_side = ConnectInChild(_connect, *names, os.getpid())
                process = start_child(ctx, child_side, child_cpus)
                undo.callback(kill_process, process)  # nothing to wait for: it never served
                parent = MqEndpoint(queues[0], queues[1], process)
                if parent.recv() != READY:
                    raise EOFError("the child's first message was not READY")
        finally:
            # Both sides have them open (or opening failed): the names have served their purpose.
            for name in names[: len(queues)]:
                posix_ipc.unlink_message_queue(name)
        return parent
