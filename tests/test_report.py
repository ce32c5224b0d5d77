"""`python -m ipcbench report`: one self-contained HTML file, single figures, bad input.

The page itself is opened in a real browser in test_report_browser.py.
"""

import re

import pytest
from conftest import run_cli
from results_helpers import BAD_FILES, bad_file, edited_copy, second_result

# Section ids of a report of several files.
SECTIONS = ("machines", "answer", "across-machines", "geomeans", "table", "failed")


@pytest.fixture(scope="module")
def second(tmp_path_factory):
    return second_result(tmp_path_factory)


@pytest.fixture(scope="module")
def report(small_result, second, tmp_path_factory):
    """A report of two real runs, one of them with a failed cell recorded."""
    directory = tmp_path_factory.mktemp("report")

    def with_failure(data):
        data["ipcbench"]["failed"]["stream/mp_queue/spawn/64B/split"] = "child hung (timeout)"

    failing = edited_copy(second, directory / "second-host.json", with_failure)
    path = directory / "index.html"
    run_cli("report", small_result, failing, "-o", path)
    return path.read_text(encoding="utf-8")


def test_report_has_every_section(report):
    for anchor in SECTIONS:
        assert report.count(f'id="{anchor}"') == 1
    for anchor in ("latency-small", "throughput-small", "methods-small", "latency-second-host"):
        assert f'id="{anchor}"' in report
    assert "Across machines, relative to small" in report
    assert "child hung (timeout)" in report
    # The answer names a winner per pattern and size and compares it with mp_queue.
    assert re.search(r"faster than mp_queue \(fork\)", report)


def test_report_is_self_contained(report):
    images = re.findall(r'<img src="([^"]*)"', report)
    # 2 machines x (latency, throughput, CPU per message, methods) + across machines
    assert len(images) == 9
    assert all(src.startswith("data:image/png;base64,") for src in images)
    # Nothing to fetch: no external script, stylesheet, font or image anywhere.
    assert not re.search(r'(src|href)="(https?:)?//', report)
    assert "@import" not in report and "url(" not in report


def test_report_gives_the_command_for_each_figure(report, small_result):
    commands = re.findall(r"<pre>(python -m ipcbench report [^<]*)</pre>", report)
    assert len(commands) == 9
    assert f"python -m ipcbench report {small_result} --figure latency -o latency-small.png" in (
        commands
    )


def test_figure_command_writes_that_figure(small_result, second, tmp_path):
    latency = tmp_path / "latency.png"
    run_cli("report", small_result, "--figure", "latency", "-o", latency)
    assert latency.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    machines = tmp_path / "machines.svg"
    run_cli("report", small_result, second, "--figure", "machines", "-o", machines)
    assert "<svg" in machines.read_text()[:500]
    one_file = run_cli("report", small_result, "--figure", "machines", "-o", machines, check=False)
    assert one_file.returncode == 2 and "two or more" in one_file.stderr


def test_default_output_is_reports_index(small_result, tmp_path):
    run_cli("report", small_result, "--heatmap-size", "4KiB", cwd=tmp_path)
    page = (tmp_path / "reports" / "index.html").read_text()
    assert "Start-method effect at 4KiB" in page
    # One file: no cross-machine parts.
    assert 'id="across-machines"' not in page and "Across machines" not in page


@pytest.mark.parametrize(
    "args, message",
    [
        (["--heatmap-size", "3MiB"], "no cell of that size"),
        (["--heatmap-size", "huge"], "bad size"),
        (["-o", "no/such/dir/x.html"], "does not exist"),
        (["--figure", "latency", "-o", "x.html"], ".png or .svg"),
    ],
)
def test_bad_options(small_result, tmp_path, args, message):
    completed = run_cli("report", small_result, *args, check=False, cwd=tmp_path)
    assert completed.returncode == 2
    assert message in completed.stderr and len(completed.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_input_is_one_line_and_writes_nothing(small_result, tmp_path, kind):
    path, expected = bad_file(kind, small_result, tmp_path)
    output = tmp_path / "out" / "index.html"
    output.parent.mkdir()
    completed = run_cli("report", small_result, path, "-o", output, check=False)
    assert completed.returncode == 2
    lines = completed.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in completed.stderr, completed.stderr
    assert str(path) in lines[0] and expected in lines[0], lines[0]
    assert list(output.parent.iterdir()) == []  # no partial output, no temporary file
