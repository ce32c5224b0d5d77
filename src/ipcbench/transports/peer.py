"""Whether the other end of a channel is still there, for transports that wait with a timeout.

Semaphores, message queues and shared-memory queues give no EOF when the other process dies.
Their waits time out now and then and ask this instead, so a dead child fails the cell with a
reason, not at the cell timeout, and an orphaned child leaves.
"""

import os


def check_peer(process, parent_pid: int) -> None:
    """The parent checks its child (`process`); the child checks that its parent is alive.

    A child dies with its parent (PR_SET_PDEATHSIG), unless the parent died while the child
    was still starting, before it asked for that: then it must notice by itself. Asked by pid,
    not as os.getppid(): a forkserver child's parent process is the fork server.
    """
    if process is not None:
        if not process.is_alive():
            raise EOFError(f"the child exited (exit code {process.exitcode})")
    elif not _alive(parent_pid):
        raise EOFError("the parent exited")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal sent: only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists (another user's)
    return True
