"""The patterns beyond pingpong and stream: startup, fanin, pool, counter.

Each runs its real bench (real child processes, real shared state) on a tiny matrix under every
start method it claims; one end-to-end run takes them all through the CLI into a result file.
"""

import os
import pickle
import signal
import statistics
import sys
import time

import psutil
import pytest
from conftest import (
    interrupt_after_cells,
    live_children,
    new_shm_entries,
    run_cli,
    timed_within_wall,
)

from ipcbench import benches, load_results, results
from ipcbench.benches.base import DataError
from ipcbench.benches.counter import CounterBench, increment
from ipcbench.benches.fanin import FanIn
from ipcbench.benches.pool import PoolBench
from ipcbench.benches.startup import ChannelStartup, ProcessStartup
from ipcbench.cell import Cell
from ipcbench.transports import registry
from ipcbench.transports.base import MP_METHODS
from ipcbench.transports.os_pipe import OsPipe

REGISTRY = registry()
CPUS = len(os.sched_getaffinity(0))
PLACEMENT = "split" if CPUS > 1 else "same"

pytestmark = pytest.mark.usefixtures("stop_multiprocessing_helpers")


def cell(pattern, subject, method, size=64, procs=1, chunksize=1):
    return Cell(pattern, subject, method, size, PLACEMENT, procs=procs, chunksize=chunksize)


@pytest.fixture(autouse=True)
def leaves_no_child_and_no_segment():
    shm_before = set(os.listdir("/dev/shm"))
    yield
    assert live_children() == []
    assert new_shm_entries(shm_before) == set()


def test_the_stream_sender_sends_each_number_once_from_alternating_payloads():
    """The stream's sender is unrolled over the ring of two payloads: odd counts and odd first
    numbers must still give first, first + 1, ... with no payload sent twice in a row."""
    from ipcbench.benches.stream import _stream_ring

    ring = [bytearray(64), bytearray(64)]
    stamps = [memoryview(payload)[:8].cast("Q") for payload in ring]

    def sent_by(first, loops):
        sent = []
        record = sent.append
        _stream_ring(
            lambda p: record((p, int.from_bytes(p[:8], sys.byteorder))), ring, stamps, first, loops
        )
        return sent

    for first in (1, 2, 7):
        for loops in (1, 2, 3, 8, 9):
            sent = sent_by(first, loops)
            assert [number for _, number in sent] == list(range(first, first + loops))
            assert all(p is ring[number & 1] for p, number in sent)


def test_a_real_stream_of_any_count_passes_the_childs_check_of_every_stamp():
    """The child checks each message's stamp and the ack's count and sum: counts of either
    parity, from first numbers of either parity (each stream moves the first on)."""
    from ipcbench.benches.base import start_context
    from ipcbench.benches.stream import stream
    from ipcbench.payloads import make_channel

    endpoint = OsPipe().open(start_context("fork"), 4096, None)
    try:
        channel = make_channel(endpoint, "bytes", 64)
        assert channel.ring is not None  # the unrolled sender's path
        for loops in (1, 2, 3, 8, 9, 1):
            assert stream(endpoint, channel, loops) > 0
        endpoint.send(b"exit")
    finally:
        endpoint.close()


@pytest.mark.parametrize("method", ("fork", "spawn", "forkserver", "exec"))
def test_startup_process_starts_and_joins_a_child_per_loop(method):
    with ProcessStartup(cell("startup", "process", method, size=0)) as bench:
        timed_within_wall(bench.time, 3)
        assert bench.extra_metadata(3)["first_start"] > 0
        # The children really run: one that cannot take its CPU fails the run.
        bench.child_cpus = [{os.cpu_count() + 64}]
        with pytest.raises(RuntimeError, match="do-nothing child exited with status 1"):
            bench.open()  # its first start, untimed, already fails
        with pytest.raises(RuntimeError, match="do-nothing child exited with status 1"):
            bench.time(1)


@pytest.mark.parametrize("transport", ("process", "os_pipe"))
def test_the_fork_servers_start_falls_in_the_recorded_first_start(transport):
    """Under forkserver the server starts with the worker's first, untimed start (recorded as
    first_start): the timed starts never include it, and the figure beside them does."""
    import multiprocessing.forkserver

    server = multiprocessing.forkserver._forkserver  # private: how to tell the server runs
    server._stop()
    assert server._forkserver_pid is None
    which = cell("startup", transport, "forkserver", size=0 if transport == "process" else 64)
    bench = ProcessStartup(which) if transport == "process" else None
    bench = bench or ChannelStartup(which, REGISTRY[transport])
    with bench:
        assert server._forkserver_pid is not None  # started by open(), inside first_start
        first = bench.first_start
        assert bench.time(1) > 0
    assert first > 0


