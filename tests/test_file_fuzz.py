"""Mutated result files through every verb that reads one: exit 0 or 2, one line, no traceback.

A fixed table of mutations of a real result file (cell names, settings, metadata types, hostile
text), each driven through the command line: `run --resume`, `run --append`, `show`, `compare`,
`report` and `export`. A file is checked like the command line, so it can never plan more
processes than the command line allows: the mutations that would are refused outright (exit 2),
and the ones that are accepted run at most the few cells named.
"""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from ipcbench.limits import DEFAULT_MAX_CELLS

ESCAPE = "\x1b]0;pwned\x07\x1b[2J"
CELL = "pingpong/null/none/64B/split"


def _planned(*names):
    def edit(data):
        data["ipcbench"]["planned"] += list(names)

    return edit


def _section(key, value):
    def edit(data):
        data["ipcbench"][key] = value

    return edit


def _settings(**values):
    def edit(data):
        data["ipcbench"]["settings"].update(values)

    return edit


def _metadata(**values):
    def edit(data):
        # One benchmark: pyperf keeps every metadata key in the suite's metadata.
        data["metadata"].update(values)

    return edit


# name -> (edit, verbs, must the run verbs refuse it (exit 2)?)
MUTATIONS = {
    "procs-beyond-the-flag-limit": (
        _planned("fanin/mp_queue/spawn/64B/split/procs=100000"),
        ("resume",),
        True,
    ),
    "chunksize-beyond-the-limit": (
        _planned("pool/map/fork/64B/split/procs=2/chunksize=5000"),
        ("resume",),
        True,
    ),
    "not-a-cell-name": (_planned("x/y"), ("resume", "show"), True),
    "size-2GiB": (_planned("pingpong/os_pipe/fork/2GiB/split"), ("resume",), True),
    "size-256MiB": (_planned("pingpong/os_pipe/fork/256MiB/split"), ("resume",), True),
    "unknown-transport": (_planned("pingpong/nope/fork/64B/split"), ("resume",), True),
    "method-the-transport-lacks": (_planned("pingpong/null/fork/64B/split"), ("resume",), True),
    "unsized-variant-with-a-size": (
        _planned("counter/value_lock/fork/64B/split/procs=2"),
        ("resume",),
        True,
    ),
    "escape-in-a-cell-name": (
        _planned(f"pingpong/null{ESCAPE}/none/64B/split"),
        ("resume", "show"),
        True,
    ),
    "too-many-cells": (
        _planned(*(f"pool/map/fork/{n + 1}B/split" for n in range(DEFAULT_MAX_CELLS + 1))),
        ("resume",),
        True,
    ),
    "planned-not-a-list": (_section("planned", "abc"), ("resume", "show", "export"), True),
    "failed-not-text": (_section("failed", {CELL: 5}), ("show", "compare"), True),
    "profile-bogus": (_settings(profile="bogus"), ("resume", "append", "show", "report"), True),
    "argv-numbers": (_settings(argv=[1, 2]), ("report", "show", "append"), True),
    "settings-a-list": (_section("settings", ["profile"]), ("resume", "show"), True),
    "cpu-count-text": (_metadata(cpu_count="many"), ("show", "compare", "export", "report"), False),
    "transport-a-number": (_metadata(transport=5), ("show", "compare", "export"), True),
    "size-as-text": (_metadata(size_bytes="64"), ("show", "export"), True),
    "procs-zero": (_metadata(procs=0), ("show", "compare"), True),
    "hostile-host": (
        _metadata(hostname=f"=cmd|' /C calc'!A0{ESCAPE}"),
        ("show", "compare", "export"),
        False,
    ),
    "hostile-machine-name": (
        lambda data: data["ipcbench"]["machine"].update(name=f"=cmd|' /C calc'!A0{ESCAPE}"),
        ("resume", "append", "report"),
        True,
    ),
    # A valid file whose one missing cell is cheap: resume runs exactly that cell.
    "one-cell-to-resume": (_planned("stream/null/none/64B/split"), ("resume",), False),
}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A real quick run of one cheap cell (the in-process null transport)."""
    path = tmp_path_factory.mktemp("fuzz") / "base.json"
    _cli("run", "-t", "null", "-m", "none", "-s", "64", "-p", "pingpong", "--quick", "-o", path)
    return path


def _cli(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "ipcbench", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _command(verb, path, base, workdir):
    quick = ("--cell-timeout", "20")
    return {
        "resume": ("run", "--resume", path, *quick),
        "append": ("run", "--append", path, "-t", "null", "-m", "none", "-s", "64",
                   "-p", "pingpong", "--quick", *quick),
        "show": ("show", path),
        "compare": ("compare", base, path),
        "export": ("export", path),
        "report": ("report", path, "-o", workdir / f"{path.stem}.html"),
    }[verb]  # fmt: skip


def test_mutated_files_exit_0_or_2_with_one_line_and_never_storm(base, tmp_path):
    cases = []
    for name, (edit, verbs, refused) in MUTATIONS.items():
        data = json.loads(base.read_text())
        edit(data)
        for verb in verbs:
            path = tmp_path / f"{name}-{verb}.json"  # each verb its own copy: run rewrites it
            path.write_text(json.dumps(data))
            cases.append((name, verb, refused, path))

    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(
            pool.map(lambda case: _cli(*_command(case[1], case[3], base, tmp_path)), cases)
        )

    problems = []
    for (name, verb, refused, path), completed in zip(cases, outcomes, strict=True):
        where = f"{name} / {verb}: exit {completed.returncode}, stderr {completed.stderr!r}"
        lines = completed.stderr.strip().splitlines()
        if "Traceback" in completed.stderr or completed.returncode not in (0, 2):
            problems.append(where)
        elif completed.returncode == 2 and not (
            len(lines) == 1 and lines[0].startswith("ipcbench: error: ")
        ):
            problems.append(where)
        elif refused and verb in ("resume", "append") and completed.returncode != 2:
            problems.append(f"{where} (should be refused)")
        elif verb == "resume" and completed.returncode == 0:
            # Accepted: it ran only the cells the file planned, no more.
            done = json.loads(path.read_text())
            assert len(done["benchmarks"]) <= len(done["ipcbench"]["planned"]) <= 2, where
        terminal = completed.stderr + ("" if verb == "export" else completed.stdout)  # CSV: data
        if "\x1b" in terminal:
            problems.append(f"{where}: an escape sequence reached the terminal")
    assert not problems, "\n".join(problems)


def test_resume_of_too_many_cells_names_the_flag_that_raises_the_limit(base, tmp_path):
    path = tmp_path / "many.json"
    data = json.loads(base.read_text())
    _planned(*(f"pool/map/fork/{n + 1}B/split" for n in range(20)))(data)
    path.write_text(json.dumps(data))
    completed = _cli("run", "--resume", path, "--max-cells", "5")
    assert completed.returncode == 2
    assert "more than 5 cells" in completed.stderr and "--max-cells" in completed.stderr
