"""Interleaved passes, one loop count per cell, and resume in the middle of a pass (real runs)."""

import os
import signal
import sys
from collections import defaultdict

import pytest
from conftest import interrupt_after_cells, run_cli

from ipcbench import allocator, results

# Eight in-process cells: cheap to run, and 8! orders make a repeated shuffle a 1-in-40320 event.
SELECTION = ("-t", "null", "-p", "pingpong,stream", "-s", "64,1KiB,4KiB,64KiB")


def _runs(path):
    """(cell name, run metadata) for every worker of every cell, in the file's order."""
    for bench in results.load(path).benchmarks:
        for run in bench.get_runs():
            yield bench.get_name(), run.get_metadata()


@pytest.fixture(scope="module")
def three_passes(tmp_path_factory):
    path = tmp_path_factory.mktemp("passes") / "passes.json"
    run_cli("run", *SELECTION, "--quick", "--processes", "3", "-o", path)
    return path


def test_every_pass_visits_every_cell_once_in_its_own_order(three_passes):
    result = results.load(three_passes)
    assert result.settings["passes"] == 3
    orders = defaultdict(dict)  # pass -> position -> cell
    for name, metadata in _runs(three_passes):
        orders[metadata["ipcbench_pass"]][metadata["ipcbench_position"]] = name
        assert metadata["ipcbench_started"]  # each worker's start time is recorded
        assert metadata["malloc"] == allocator.POLICY  # and the allocator policy it ran under
    assert sorted(orders) == [1, 2, 3]
    for order in orders.values():
        assert sorted(order) == list(range(8))  # one worker per cell, positions 0..7
        assert sorted(order.values()) == sorted(result.planned)
    sequences = [tuple(order[i] for i in range(8)) for order in orders.values()]
    assert len(set(sequences)) == 3, "passes ran the cells in the same order"


def test_cells_of_a_pass_share_workers_and_no_cell_sees_one_twice(three_passes):
    cells_of_worker = defaultdict(set)  # worker -> cells it timed
    workers_of_cell = defaultdict(list)  # cell -> workers that timed it
    for name, metadata in _runs(three_passes):
        cells_of_worker[(metadata["ipcbench_pass"], metadata["ipcbench_worker"])].add(name)
        workers_of_cell[name].append(metadata["ipcbench_worker"])
    # Batches: fewer worker processes than cells timed...
    assert len(cells_of_worker) < sum(len(w) for w in workers_of_cell.values())
    # ...yet every worker of a cell is a process of its own, and a worker stays in one pass.
    for name, workers in workers_of_cell.items():
        assert len(set(workers)) == len(workers) == 3, name
    assert len({worker for _, worker in cells_of_worker}) == len(cells_of_worker)


def test_one_loop_count_per_cell_and_streams_of_several_messages(three_passes):
    loops = defaultdict(set)
    for name, metadata in _runs(three_passes):
        loops[name].add(metadata["loops"])
    for name, counts in loops.items():
        assert len(counts) == 1, f"{name} ran with loop counts {counts}"
        if name.startswith("stream/"):
            assert min(counts) >= 8, f"{name}: a stream value of {counts} messages"


def test_resume_in_the_middle_of_a_pass_runs_only_the_missing_workers(tmp_path):
    output = tmp_path / "interrupted.json"
    command = [sys.executable, "-m", "ipcbench", "run", *SELECTION, "--quick", "-o", str(output)]
    # 10 saved workers: the first pass (8) is done and the second one is under way.
    returncode, stderr, _ = interrupt_after_workers(command, output, 10)
    assert returncode == 130, stderr
    before = {b.get_name(): b.get_values() for b in results.load(output).benchmarks}
    counts = {b.get_name(): b.get_nrun() for b in results.load(output).benchmarks}
    assert set(counts.values()) == {1, 2}, counts  # interrupted inside pass 2

    resumed = run_cli("run", "--resume", output)
    assert "incomplete" in resumed.stderr
    complete = results.load(output)
    assert {b.get_nrun() for b in complete.benchmarks} == {2}
    for bench in complete.benchmarks:
        assert bench.get_values()[: len(before[bench.get_name()])] == before[bench.get_name()]
    with pytest.raises(AssertionError, match="nothing to resume"):
        run_cli("run", "--resume", output)


def interrupt_after_workers(command, output, workers):
    def saved_workers(result):
        return sum(bench.get_nrun() for bench in result.benchmarks)

    return interrupt_after_cells(command, output, workers, signal.SIGINT, measure=saved_workers)


@pytest.mark.usefixtures("stop_multiprocessing_helpers")
def test_a_batch_shares_one_fork_server_that_preloads_what_all_its_cells_need():
    from multiprocessing import forkserver

    from ipcbench.benches.base import channel_modules, start_context, stop_fork_server
    from ipcbench.child import idle
    from ipcbench.transports import registry
    from ipcbench.worker import JobCell, _share_fork_server

    names = ("os_pipe", "mp_pipe")
    batch = [
        JobCell(f"pingpong/{name}/forkserver/64B/split", None, position, "", "")
        for position, name in enumerate(names)
    ]
    server = forkserver._forkserver
    stop_fork_server()
    try:
        _share_fork_server(batch)
        pids = []
        for name in names:  # each cell's bench starts its context, then a child
            context = start_context("forkserver", channel_modules(registry()[name]))
            child = context.Process(target=idle)
            child.start()
            child.join()
            assert child.exitcode == 0
            pids.append(server._forkserver_pid)
        assert pids[0] is not None and pids[0] == pids[1]  # one server for both cells
        assert {"ipcbench.transports.os_pipe", "ipcbench.transports.mp_pipe"} <= set(
            server._preload_modules
        )
        # A cell needing a module the server lacks gets a server of its own.
        start_context("forkserver", ("ipcbench.child", "ipcbench.transports.shared_array"))
        assert server._forkserver_pid is None
    finally:
        stop_fork_server()
    assert server._forkserver_pid is None
    with pytest.raises(ChildProcessError):  # waited for: no zombie left behind
        os.waitpid(pids[0], os.WNOHANG)