@pytest.mark.parametrize("method", MP_METHODS)
@pytest.mark.parametrize("transport", ("os_pipe", "mp_queue"))
def test_startup_channel_times_start_to_first_reply(transport, method):
    with ChannelStartup(cell("startup", transport, method), REGISTRY[transport]) as bench:
        timed_within_wall(bench.time, 2)
        metadata = bench.extra_metadata(2)
        share = metadata["first_message_share"]
        shares = list(bench.first_message_shares)
    # Recorded over a run of its own of at least 5 starts, one share each: their median.
    assert len(shares) == 5 and share == statistics.median(shares)
    if method == "spawn":
        # open() returns once the process is started, not ready: the first message waits out
        # the fresh interpreter's imports (tens of ms, against a round trip well under a ms).
        # A share below half would mean its span no longer covers the child getting ready.
        assert share > 0.5, shares
    assert metadata["first_start"] > 0


@pytest.mark.parametrize("method", MP_METHODS)
@pytest.mark.parametrize("transport", ("os_pipe", "mp_queue"))
def test_fanin_times_every_producers_messages(transport, method):
    with FanIn(cell("fanin", transport, method, size=1000, procs=2), REGISTRY[transport]) as bench:
        assert bench.inner_loops == 2  # pyperf divides by messages, not loops
        timed_within_wall(bench.time, 100)


class _Mangling:
    """A fanin channel whose producers' send damages the message (flip, or cut a byte)."""

    def __init__(self, inner, damage):
        self.inner, self.damage = inner, damage
        self.recv, self.close = inner.recv, inner.close

    def send(self, data):
        self.inner.send(self.damage(bytes(data)))


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        (lambda data: data[:-1] + bytes([data[-1] ^ 1]), "did not arrive intact"),
        (lambda data: data[:-1], "another length|did not arrive intact"),
    ],
    ids=("corrupt", "truncate"),
)
def test_fanin_fails_a_channel_that_damages_messages(damage, error):
    class Damaging(OsPipe):
        def open_fanin(self, ctx, capacity, helper_cpus):
            return _Mangling(super().open_fanin(ctx, capacity, helper_cpus), damage)

    # fork: the producers inherit the damaging channel as it is, no pickling needed.
    with pytest.raises(DataError, match=error):
        with FanIn(cell("fanin", "os_pipe", "fork", procs=2), Damaging) as bench:
            bench.time(10)


@pytest.mark.parametrize("method", MP_METHODS)
@pytest.mark.parametrize("variant", ("apply", "map", "imap"))
def test_pool_runs_tasks_and_checks_every_result(variant, method):
    chunksize = 1 if variant == "apply" else 4
    with PoolBench(cell("pool", variant, method, size=4096, procs=2, chunksize=chunksize)) as bench:
        assert bench.min_loops == (1 if variant == "apply" else 4 * 2 * 4)
        timed_within_wall(bench.time, bench.min_loops)


def test_pool_chunks_carry_every_payload_not_one_shared_copy():
    # pickle writes a repeated object once per dump: a chunk of one payload would be a cheat.
    bench = PoolBench(cell("pool", "map", "fork", size=4096, procs=1, chunksize=8))
    bench.make_payloads()  # what open() does first
    chunk = tuple(bench.tasks(8))
    assert len(pickle.dumps(chunk)) >= 8 * 4096


@pytest.mark.parametrize("method", MP_METHODS)
@pytest.mark.parametrize("variant", ("value_lock", "manager_lock"))
def test_locked_counters_lose_no_update(variant, method):
    increments = 300 if variant == "manager_lock" else 20_000
    with CounterBench(cell("counter", variant, method, size=0, procs=2)) as bench:
        assert bench.inner_loops == 2
        timed_within_wall(bench.time, increments)  # fails its cell if one update was lost
        found = bench.extra_metadata(increments)
    assert found == {"updates": 2 * increments, "lost_updates": 0}


@pytest.mark.skipif(CPUS < 2, reason="a lost update needs two incrementers running at once")
@pytest.mark.parametrize("method", MP_METHODS)
def test_unlocked_counter_loses_updates_on_several_cores(method):
    # split: the two incrementers run on two different CPUs at the same time.
    with CounterBench(Cell("counter", "unlocked", method, 0, "split", procs=2)) as bench:
        found = bench.extra_metadata(200_000)
    assert found["updates"] == 400_000
    assert 0 < found["lost_updates"] < 400_000


class _NoLock:
    """A lock that does not lock."""

    def acquire(self, *args):
        return True

    def release(self):
        pass

    __enter__, __exit__ = acquire, lambda self, *exc: None


