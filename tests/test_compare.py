"""`python -m ipcbench compare`: alignment, ratios, significance, formats, CI gate, bad input."""

import csv
import io
import json
import math
import random

import pytest
from conftest import run_cli
from results_helpers import (
    BAD_FILES,
    SHARED_CELL,
    bad_file,
    edited_copy,
    scale_values,
    second_result,
    synthetic_values_file,
)

from ipcbench import load_results
from ipcbench.cell import Cell


@pytest.fixture(scope="module")
def second(tmp_path_factory):
    return second_result(tmp_path_factory)


@pytest.fixture(scope="module")
def steady(tmp_path_factory):
    """Eight cells of three workers that agree within a few percent, as on a quiet machine.

    Synthetic on purpose: on a busy test machine a real quick run's two workers can sit 2x
    apart, and then not even a 3x change of one cell is certain (the statistics say so).
    """
    rng = random.Random(7)
    cells = {
        f"{pattern}/{transport}/fork/{size}/split": [
            [level * math.exp(rng.gauss(0, 0.03)) * (1 + 0.01 * i) for i in range(5)]
            for _ in range(3)
        ]
        for pattern, level in (("pingpong", 20e-6), ("stream", 2e-6))
        for transport in ("os_pipe", "null")
        for size in ("64B", "4KiB")
    }
    return synthetic_values_file(tmp_path_factory.mktemp("steady") / "small.json", cells)


@pytest.fixture(scope="module")
def regressed(steady, tmp_path_factory):
    """`steady` with one cell made 3x slower: a regression of known size and direction."""
    target = tmp_path_factory.mktemp("regressed") / "regressed.json"
    return edited_copy(steady, target, lambda data: scale_values(data, SHARED_CELL, 3.0))


def compare_json(*args) -> dict:
    return json.loads(run_cli("compare", *args, "--format", "json").stdout)


@pytest.fixture(scope="module")
def small_vs_second(small_result, second) -> dict[str, str]:
    """`compare small second` in each format (text: the default, no --format), run once for
    the several tests that read it."""
    outputs = {"text": run_cli("compare", small_result, second).stdout}
    for form in ("json", "md", "csv"):
        outputs[form] = run_cli("compare", small_result, second, "--format", form).stdout
    return outputs


def test_text_shows_machines_first_then_aligned_cells_and_partial_ones(small_vs_second):
    out = small_vs_second["text"]
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["file", "machine", "fingerprint", "CPU"]
    assert lines[2].startswith("small (baseline)") and lines[3].startswith("second")
    # Cells in both files are in the table; cells in one file are listed, not dropped.
    assert any(line.startswith(SHARED_CELL) for line in lines)
    assert any(line.startswith("stream/null/none/4KiB/split") for line in lines)
    assert "only in second: pingpong/mp_queue/fork/64B/split" in out
    assert "only in small: pingpong/mp_pipe/spawn/4KiB/split" in out
    assert "only in small: pingpong/os_pipe/spawn/64B/split" in out
    assert not any(line.startswith("pingpong/mp_queue") for line in lines)
    assert "geometric mean of ratios" in out and "t-test on the log worker medians" in out


def test_alignment_and_ratios_in_json(small_vs_second):
    data = json.loads(small_vs_second["json"])
    names = {cell["name"] for cell in data["cells"]}
    # Both runs: os_pipe/fork and null/none, 2 patterns x 2 sizes each.
    assert len(names) == 8
    assert all(name.split("/")[1] in ("os_pipe", "null") for name in names)
    assert {entry["name"] for entry in data["only_in_some"]} >= {
        "stream/mp_queue/fork/4KiB/split",
        "stream/mp_pipe/spawn/64B/split",
    }
    for cell in data["cells"]:
        base, other = cell["files"]["small"], cell["files"]["second"]
        assert base["ratio"] == 1.0 and base["verdict"] == "baseline"
        assert other["ratio"] == pytest.approx(other["median_s"] / base["median_s"])
        assert other["verdict"] in ("same", "slower", "faster")  # 5 values each: testable
    assert data["machines"][0]["hostname"] and data["machines"][0]["cpu_count"] >= 1
    assert set(data["geometric_mean_ratio"]) == {"null", "os_pipe", "all"}


