"""`python -m ipcbench show`: a figure that suits each pattern, the axes where a file has them,
and the counter's lost updates. (show on pingpong and stream files: see test_run_cli.py.)"""

import re

import pytest
from conftest import run_cli
from results_helpers import edited_copy, shown

from ipcbench import benches, load_results
from ipcbench.units import figure


@pytest.mark.parametrize(
    "pattern, size, median, mad, expected",
    [
        ("pingpong", 64, 41.3e-6, 0.8e-6, "41.3 µs ± 0.80"),
        ("stream", 1 << 20, (1 << 20) / 1523e6, 0.0, "1523 MB/s ± 0.00"),
        ("startup", 0, 3.8e-3, 0.03e-3, "3.80 ms ± 0.03"),
        ("fanin", 64, 1 / 845e3, 0.01 / 845e3, "845k msg/s ± 8450"),
        ("pool", 64, 298e-6, 9.15e-6, "298 µs/task ± 9.15"),
        ("counter", 0, 1 / 7.18e6, 0.0, "7.18M incr/s ± 0.00"),
    ],
    ids=["pingpong", "stream", "startup", "fanin", "pool", "counter"],
)
def test_each_pattern_has_its_own_figure(pattern, size, median, mad, expected):
    assert str(figure(benches.pattern(pattern).unit, median, size, mad)) == expected


def _without_warnings(out: str) -> list[str]:
    """The lines of `show`, less its warnings about a busy machine (this one may be)."""
    return [line for line in out.splitlines() if not line.strip().startswith("WARNING:")]


def _rows(out: str) -> dict[tuple, list[str]]:
    """Each cell line of `show`, keyed by (pattern, transport, method, procs, chunksize)."""
    lines = _without_warnings(out)
    header = lines[2].split()
    assert header[:8] == [
        "pattern",
        "transport",
        "method",
        "size",
        "placement",
        "kind",
        "procs",
        "chunksize",
    ]
    rows = {}
    for line in lines[4:]:
        cells = line.split()
        if cells and cells[0] in ("startup", "fanin", "pool", "counter"):
            rows[(cells[0], cells[1], cells[2], cells[6], cells[7])] = cells
    return rows


def test_show_new_patterns(patterns_result):
    out = run_cli("show", patterns_result).stdout
    rows = _rows(out)
    frame = load_results([patterns_result])
    assert len(rows) == len(frame)
    bare = rows[("startup", "process", "spawn", "-", "-")]
    spawned = frame[(frame.pattern == "startup") & (frame.transport == "process")]
    median_ms = spawned[spawned.method == "spawn"].iloc[0]["median"] * 1e3
    assert bare[9] == "ms" and float(bare[8]) == pytest.approx(median_ms, rel=0.01, abs=0.01)
    channel = rows[("startup", "os_pipe", "fork", "-", "-")]
    assert channel[9] == "ms" and "first message" in " ".join(channel)
    fanin = rows[("fanin", "mp_queue", "fork", "2", "-")]
    assert fanin[9] == "msg/s" and "MB/s" in fanin
    pool = rows[("pool", "map", "fork", "2", "4")]
    assert pool[9] == "µs/task"
    assert rows[("pool", "apply", "fork", "1", "-")][9] == "µs/task"
    counter = frame[(frame.transport == "unlocked") & (frame.procs == 2)].iloc[0]
    line = " ".join(rows[("counter", "unlocked", "fork", "2", "-")])
    assert "incr/s" in line
    assert f"lost {counter.lost_updates} of {counter.updates} updates" in line
    # The finding has a line of its own, and every pattern's unit is explained.
    assert re.search(r"^  counter: unlocked: .*; value_lock lost none\.$", out, flags=re.M)
    for pattern in ("startup", "fanin", "pool", "counter"):
        assert re.search(rf"^  {pattern}: ", out, flags=re.M)


def test_show_old_patterns_keeps_its_columns(small_result):
    lines = _without_warnings(shown(small_result))
    assert lines[2].split()[:6] == ["pattern", "transport", "method", "size", "placement", "kind"]
    # The figure, its interval over workers, an `!` column only where a cell is unstable.
    assert [h for h in lines[2].split()[6:] if h != "!"] == [
        "median", "95%", "interval", "workers", "CPU", "µs/msg", "receive", "n",
    ]  # fmt: skip
    assert "  pingpong: round-trip latency in µs (lower is better)" in lines
    assert "  stream: throughput in MB/s = 10^6 bytes/s (higher is better)" in lines


def test_files_with_some_figures_missing(patterns_result, tmp_path):
    """No cell with a first message (only the bare process) and no CPU figure at all: those
    columns are empty in the frame, and show, report and the figure must cope."""

    def bare_process_and_counter(data):
        data["benchmarks"] = [
            bench
            for bench in data["benchmarks"]
            if bench["metadata"]["name"].startswith(("startup/process/", "counter/"))
        ]

    path = edited_copy(patterns_result, tmp_path / "bare.json", bare_process_and_counter)
    frame = load_results([path])
    assert frame["first_message_us"].isna().all() and frame["cpu_us_per_message"].isna().all()
    out = run_cli("show", path).stdout
    assert re.search(r"^startup +process +spawn +0B ", out, flags=re.M)
    assert "first message" not in out
    assert "CPU µs/msg: CPU time" not in out  # no pingpong or stream cell to explain it for
    page = tmp_path / "index.html"
    run_cli("report", path, "-o", page)
    assert "spawn costs" in page.read_text(encoding="utf-8")
    run_cli("report", path, "--figure", "startup", "-o", tmp_path / "startup.png")
