"""counter: P processes each increment one shared counter K times.

counter/value_lock/...     a multiprocessing.Value, each increment under `with value.get_lock()`
counter/manager_lock/...   an entry of a Manager().dict(), under `with manager.Lock()`
counter/unlocked/...       a multiprocessing.Value without its lock: `value.value += 1`

One loop is one increment by every process, so the value is the time per increment (pyperf's
inner_loops = P) and increments/s its inverse. After every run the counter must read P x K:
the locked variants fail their cell otherwise. The unlocked one is expected to lose updates
when its processes run at once on several CPUs (a read-modify-write race); how many it lost in
one extra run of K is recorded as `lost_updates` out of `updates`: a correctness finding, not
an error. Incrementers are started before the clock and told what to do over control pipes.
This module is imported by spawned children: standard library and light modules only.
"""

from time import perf_counter

from ipcbench.benches.base import Bench, DataError
from ipcbench.benches.spec import Pattern, Section, Variant
from ipcbench.child import prepare_child
from ipcbench.children import Crew, start_manager
from ipcbench.units import RATE, Unit

KEY = "count"


def increment(control, cpus, number: int, variant: str, shared, lock) -> None:
    """An incrementer's entry point: on `add K`, K increments, then `done`."""
    prepare_child(cpus)
    try:
        while True:
            verb, _, count = control.recv_bytes().partition(b" ")
            if verb != b"add":
                break  # b"exit", or anything unexpected
            times = range(int(count))
            if variant == "value_lock":
                get_lock = shared.get_lock
                for _ in times:
                    with get_lock():
                        shared.value += 1
            elif variant == "manager_lock":
                for _ in times:
                    with lock:
                        shared[KEY] += 1
            else:  # unlocked: the race under test
                for _ in times:
                    shared.value += 1
            control.send_bytes(b"done")
    except (EOFError, OSError):
        pass  # the parent went away
    finally:
        control.close()


class CounterBench(Bench):
    def __init__(self, cell) -> None:
        super().__init__(cell, children=cell.procs)
        self.variant = cell.transport
        self.inner_loops = cell.procs
        self.manager = self.shared = self.lock = None
        self.workers = Crew()

    def child_modules(self) -> tuple[str, ...]:
        return ("ipcbench.child", __name__)

    def open(self) -> None:
        if self.variant == "manager_lock":
            # The parent only waits while the counter runs: its CPUs are free for the server.
            self.manager = start_manager(self.context, self.parent_cpus)
            self.shared, self.lock = self.manager.dict({KEY: 0}), self.manager.Lock()
        else:
            locked = self.variant == "value_lock"
            self.shared = self.context.Value("q", 0, lock=locked)
        self.workers.start(
            self.context,
            increment,
            (self.variant, self.shared, self.lock),
            self.child_cpus,
            "ipcbench-counter",
        )

    @property
    def count(self) -> int:
        return self.shared[KEY] if self.manager else self.shared.value

    def _reset(self) -> None:
        if self.manager:
            self.shared[KEY] = 0
        else:
            self.shared.value = 0

    def time(self, loops: int) -> float:
        elapsed, _ = self._run(loops)
        return elapsed

    def extra_metadata(self, loops: int) -> dict:
        _, lost = self._run(loops)
        return {"updates": loops * len(self.workers), "lost_updates": lost}

    def _run(self, loops: int) -> tuple[float, int]:
        """(seconds for `loops` increments by every process, increments lost).

        A locked counter that loses an update fails the cell: its lock does not work.
        """
        self._reset()
        start = perf_counter()
        self.workers.tell(b"add %d" % loops)
        replies = self.workers.replies()
        elapsed = perf_counter() - start
        if any(reply != b"done" for reply in replies):
            raise DataError("an incrementer answered something other than done")
        lost = loops * len(self.workers) - self.count
        if lost and self.variant != "unlocked":
            raise DataError(
                f"{lost} of {loops * len(self.workers)} increments were lost despite the lock"
            )
        return elapsed, lost

    def close(self, intact: bool) -> None:
        try:
            self.workers.stop()
        finally:
            if self.manager is not None:
                self.shared = self.lock = None  # proxies first, or they outlive the server
                self.manager.shutdown()
                self.manager = None


PATTERN = Pattern(
    "counter",
    "P processes increment one shared counter: time per increment, lost updates",
    unit=Unit("incr/s", RATE),
    legend="increments/s of one shared counter by all processes together (higher is better, "
    "if no update is lost)",
    per="one increment",
    on_transports=False,
    variants=(
        Variant(
            "value_lock", "multiprocessing.Value, `with get_lock()`", CounterBench, sized=False
        ),
        Variant(
            "manager_lock",
            "Manager().dict() entry, `with manager.Lock()`",
            CounterBench,
            sized=False,
        ),
        Variant("unlocked", "multiprocessing.Value without its lock", CounterBench, sized=False),
    ),
    multi_process=True,
    procs_noun="incrementer",
    ranked=False,
    answer_note="The shared counter is left out: its fastest variant loses updates (see below).",
    section=Section(
        "Shared counter: speed and lost updates",
        "Shared counter",
        "P processes each increment one shared counter: value_lock is a multiprocessing.Value "
        "under its get_lock(), manager_lock a Manager().dict() entry under a manager Lock, "
        "unlocked the Value without its lock. Increments per second for all processes together; "
        "lost updates are counted in one extra run: the counter should read P × K and reads less "
        "where two read-modify-write cycles overlapped. An unlocked counter is fast and wrong.",
        warning=True,
        headline=True,
    ),
)
