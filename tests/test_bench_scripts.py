"""The benchmark scripts under bench/ still run against the code they measure (their figures
are read, not asserted: see the README): a tiny selection of each, and what it must print."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHM

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_fidelity_prints_harness_and_raw_loop_side_by_side_and_cleans_up():
    before = set(SHM.iterdir())
    completed = subprocess.run(
        [sys.executable, BENCH / "fidelity.py", "-t", "mp_pipe,shared_array,subprocess_pipe"]
        + ["-p", "stream"]
        + ["--sizes", "4KiB", "--rounds", "2", "--values", "2", "--min-time", "0.002"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    output = completed.stdout
    assert output.count("round ") == 2  # one pair of channels per cell and round
    for transport in ("mp_pipe", "shared_array", "subprocess_pipe"):
        row = re.search(
            rf"^stream +{transport} +4KiB .* MB/s .* MB/s +(\S+) +(\S+)-(\S+)", output, re.M
        )
        assert row, output
        ratio, lowest, highest = map(float, row.groups())
        assert 0 < lowest <= ratio <= highest  # the median of the pairs' ratios, and their range
    assert re.search(r"^harness/raw: median \d", output, re.M)
    assert set(SHM.iterdir()) == before  # the raw rings' segments are unlinked too


def test_stamp_cost_prints_the_harness_beside_raw_loops_with_and_without_stamps():
    completed = subprocess.run(
        [sys.executable, BENCH / "stamp_cost.py", "-t", "os_pipe,subprocess_pipe"]
        + ["--sizes", "64", "--rounds", "2", "--values", "2", "--min-time", "0.002"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.count("round ") == 2
    for transport in ("os_pipe", "subprocess_pipe"):
        row = re.search(
            rf"^{transport} +64B( +\S+ MB/s){{3}} +(\S+) +(\S+)$", completed.stdout, re.M
        )
        assert row, completed.stdout
        assert float(row[2]) > 0 and float(row[3]) > 0


@pytest.mark.parametrize("argument", [["-t", "mp_pipe"], ["--sizes", "4"], ["--sizes", "x"]])
def test_stamp_cost_refuses_what_it_cannot_measure_in_one_line(argument):
    assert refusal("stamp_cost.py", *argument).startswith("stamp_cost: error: ")


def refusal(script: str, *arguments) -> str:
    """The one line a bench script prints on stderr as it refuses `arguments` (exit status 2)."""
    completed = subprocess.run(
        [sys.executable, BENCH / script, *arguments], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.count("\n") == 1, completed.stderr
    return completed.stderr


def test_machine_drift_counts_stretches_off_the_median_either_way():
    sys.path.insert(0, str(BENCH))
    try:
        from machine_drift import SAMPLE_GAP, episodes
    finally:
        sys.path.remove(str(BENCH))
    # 1 ms timings, with a fast stretch of three (0.5 ms) and a slow one of two (2 ms).
    seconds = [1, 1, 0.5, 0.5, 0.5, 1, 1, 2, 2, 1, 1, 1]
    samples = [(index * SAMPLE_GAP, value / 1000) for index, value in enumerate(seconds)]
    line = episodes("hand-over", samples)
    assert "41.7% of the timings (2 slower, 3 faster), in 2 stretches" in line, line
    assert line.endswith(f"the longest {3 * SAMPLE_GAP:.2f} s"), line


def test_noise_source_times_kept_and_fresh_channels_in_the_same_rounds():
    before = set(SHM.iterdir())
    cells = "pingpong/os_pipe/fork/64B/split,stream/shared_array/spawn/4KiB/split"
    completed = subprocess.run(
        [sys.executable, BENCH / "noise_source.py", "-c", cells]
        + ["--rounds", "4", "--min-time", "0.002"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.count("round ") == 4  # progress, one line per round
    for name in cells.split(","):
        row = re.search(rf"^{name} +(\S+)% +(\S+)% +(\S+) +(\S+) +(\S+)$", completed.stdout, re.M)
        assert row, completed.stdout
        assert float(row[1]) >= 0 and float(row[2]) >= 0
    assert re.search(
        r"^median spread: kept \d+\.\d%, fresh \d+\.\d% \(2 cells, 4 rounds\)$",
        completed.stdout,
        re.M,
    )
    assert set(SHM.iterdir()) == before  # every fresh channel's and kept ring's segment is gone


@pytest.mark.parametrize(
    "argument",
    [
        ["-c", "pingpong/os_pipe/forkserver/64B/split"],  # cannot stay open beside others
        ["-c", "pool/map/fork/64B/split"],
        ["-c", "not-a-cell"],
        ["--rounds", "3"],
    ],
)
def test_noise_source_refuses_what_it_cannot_measure_in_one_line(argument):
    assert refusal("noise_source.py", *argument).startswith("noise_source: error: ")
