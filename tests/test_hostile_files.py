"""Outputs never destroy their inputs; hostile text in a result file stays inert.

A result file is data from anywhere: its strings must not drive the terminal (escape sequences)
nor a spreadsheet (cells that start like a formula), and no flag makes `export` or `report`
write over a file they read.
"""

import csv
import io
import json
import os
import subprocess
import sys

import pytest

ESCAPE = "\x1b]0;pwned\x07\x1b[2J"


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "ipcbench", *map(str, args)], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    """A real quick run of one cheap cell."""
    path = tmp_path_factory.mktemp("hostile") / "run.json"
    completed = cli("run", "-t", "null", "-m", "none", "-s", "64", "-p", "pingpong", "--quick",
                    "-o", path)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return path


@pytest.fixture
def hostile(result, tmp_path):
    """The run with a host name and a kernel that are both a formula and a terminal escape
    sequence, as a file from before the machine section (which refuses such text) would hold
    them: show and compare read the machine's facts from the cells then."""
    data = json.loads(result.read_text())
    del data["ipcbench"]["machine"]
    data["metadata"]["hostname"] = '=HYPERLINK("http://x")' + ESCAPE
    data["metadata"]["platform"] = '=HYPERLINK("http://x")' + ESCAPE
    data["metadata"]["cpu_model_name"] = "@SUM(A1)"
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    return path


def refused(completed, words):
    lines = completed.stderr.strip().splitlines()
    return completed.returncode == 2 and len(lines) == 1 and words in lines[0]


@pytest.mark.parametrize("flags", [(), ("--force",)])
def test_export_never_writes_over_its_input(result, tmp_path, flags):
    path = tmp_path / "input.json"
    path.write_bytes(result.read_bytes())
    before = path.read_bytes()
    link = tmp_path / "link.csv"
    link.symlink_to(path)
    hard = tmp_path / "hard.csv"
    os.link(path, hard)
    for target in (path, tmp_path / "." / "input.json", link, hard):
        completed = cli("export", path, "-o", target, *flags)
        assert refused(completed, "is the input file"), (target, completed.stderr)
    assert path.read_bytes() == before


def test_report_never_writes_over_its_input(result, tmp_path):
    path = tmp_path / "input.json"
    path.write_bytes(result.read_bytes())
    before = path.read_bytes()
    for target in (path, tmp_path / "sub" / ".." / "input.json"):
        assert refused(cli("report", path, "-o", target), "is the input file")
    assert refused(cli("report", path, "-o", path, "--figure", "latency"), "is the input file")
    assert path.read_bytes() == before


def test_export_quotes_formulas_and_keeps_numbers_numeric(hostile):
    completed = cli("export", hostile)
    assert completed.returncode == 0, completed.stderr
    row = next(csv.DictReader(io.StringIO(completed.stdout)))
    assert row["hostname"] == '\'=HYPERLINK("http://x")' + ESCAPE
    assert row["cpu"] == "'@SUM(A1)"
    assert row["transport"] == "null"  # ordinary text untouched
    assert float(row["median"]) > 0 and not row["median"].startswith("'")
    assert int(row["size_bytes"]) == 64


@pytest.mark.parametrize("verb", ["show", "compare"])
def test_escape_sequences_never_reach_the_terminal(result, hostile, verb):
    args = ("show", hostile) if verb == "show" else ("compare", result, hostile)
    completed = cli(*args)
    assert completed.returncode == 0, completed.stderr
    assert "\x1b" not in completed.stdout + completed.stderr
    assert "\\x1b]0;pwned\\x07" in completed.stdout  # shown, escaped, not acted on


def test_an_error_naming_hostile_text_is_one_printable_line(result, tmp_path):
    data = json.loads(result.read_text())
    data["ipcbench"]["planned"].append(f"pingpong/x{ESCAPE}\n/none/64B/split")
    path = tmp_path / "name.json"
    path.write_text(json.dumps(data))
    completed = cli("run", "--resume", path)
    assert refused(completed, "planned cell")
    assert completed.stderr.rstrip("\n").isprintable()


def test_compare_csv_quotes_formulas_and_keeps_numbers(result, tmp_path):
    data = json.loads(result.read_text())
    data["metadata"]["transport"] = "=SUM(1)"  # a cell axis that lands in every CSV row
    hostile = tmp_path / "formula.json"
    hostile.write_text(json.dumps(data))
    completed = cli("compare", hostile, hostile, "--format", "csv")
    assert completed.returncode == 0, completed.stderr
    rows = list(csv.DictReader(io.StringIO(completed.stdout)))
    assert rows and {r["transport"] for r in rows} == {"'=SUM(1)"}
    assert all(float(r["median_s"]) > 0 for r in rows)  # numbers, unquoted
