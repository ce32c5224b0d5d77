"""Starting one worker for a batch of cells, and following it cell by cell.

The worker's command line and environment are pyperf's own (Manager.worker_cmd: the Runner's
program arguments, --values, --min-time, --warmups, --affinity, ..., plus ipcbench's --job and
--cell-timeout through add_cmdline_args; create_environ: --inherit-environ, --copy-env,
--locale; plus the allocator's policy, allocator.py). These are the manager's only touches of
pyperf internals (pyperf 2.x). pyperf's Manager itself is not used: it expects one benchmark
per worker, and it polls for the worker's exit with sleeps, which cost ~50 ms per worker here.

The worker reports `start N` and `end N` for the Nth cell of its job, one line each, on a pipe.
"""

import os
import select
import signal
import subprocess
from collections.abc import Iterator

from pyperf._manager import Manager
from pyperf._utils import create_environ

from ipcbench import allocator

# The worker's own watchdog ends a cell after --cell-timeout and the worker itself after a
# grace period (worker.py); the manager waits this much longer before it gives up on a worker
# that says nothing (stuck where no signal gets through).
SILENCE_MARGIN = 15.0
# How long a worker told to stop gets to clean up before it is killed.
STOP_GRACE = 10.0


class Worker:
    """A running worker process and the report pipe it writes to."""

    def __init__(self, runner, stop_file: str) -> None:
        args = runner.args
        read_end, write_end = os.pipe()
        try:
            command = Manager(runner).worker_cmd(0, 0, str(write_end))
            env = create_environ(args.inherit_environ, args.locale, args.copy_env)
            env = allocator.with_policy(env)  # one malloc policy for the worker and its children
            self.process = subprocess.Popen(
                command, env=env, pass_fds=[write_end], stdin=subprocess.DEVNULL
            )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        self._reports = os.fdopen(read_end, "r", encoding="ascii")
        self.stop_file = stop_file
        self.silent = False  # True once the worker was killed for saying nothing

    def reports(self, patience: float) -> Iterator[tuple[str, int]]:
        """(`start` or `end`, cell index) as the worker reports them, until it closes its pipe.

        A worker that says nothing for `patience` seconds is killed. A SIGINT or SIGTERM that the
        manager holds (stopping.held) makes the worker stop after its current cell.
        """
        silence = 0.0
        while True:
            # Asked before every wait, not only after a silent second: a worker whose cells end
            # more often than that would otherwise time its whole batch (up to BATCH_CELLS).
            if signal.sigpending() & {signal.SIGINT, signal.SIGTERM}:
                # SIGTERM may reach the manager alone: ask the worker to end the batch.
                open(self.stop_file, "a").close()
            ready, _, _ = select.select([self._reports], [], [], 1.0)
            if ready:
                line = self._reports.readline()
                if not line:
                    return
                word, _, index = line.partition(" ")
                yield word, int(index)
                silence = 0.0
                continue
            silence += 1.0
            if silence > patience:
                self.silent = True
                self.process.kill()
                return

    def finish(self) -> int:
        """Wait for the worker to exit; its exit status."""
        self._reports.close()
        return self.process.wait()

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc_info) -> None:
        """If the manager fails mid-batch (say, its file is unwritable): end the worker cleanly."""
        if self.process.poll() is None:
            self.process.terminate()  # the worker unwinds through its cell's cleanup
            try:
                self.process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reports.close()