def test_known_regression_is_found_and_gates_ci(steady, regressed):
    small_result = steady
    data = compare_json(small_result, regressed)
    cell = next(c for c in data["cells"] if c["name"] == SHARED_CELL)["files"]["regressed"]
    assert cell["ratio"] == pytest.approx(3.0)
    assert cell["verdict"] == "slower" and cell["q_value"] < 0.05
    others = [c["files"]["regressed"] for c in data["cells"] if c["name"] != SHARED_CELL]
    assert all(c["ratio"] == pytest.approx(1.0) and c["verdict"] == "same" for c in others)

    gate = run_cli("compare", small_result, regressed, "--fail-above", "10%", check=False)
    assert gate.returncode == 1, gate.stderr
    assert "REGRESSION: 1 cell(s)" in gate.stdout
    assert f"regressed: {SHARED_CELL}: 3.000x" in gate.stdout
    # 3x is a 200% slowdown: a looser gate passes, and so does a bare number.
    assert run_cli("compare", small_result, regressed, "--fail-above", "250").returncode == 0
    same = run_cli("compare", small_result, small_result, "--fail-above", "10%")
    assert "ok: no cell significantly slower" in same.stdout


def test_baseline_option_reverses_the_direction(steady, regressed):
    small_result = steady
    data = compare_json(small_result, regressed, "--baseline", regressed)
    assert data["baseline"] == "regressed"
    cell = next(c for c in data["cells"] if c["name"] == SHARED_CELL)["files"]["small"]
    assert cell["ratio"] == pytest.approx(1 / 3) and cell["verdict"] == "faster"
    gate = run_cli("compare", small_result, "--baseline", regressed, "--fail-above", "10%")
    assert gate.returncode == 0


def test_too_few_values_is_not_a_verdict(small_result, tmp_path):
    def keep_two_values(data):
        for bench in data["benchmarks"]:
            if bench["metadata"]["name"] == SHARED_CELL:
                bench["runs"] = [{"values": [v * 3 for v in bench["runs"][-1]["values"][:2]]}]

    few = edited_copy(small_result, tmp_path / "few.json", keep_two_values)
    data = compare_json(small_result, few, "--fail-above", "10%")
    cell = next(c for c in data["cells"] if c["name"] == SHARED_CELL)["files"]["few"]
    assert cell["verdict"] == "too few runs" and cell["p_value"] is None
    assert data["regressions"] == []  # 3x slower, but one worker cannot show it is real
    text = run_cli("compare", small_result, few).stdout
    assert "too few runs (1 worker; need 2+)" in text


def test_markdown_and_csv(small_vs_second):
    md = small_vs_second["md"]
    assert "### Machines" in md and "### Cells" in md
    table = [line for line in md.splitlines() if line.startswith(f"| {SHARED_CELL} |")]
    # cell, small, its CPU µs/msg, second, its CPU µs/msg, ratio, significance
    assert len(table) == 1 and table[0].count("|") == 8

    rows = list(csv.DictReader(io.StringIO(small_vs_second["csv"])))
    assert len(rows) == 2 * 8  # every shared cell, once per file
    row = next(r for r in rows if r["file"] == "second" and r["transport"] == "os_pipe")
    assert row["baseline"] == "small" and float(row["ratio"]) > 0 and float(row["median_s"]) > 0
    assert row["verdict"] in ("same", "slower", "faster")


def test_machine_differences_are_warned_and_failed_cells_shown(small_result, tmp_path):
    def other_python_and_a_failure(data):
        data["metadata"]["python_version"] = "3.13.1 (64-bit)"
        data["ipcbench"]["failed"]["stream/os_pipe/spawn/64B/split"] = "child died (signal 9)"

    other = edited_copy(small_result, tmp_path / "other.json", other_python_and_a_failure)
    out = run_cli("compare", small_result, other).stdout
    warning = [line for line in out.splitlines() if line.startswith("warning: different Python")]
    assert len(warning) == 1 and "3.13.1" in warning[0]
    assert "FAILED in other: stream/os_pipe/spawn/64B/split: child died (signal 9)" in out


def test_same_file_twice_gets_two_labels(small_result):
    out = run_cli("compare", small_result, small_result).stdout
    assert f"{small_result}#2" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["ONE"], "at least two result files"),
        (["ONE", "ONE", "--fail-above", "lots"], "not a percentage"),
        (["ONE", "ONE", "--fail-above=-5%"], "0 or more"),
        (["ONE", "ONE", "--format", "xml"], "invalid choice"),
    ],
)
def test_bad_options(small_result, args, message):
    args = [small_result if arg == "ONE" else arg for arg in args]
    completed = run_cli("compare", *args, check=False)
    assert completed.returncode == 2
    assert message in completed.stderr and len(completed.stderr.splitlines()) == 1


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_input_is_one_line_naming_the_file(small_result, tmp_path, kind):
    path, expected = bad_file(kind, small_result, tmp_path)
    for args in ([small_result, path], [path, small_result]):
        completed = run_cli("compare", *args, check=False)
        assert completed.returncode == 2, completed.stdout
        assert completed.stdout == ""
        lines = completed.stderr.splitlines()
        assert len(lines) == 1 and "Traceback" not in completed.stderr, completed.stderr
        assert str(path) in lines[0] and expected in lines[0], lines[0]


