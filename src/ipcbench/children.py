"""The parent's side of every child process: starting, stopping, crews, manager servers.

One place for a child's life, whoever started it (a transport's channel, a fan-in's producers,
a counter's incrementers, a manager's server):
  - start_child: a daemon process of the start method's context serving `child.serve`;
  - stop_processes: join what was asked to leave, terminate, then kill what does not, sharing
    each grace period between the processes stopped together (kill_process: at once);
  - Crew: children that wait for the parent's word on a control pipe;
  - start_manager: a manager server on given CPUs, with a random authkey, dying with us;
  - start_resource_tracker: multiprocessing's helper started without undoing held signals.
The child's own side (pinning, dying with the parent, the serving loop) is child.py.
Standard library only: spawned children import the transports, which import this.
"""

import secrets
import signal
import time

from ipcbench import child

# How long a child may take to leave after it was told to (or its channel closed) before it is
# terminated: generous for a loaded machine, short enough that a hung child costs little.
CHILD_EXIT_GRACE = 2.0


def start_child(ctx, child_endpoint, child_cpus):
    """Start `child.serve(child_endpoint)` as a daemon process of `ctx`; return the process."""
    process = ctx.Process(
        target=child.serve, args=(child_endpoint, child_cpus), name="ipcbench-child", daemon=True
    )
    process.start()
    return process


def stop_process(process) -> None:
    """Join a child that was asked to exit; terminate, then kill, one that does not."""
    stop_processes([process])


def stop_processes(processes) -> None:
    """stop_process for several children at once: they share each grace period."""
    _join_all(processes, CHILD_EXIT_GRACE)
    for process in processes:
        if process.is_alive():
            process.terminate()
    _join_all(processes, CHILD_EXIT_GRACE)
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()
        if hasattr(process, "close"):
            process.close()


def kill_process(process) -> None:
    """End a child at once and reap it: for an open that failed before the child served."""
    process.kill()
    process.join()


def _join_all(processes, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))


class Crew:
    """Child processes that each wait for the parent's word on a control pipe.

    Started once, before the clock, and told when to work (`tell`), so that the timed runs hold
    no process start-up (fan-in producers, counter incrementers).
    """

    def __init__(self) -> None:
        self.members: list = []  # (process, the parent's end of its control pipe)

    def __len__(self) -> int:
        return len(self.members)

    def start(self, context, target, args: tuple, cpus_of_each: list, name: str) -> None:
        """One child per entry of `cpus_of_each`, running target(control, cpus, number, *args)."""
        for number, cpus in enumerate(cpus_of_each):
            control, child_control = context.Pipe()
            process = context.Process(
                target=target,
                args=(child_control, cpus, number, *args),
                name=f"{name}-{number}",
                daemon=True,
            )
            self.members.append((process, control))
            process.start()
            child_control.close()  # the child holds its end now: EOF reaches it if we go

    def tell(self, command: bytes) -> None:
        for _, control in self.members:
            control.send_bytes(command)

    def replies(self) -> list[bytes]:
        """One reply from each member, in order."""
        return [control.recv_bytes() for _, control in self.members]

    def stop(self) -> None:
        """Tell every member to exit, then join (or terminate) them."""
        for _, control in self.members:
            try:
                control.send_bytes(b"exit")
            except OSError:
                pass  # that member is gone already
            control.close()
        stop_processes([process for process, _ in self.members])
        self.members.clear()


def start_manager(ctx, cpus, manager_class=None, address=None, authkey=None):
    """A started manager (a SyncManager unless `manager_class` says otherwise) whose server
    runs on `cpus` and dies with this process.

    A random authkey per manager unless given: the server listens on a socket that other local
    processes could otherwise connect to, and would unpickle (run) what they send.
    """
    if manager_class is None:
        # Here, not at the top: a spawned child imports this module, and the managers module
        # alone costs it tens of milliseconds.
        from multiprocessing.managers import SyncManager as manager_class
    authkey = authkey or secrets.token_bytes(32)
    manager = manager_class(address=address, authkey=authkey, ctx=ctx)
    manager.start(initializer=child.prepare_child, initargs=(cpus,))
    return manager


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker without releasing the caller's held signals.

    multiprocessing starts it on first use (spawn and forkserver children, shared memory), and
    starting it unblocks SIGINT and SIGTERM, which the worker holds while it starts children
    (see ipcbench.stopping): started here first, the hold is not undone half-way.
    """
    from multiprocessing import resource_tracker

    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    resource_tracker.ensure_running()
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
