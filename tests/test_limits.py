"""Refusals for what cannot fit: too many cells, too much memory, too large a payload.

Each is refused before any process starts, in one line that names the limit (and the flag that
raises it, where one does).
"""

import subprocess
import sys

import pytest

from ipcbench import limits
from ipcbench.cell import Cell


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "ipcbench", *map(str, args)], capture_output=True, text=True
    )


def refusal(completed) -> str:
    lines = completed.stderr.strip().splitlines()
    assert completed.returncode == 2 and len(lines) == 1, completed.stderr
    return lines[0]


PROCS = ",".join(map(str, range(1, 201)))
CHUNKS = ",".join(map(str, range(1, 31)))


def test_a_selection_beyond_the_cell_cap_is_refused_and_the_flag_raises_it(tmp_path):
    # 200 procs x 30 chunksizes = 6000 pool/map cells, over the default cap of 5000.
    args = ("run", "-p", "pool", "-t", "map", "-m", "fork", "-s", "64",
            "--procs", PROCS, "--chunksizes", CHUNKS)  # fmt: skip
    line = refusal(cli(*args, "-o", tmp_path / "r.json"))
    assert f"more than {limits.DEFAULT_MAX_CELLS} cells" in line and "--max-cells N" in line
    assert not (tmp_path / "r.json").exists()
    # The flag is the limit that is read (raising it past 6000 would start the run).
    line = refusal(cli(*args, "--max-cells", "10", "-o", tmp_path / "r.json"))
    assert "more than 10 cells" in line


def test_a_pool_cell_that_cannot_fit_in_memory_is_refused(tmp_path):
    line = refusal(
        cli(
            "run",
            "-p",
            "pool",
            "-t",
            "map",
            "-m",
            "fork",
            "-s",
            "128MiB",
            "--chunksizes",
            "64",
            "--procs",
            "4",
            "-o",
            tmp_path / "r.json",
        )  # fmt: skip
    )
    assert "pool/map/fork/128MiB" in line and "MiB of memory available" in line


@pytest.mark.parametrize("size", ["256MiB", "1GiB", "2GiB"])
def test_sizes_beyond_the_honest_limit_are_refused(size, tmp_path):
    line = refusal(cli("run", "-t", "os_pipe", "-s", size, "-o", tmp_path / "r.json"))
    assert "at most 128MiB" in line


@pytest.mark.parametrize("flag", ["--procs", "--chunksizes"])
def test_counts_beyond_1024_are_refused(flag, tmp_path):
    line = refusal(cli("run", "-p", "pool", flag, "1025", "-o", tmp_path / "r.json"))
    assert "1 to 1024" in line


def test_the_memory_estimate_grows_with_what_the_cell_holds():
    small = Cell("pool", "map", "fork", 1 << 20, "split", procs=1, chunksize=1)
    big = Cell("pool", "map", "fork", 1 << 20, "split", procs=4, chunksize=64)
    pickled = Cell("pingpong", "os_pipe", "fork", 1 << 20, "split", kind="pickle")
    plain = Cell("pingpong", "os_pipe", "fork", 1 << 20, "split")
    # map gets a result back per task: at least 4 chunks per worker (pool.py).
    assert limits.estimated_bytes(big) >= 4 * 4 * 64 * (1 << 20)
    assert limits.estimated_bytes(small) < limits.estimated_bytes(big) / 30
    assert limits.estimated_bytes(pickled) == limits.PICKLE_FACTOR * limits.estimated_bytes(plain)
    limits.check_memory([plain], available=1 << 30)  # 24 MiB of 1 GiB: fine
    with pytest.raises(limits.LimitError, match="pool/map/fork/1MiB/split/procs=4/chunksize=64"):
        limits.check_memory([plain, big], available=1 << 30)


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_max_cells_must_be_a_whole_number_of_at_least_1(value, tmp_path):
    assert "--max-cells" in refusal(cli("run", "--max-cells", value, "-o", tmp_path / "r.json"))