# -- procs and chunksize, CPU time per message ---------------------------------------------------

PROCS_CELL = "fanin/os_pipe/fork/64B/split/procs=2"
CHUNK_CELL = "pool/map/fork/64B/split/procs=2/chunksize=4"


def test_procs_and_chunksize_cells_are_aligned_apart(patterns_result, tmp_path):
    """One fanin cell with 2 producers and one pool cell with chunksize 4 made 3x slower: only
    those two cells move, not their neighbours on the other procs or chunksize."""

    def slower(data):
        scale_values(data, PROCS_CELL, 3.0)
        scale_values(data, CHUNK_CELL, 3.0)

    edited = edited_copy(patterns_result, tmp_path / "edited.json", slower)
    data = compare_json(patterns_result, edited)
    names = [cell["name"] for cell in data["cells"]]
    assert len(names) == len(set(names)) == len(load_results([patterns_result]))
    assert data["only_in_some"] == []
    for cell in data["cells"]:
        assert cell["name"] == Cell(**_cell_axes(cell)).name
        ratio = cell["files"]["edited"]["ratio"]
        assert ratio == pytest.approx(3.0 if cell["name"] in (PROCS_CELL, CHUNK_CELL) else 1.0)
    fanin = [c for c in data["cells"] if c["pattern"] == "fanin" and c["transport"] == "os_pipe"]
    assert sorted(c["procs"] for c in fanin) == [1, 2]
    text = run_cli("compare", patterns_result, edited).stdout
    assert any(line.startswith(CHUNK_CELL + " ") for line in text.splitlines())
    rows = list(
        csv.DictReader(
            io.StringIO(run_cli("compare", patterns_result, edited, "--format", "csv").stdout)
        )
    )
    chunked = [r for r in rows if r["transport"] == "map" and r["chunksize"] == "4"]
    assert len(chunked) == 2 * 2  # procs 1 and 2, once per file


def _cell_axes(cell: dict) -> dict:
    return {
        "pattern": cell["pattern"],
        "transport": cell["transport"],
        "method": cell["method"],
        "size": cell["size_bytes"],
        "placement": cell["placement"],
        "kind": cell["kind"],
        "procs": cell["procs"],
        "chunksize": cell["chunksize"],
    }


def test_files_without_procs_and_chunksize_align_with_new_ones(small_result, tmp_path):
    """A file written before the axes existed (no procs or chunksize keys) means 1 and 1."""

    def without_axes(data):
        places = [data["metadata"]]
        for bench in data["benchmarks"]:
            places.append(bench["metadata"])
            places += [run["metadata"] for run in bench["runs"] if "metadata" in run]
        for place in places:
            place.pop("procs", None)
            place.pop("chunksize", None)

    old = edited_copy(small_result, tmp_path / "old.json", without_axes)
    assert "procs" not in old.read_text()
    data = compare_json(old, small_result)
    assert data["only_in_some"] == []
    assert len(data["cells"]) == len(load_results([small_result]))
    assert all(cell["files"]["small"]["ratio"] == pytest.approx(1.0) for cell in data["cells"])


def test_cpu_time_per_message_beside_the_medians(small_result, small_vs_second):
    frame = load_results([small_result])
    expected = frame.set_index(["pattern", "transport", "method", "size_bytes"])
    data = json.loads(small_vs_second["json"])
    for cell in data["cells"]:
        cpu = cell["files"]["small"]["cpu_us_per_message"]
        key = (cell["pattern"], cell["transport"], cell["method"], cell["size_bytes"])
        assert cpu == pytest.approx(expected.loc[key, "cpu_us_per_message"]) and cpu > 0

    lines = small_vs_second["text"].splitlines()
    header = next(line for line in lines if line.startswith("cell "))
    assert header.split() == [
        "cell", "small", "(baseline)", "CPU", "µs/msg", "second", "CPU", "µs/msg",
        "second/small", "significance",
    ]  # fmt: skip
    row = next(line for line in lines if line.startswith(SHARED_CELL + " ")).split()
    shown = float(row[3])  # small's CPU µs/msg, after "41.3 µs"
    assert shown == pytest.approx(
        expected.loc[("pingpong", "os_pipe", "fork", 64)].cpu_us_per_message, rel=0.01
    )

    md = small_vs_second["md"]
    assert "| cell | small (baseline) | CPU µs/msg | second | CPU µs/msg |" in md
    rows = list(csv.DictReader(io.StringIO(small_vs_second["csv"])))
    assert all(float(r["cpu_us_per_message"]) > 0 for r in rows)


def test_no_cpu_column_without_cpu_figures(patterns_result):
    out = run_cli("compare", patterns_result, patterns_result).stdout
    assert "CPU µs/msg" not in out
    assert "startup/process/spawn/0B/split" in out and " ms " in out