@pytest.mark.skipif(CPUS < 2, reason="a lost update needs two incrementers running at once")
def test_a_lock_that_does_not_lock_fails_the_counter():
    class BrokenLock(CounterBench):
        def open(self):
            self.variant = "value_lock"
            # fork: the incrementers inherit the Value and its fake lock as they are.
            self.shared = self.context.Value("q", 0, lock=_NoLock())
            self.workers.start(
                self.context, increment, (self.variant, self.shared, None), self.child_cpus, "t"
            )

    with pytest.raises(DataError, match="lost despite the lock"):
        with BrokenLock(Cell("counter", "value_lock", "fork", 0, "split", procs=2)) as bench:
            bench.time(200_000)


def test_unlocked_counter_is_exact_with_one_process():
    with CounterBench(cell("counter", "unlocked", "fork", size=0, procs=1)) as bench:
        assert bench.extra_metadata(50_000) == {"updates": 50_000, "lost_updates": 0}


def test_every_pattern_runs_end_to_end_into_one_result_file(tmp_path):
    output = tmp_path / "patterns.json"
    subjects = "process,os_pipe,mp_queue,apply,map,value_lock,unlocked"
    # One pass: every cell once (the second pass of these patterns, with its loop count given,
    # runs in conftest.patterns_result).
    run_cli(
        "run", "-p", "all", "-t", subjects, "-m", "fork", "-s", "64", "--procs", "1,2",
        "--chunksizes", "4", "--quick", "--processes", "1", "-o", output,
    )  # fmt: skip
    loaded = results.load(output)
    assert loaded.missing() == [] and not loaded.failed
    names = {bench.get_name() for bench in loaded.benchmarks}
    assert {
        "startup/process/fork/0B/split",
        "startup/os_pipe/fork/64B/split",
        "fanin/mp_queue/fork/64B/split/procs=2",
        "pool/map/fork/64B/split/procs=2/chunksize=4",
        "pool/apply/fork/64B/split",
        "counter/unlocked/fork/0B/split/procs=2",
    } <= names
    assert {name.split("/")[0] for name in names} == set(benches.PATTERNS)

    # A start-up is timed in a worker of its own (what it times depends on the worker's memory
    # and imports); the other cells of a pass share workers.
    cells_of_worker = {}
    for bench in loaded.benchmarks:
        for run in bench.get_runs():
            worker = run.get_metadata()["ipcbench_worker"]
            cells_of_worker.setdefault(worker, set()).add(bench.get_name())
    for cells in cells_of_worker.values():
        assert len(cells) == 1 or not any(c.startswith("startup/") for c in cells), cells
    assert max(len(cells) for cells in cells_of_worker.values()) > 1

    frame = load_results([output]).set_index("pattern")
    startup = frame.loc["startup"].set_index("transport")
    assert startup.loc["os_pipe", "first_message_us"] > 0
    fanin = frame.loc["fanin"]
    assert set(fanin["procs"]) == {1, 2} and (fanin["throughput_MBps"] > 0).all()
    counter = frame.loc["counter"].set_index(["transport", "procs"])
    assert counter.loc[("value_lock", 2), "lost_updates"] == 0
    assert counter.loc[("value_lock", 2), "updates"] > 0
    assert (frame["per_second"] > 0).all()


def test_ctrl_c_mid_cell_leaves_no_helper_and_resume_finishes(tmp_path):
    """Interrupted while incrementers, producers and manager servers run: nothing is left."""
    output = tmp_path / "interrupted.json"
    # Two processes per cell: incrementers, producers and a manager server are all running
    # (four would only start more of the same).
    command = [
        sys.executable, "-m", "ipcbench", "run", "-p", "counter,fanin",
        "-t", "manager_lock,unlocked,manager_queue", "-m", "spawn", "-s", "64",
        "--procs", "2", "--quick", "-o", str(output),
    ]  # fmt: skip
    returncode, stderr, session = interrupt_after_cells(command, output, 2, signal.SIGINT)
    assert returncode == 130, stderr
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 5  # exited processes may take a moment to be reaped
    while (left := [p for p in psutil.process_iter() if _in_session(p, session)]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert left == [], "processes left behind"

    run_cli("run", "--resume", output)
    complete = results.load(output)
    assert complete.missing() == [] and not complete.failed
    assert len(complete.planned) == 2 + 1  # counter: manager_lock, unlocked; fanin


def _in_session(process: psutil.Process, session: int) -> bool:
    try:
        return os.getsid(process.pid) == session
    except (ProcessLookupError, PermissionError):
        return False
