"""End to end: `python -m ipcbench run/show/list` as a user runs them, in real subprocesses."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyperf
import pytest
from conftest import interrupt_after_cells, run_cli, with_plugins
from results_helpers import benchmark, edited_copy, shown

from ipcbench import load_results, results
from ipcbench.cputime import TOLERANCE
from ipcbench.runner import PROFILES

ROOT = Path(__file__).resolve().parent.parent


def test_run_writes_a_real_pyperf_suite(small_result):
    suite = pyperf.BenchmarkSuite.load(str(small_result))
    names = suite.get_benchmark_names()
    assert "pingpong/os_pipe/spawn/4KiB/split" in names
    assert "stream/null/none/64B/split" in names
    assert len(names) == 2 * (2 * 2 + 1) * 2  # patterns x (2 transports x 2 methods + null) x sizes
    bench = suite.get_benchmark("pingpong/mp_pipe/fork/64B/split")
    metadata = bench.get_metadata()
    assert (metadata["pattern"], metadata["transport"], metadata["method"]) == (
        "pingpong",
        "mp_pipe",
        "fork",
    )
    assert (metadata["size_bytes"], metadata["placement"]) == (64, "split")
    assert metadata["ipcbench_schema"] == 1 and metadata["ipcbench_version"]
    assert all(value > 0 for value in bench.get_values())
    shown = subprocess.run(
        [sys.executable, "-m", "pyperf", "show", str(small_result)], capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert "pingpong/os_pipe/fork/64B/split" in shown.stdout


def test_show_prints_latency_and_throughput(small_result):
    out = shown(small_result)
    lines = [line.split() for line in out.splitlines()]
    pingpong = next(line for line in lines if line[:4] == ["pingpong", "os_pipe", "fork", "64B"])
    stream = next(line for line in lines if line[:4] == ["stream", "mp_pipe", "spawn", "4KiB"])
    quick = PROFILES["quick"]
    assert pingpong[5] == "bytes" and pingpong[-1] == str(quick.passes * quick.values)
    assert pingpong[7] == "µs" and float(pingpong[6]) > 0
    assert stream[7] == "MB/s" and float(stream[6]) > 0
    assert "Python 3." in out


def test_list_shows_transports_methods_patterns_and_sizes():
    out = run_cli("list").stdout
    for name in (
        "os_pipe",
        "mp_pipe",
        "mp_queue",
        "manager_queue",
        "shared_array",
        "subprocess_pipe",
        "null",
    ):
        assert name in out
    assert "64B, 4KiB, 64KiB, 1MiB" in out
    assert "fork, spawn, forkserver, exec" in out


def test_plugins_register_through_entry_points():
    out = run_cli("list", env=with_plugins()).stdout
    assert "broken_corrupt" in out and "flips a byte" in out


def test_broken_transports_fail_their_cells_and_never_yield_a_figure(tmp_path):
    output = tmp_path / "broken.json"
    completed = run_cli(
        "run",
        "-t",
        "broken_corrupt,broken_truncate,broken_duplicate,broken_crash,broken_open,"
        "broken_drop,os_pipe",
        "-m",
        "fork,spawn",
        "-s",
        "64",
        "-p",
        "pingpong",
        "--quick",
        "--cell-timeout",
        "3",
        "-o",
        output,
        check=False,
        env=with_plugins(),
    )
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    result = results.load(output)
    # Only the honest transport has figures.
    assert {b.get_metadata()["transport"] for b in result.benchmarks} == {"os_pipe"}
    reasons = result.failed
    assert "contents differ" in reasons["pingpong/broken_corrupt/spawn/64B/split"]
    assert "63 received" in reasons["pingpong/broken_truncate/fork/64B/split"]
    assert "DataError" in reasons["pingpong/broken_duplicate/fork/64B/split"]
    assert "child die" in reasons["pingpong/broken_crash/spawn/64B/split"]
    assert "cannot hold a 64-byte message" in reasons["pingpong/broken_open/fork/64B/split"]
    assert "CellTimeout" in reasons["pingpong/broken_drop/fork/64B/split"]
    shown = run_cli("show", output).stdout
    assert "FAILED pingpong/broken_corrupt/fork/64B/split" in shown


def test_suite_file_and_flags_that_override_it(tmp_path):
    output = tmp_path / "smoke.json"
    run_cli("run", "--suite", ROOT / "bench" / "smoke.toml", "-t", "null", "-o", output)
    result = results.load(output)
    assert result.settings["profile"] == "quick"
    assert sorted(result.planned) == sorted(
        f"{p}/null/none/{s}/split" for p in ("pingpong", "stream") for s in ("64B", "64KiB")
    )


@pytest.mark.parametrize(
    "signal_number, group",
    [(signal.SIGINT, True), (signal.SIGTERM, True), (signal.SIGTERM, False)],
    ids=["ctrl-c", "sigterm-to-all", "sigterm-to-the-main-process"],
)
def test_interrupt_keeps_finished_cells_and_resume_completes(tmp_path, signal_number, group):
    output = tmp_path / "interrupted.json"
    command = [
        sys.executable,
        "-m",
        "ipcbench",
        "run",
        "-t",
        "os_pipe,mp_queue,null",
        "-m",
        "spawn,none",
        "-s",
        "64,4KiB",
        "--quick",
        "-o",
        str(output),
    ]
    returncode, stderr, _ = interrupt_after_cells(command, output, 2, signal_number, group=group)
    assert returncode == 130, stderr
    assert "--resume" in stderr and "Traceback" not in stderr

    def run_processes():
        return [
            p
            for p in psutil.process_iter(["cmdline"])
            if str(output) in " ".join(p.info["cmdline"] or ())
        ]

    # Workers and children may take a moment to finish leaving; poll rather than guess a delay.
    deadline = time.monotonic() + 10
    while run_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not run_processes(), "processes left behind"

    partial = results.load(output)
    finished = {b.get_name(): b.get_values() for b in partial.benchmarks}
    assert 2 <= len(finished) < len(partial.planned)

    run_cli("run", "--resume", output)
    complete = results.load(output)
    assert complete.missing() == []
    # 3 transports (2 under spawn, null under none) x 2 sizes x 2 patterns
    assert len(complete.benchmarks) == len(complete.planned) == 3 * 2 * 2
    # Every cell ends with one worker per pass; the workers done before the interrupt were kept.
    passes = PROFILES["quick"].passes
    assert {bench.get_nrun() for bench in complete.benchmarks} == {passes}
    for name, values in finished.items():
        bench = complete.benchmarks[[b.get_name() for b in complete.benchmarks].index(name)]
        assert bench.get_values()[: len(values)] == values


def test_append_adds_runs_to_existing_cells(tmp_path):
    output = tmp_path / "append.json"
    run_cli("run", "-t", "null", "-s", "64", "-p", "pingpong", "--quick", "-o", output)
    run_cli("run", "-t", "null", "-s", "64", "-p", "pingpong", "--quick", "--append", output)
    bench = results.load(output).benchmarks[0]
    assert bench.get_nrun() == 2 * PROFILES["quick"].passes


def _bad(*args, env=None, cwd=None):
    completed = run_cli(*args, check=False, env=env, cwd=cwd)
    assert completed.returncode == 2, (args, completed.stdout, completed.stderr)
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ipcbench"), completed.stderr
    assert "Traceback" not in completed.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-t", "nope"], "unknown transport nope"),
        (["-m", "vfork"], "unknown start method vfork"),
        (["-p", "burst"], "unknown pattern burst"),
        (["--placement", "left"], "unknown placement left"),
        (["-s", "-1"], "size"),
        (["-s", "0"], "at least 1 byte"),
        (["-s", "1e99"], "bad size"),
        (["-s", "12XB"], "bad size"),
        (["-s", "64GiB"], "at most 128MiB"),
        (["-s", ","], "no sizes"),
        (["-t", ","], "empty list"),
        (["-t", "subprocess_pipe", "-m", "fork"], "runs only under exec"),
        (["--tarnsports", "os_pipe"], "unrecognized arguments"),
        (["--suite", "/nonexistent.toml"], "no such file"),
        (["--resume", "/nonexistent.json"], "no such file"),
        (["-o", "/nonexistent-dir/x.json"], "does not exist"),
        (["-p", "counter", "--procs", "0"], "procs must be whole numbers from 1 to 1024"),
        (["-p", "pool", "--chunksizes", "4,x"], "chunksizes must be whole numbers"),
        (["-p", "pingpong", "-t", "apply"], "apply is measured by pool, which is not selected"),
        (["-p", "fanin", "-t", "mp_pipe"], "fanin does not apply to mp_pipe"),
        (["-p", "fanin", "-t", "os_pipe", "-s", "64KiB"], "fanin skipped 64KiB"),
    ],
)
def test_bad_run_input_is_one_line_and_exit_2(args, message, tmp_path):
    line = _bad("run", "--quick", *args, cwd=tmp_path)
    assert message in line
    assert not list(tmp_path.iterdir()), "bad input must not leave partial output"


def test_existing_output_is_refused(tmp_path):
    output = tmp_path / "exists.json"
    output.write_text("{}")
    assert "already exists" in _bad("run", "-t", "null", "-o", output)
    assert output.read_text() == "{}"


def test_unwritable_output_directory_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):  # root may write anywhere: make the path a file instead
        locked.rmdir()
        locked.write_text("")
    assert "cannot write" in _bad("run", "-t", "null", "-o", locked / "out.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not toml [", "not valid TOML"),
        ('transports = ["null"]\ncolour = "red"\n', "unknown key colour"),
        ('profile = "fastest"\n', "profile must be one of"),
        ("transports = 3\n", "must be a list"),
    ],
)
def test_bad_suite_files(tmp_path, content, message):
    suite = tmp_path / "suite.toml"
    suite.write_text(content)
    assert message in _bad("run", "--suite", suite, "-o", tmp_path / "x.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("", "empty file"),
        ("{not json", "not valid JSON"),
        ('{"benchmarks": [], "version": "1.0"}', "not written by ipcbench"),
        ("[1, 2]", "not a pyperf result file"),
        ('{"benchmarks": [], "ipcbench": {"schema": 99, "version": "9.0"}}', "schema 99"),
        ("[" * 100000 + "]" * 100000, "nested too deeply"),
    ],
    # Short ids: pytest exports the test id to subprocesses (PYTEST_CURRENT_TEST).
    ids=["missing", "empty", "not-json", "not-ipcbench", "not-pyperf", "newer-schema", "json-bomb"],
)
def test_show_refuses_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    line = _bad("show", path)
    assert message in line and str(path) in line


def test_show_refuses_a_truncated_real_file(small_result, tmp_path):
    text = small_result.read_text()
    truncated = tmp_path / "truncated.json"
    truncated.write_text(text[: len(text) // 2])
    assert "not valid JSON" in _bad("show", truncated)
    tampered = json.loads(text)
    tampered["benchmarks"][0]["runs"][0]["values"][0] = -1.0
    negative = tmp_path / "negative.json"
    negative.write_text(json.dumps(tampered))
    assert str(negative) in _bad("show", negative)


def test_cpu_time_per_message_is_recorded_beside_wall_time(small_result):
    frame = load_results([small_result])
    assert (frame["cpu_us_per_message"] > 0).all()
    # The in-process floor has no second process to add CPU time: CPU and wall agree there.
    null = frame[(frame.transport == "null") & (frame.pattern == "pingpong")]
    assert (null["cpu_us_per_message"] < 3 * null["median"] * 1e6).all()
    assert "CPU µs/msg" in shown(small_result)
    # No cell claims more CPU time than its CPUs could give while its figure's time passed
    # (within the tolerance of each run's own check: the CPU window is a hair longer).
    most = frame["cpu_count"] * frame["median"] * 1e6 * TOLERANCE
    assert (frame["cpu_us_per_message"] <= most).all()


def test_a_cells_cpu_figure_is_its_runs_cpu_share_at_its_figure(small_result, tmp_path):
    """Seen in a real run: two workers each within 2 CPUs x their own wall time, but the median
    of their CPU per message (4.04 µs) beside the median of their wall times (2.01 µs) read as
    more than 2 CPUs could give. The cell's figure is the runs' median share times its figure."""
    cell = "stream/os_pipe/spawn/4KiB/split"
    runs = [([1.994e-6, 1.974e-6, 2.061e-6], 3.999e-6), ([2.016e-6, 2.017e-6, 2.15e-6], 4.089e-6)]

    def measured_so(data):
        timed = [run for run in benchmark(data, cell)["runs"] if "values" in run]
        assert len(timed) == len(runs)  # the quick profile: two workers
        for run, (values, cpu) in zip(timed, runs, strict=True):
            run["values"] = values
            run["metadata"]["cpu_per_message"] = cpu

    edited = edited_copy(small_result, tmp_path / "shares.json", measured_so)
    frame = load_results([edited])
    axes = frame[["pattern", "transport", "method", "size"]].agg("/".join, axis=1)
    row = frame[axes == "stream/os_pipe/spawn/4KiB"].iloc[0]
    figure_us = 1e6 * (1.994e-6 + 2.017e-6) / 2  # the median of the two workers' medians
    shares = sorted(cpu / (sum(values) / len(values)) for values, cpu in runs)
    assert row["median"] * 1e6 == pytest.approx(figure_us)
    assert row["cpu_us_per_message"] == pytest.approx(sum(shares) / 2 * figure_us)
    assert row["cpu_us_per_message"] <= 2 * figure_us


def test_broken_fanin_channels_fail_their_cells(tmp_path):
    output = tmp_path / "broken-fanin.json"
    completed = run_cli(
        "run", "-p", "fanin", "-t", "broken_fanin_duplicate,broken_fanin_drop,mp_queue",
        "-m", "fork,spawn", "-s", "64", "--procs", "2", "--quick", "--cell-timeout", "3",
        "-o", output, check=False, env=with_plugins(),
    )  # fmt: skip
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    result = results.load(output)
    assert {b.get_metadata()["transport"] for b in result.benchmarks} == {"mp_queue"}
    for method in ("fork", "spawn"):
        duplicated = result.failed[f"fanin/broken_fanin_duplicate/{method}/64B/split/procs=2"]
        assert "DataError" in duplicated and "did not arrive intact" in duplicated
        dropped = result.failed[f"fanin/broken_fanin_drop/{method}/64B/split/procs=2"]
        assert "CellTimeout" in dropped


def test_every_cell_records_its_receive_mode_helpers_and_cpu_over_its_values(small_result):
    """receive and helper_cpus per cell; cpu_per_message in every run (measured over that run's
    timed values), never an impossible one; and the frame carries them."""
    suite = pyperf.BenchmarkSuite.load(str(small_result))
    for bench in suite.get_benchmarks():
        metadata = bench.get_metadata()
        expected = "reference" if metadata["transport"] == "null" else "copy"
        assert metadata["receive"] == expected
        assert metadata["helper_cpus"] == "none"
        for run in bench.get_runs():
            assert run.get_metadata()["cpu_per_message"] > 0
            assert "cpu_warning" not in run.get_metadata()
    frame = load_results([small_result])
    assert set(frame["receive"]) == {"copy", "reference"}
    assert frame["cpu_warning"].isna().all()


def test_the_cpu_check_refuses_more_cpu_than_the_cpus_could_give():
    from ipcbench.cputime import check

    assert check(1.99, 1.0, 2) is None
    assert "harness error" in check(2.1, 1.0, 2)
    assert "harness error" in check(1.1, 1.0, 1)
