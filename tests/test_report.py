"""`python -m ipcbench report`: one self-contained HTML file, single figures, bad input.

The page itself is opened in a real browser in test_report_browser.py.
"""

import re

import pytest
from conftest import run_cli
from results_helpers import (
    BAD_FILES,
    bad_file,
    edited_copy,
    report_page,
    second_host_result,
    second_result,
    set_run_metadata,
)

from ipcbench import load_results, machine, results
from ipcbench.units import number

# Section ids of a report of several files.
SECTIONS = ("machines", "answer", "across-machines", "geomeans", "table", "failed")


@pytest.fixture(scope="module")
def second(tmp_path_factory):
    return second_result(tmp_path_factory)


@pytest.fixture(scope="module")
def report(small_result, tmp_path_factory):
    """A report of two real runs, one of them with a failed cell recorded."""
    path = report_page(tmp_path_factory, small_result, second_host_result(tmp_path_factory))
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
    # 2 machines x (latency, throughput, CPU per message) + small's start-method heatmap (second
    # has fork alone: no ratio to show) + across machines
    assert len(images) == 8
    assert all(src.startswith("data:image/png;base64,") for src in images)
    # Nothing to fetch: no external script, stylesheet, font or image anywhere.
    assert not re.search(r'(src|href)="(https?:)?//', report)
    assert "@import" not in report and "url(" not in report


def test_report_gives_the_command_for_each_figure(report, small_result):
    commands = re.findall(r"<pre>(python -m ipcbench report [^<]*)</pre>", report)
    assert len(commands) == 8
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


# -- the startup, fanin, pool and counter sections -----------------------------------------------

PATTERN_SECTIONS = ("startup", "fanin", "pool", "counter")


@pytest.fixture(scope="module")
def patterns_report(patterns_result, tmp_path_factory):
    path = tmp_path_factory.mktemp("patterns-report") / "index.html"
    run_cli("report", patterns_result, "-o", path)
    return path.read_text(encoding="utf-8")


def _section(page: str, anchor: str) -> str:
    start = page.index(f'<section id="{anchor}"')
    return page[start : page.index("</section>", start)]


def _cells_of(section: str, table_id: str) -> list[list[str]]:
    """The text of each row's cells in the table with that id (headers first)."""
    start = section.index(f'id="{table_id}"')
    table = section[start : section.index("</table>", start)]
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)
    ]


def test_old_results_have_no_pattern_sections(report):
    for anchor in PATTERN_SECTIONS:
        assert f'id="{anchor}"' not in report
    assert "<th>chunksize</th>" not in report and "<th>per second</th>" not in report


def test_pattern_sections_and_their_figures(patterns_report, patterns_result):
    for anchor in PATTERN_SECTIONS:
        assert patterns_report.count(f'<section id="{anchor}"') == 1
        assert f'href="#{anchor}"' in patterns_report  # in the navigation
    images = re.findall(r'<img src="([^"]*)" alt="([^"]*)"', patterns_report)
    # No pingpong or stream cells: no latency, throughput, CPU or start-method figure; one
    # figure each for startup, fanin and pool; the counter has a table and a finding only.
    assert [alt for _src, alt in images] == [
        "Process start-up per start method",
        "Fan-in: messages/s vs producers",
        "Pool: time per task vs payload size",
    ]
    assert all(src.startswith("data:image/png;base64,") for src, _alt in images)
    # One file: labelled by its machine's name (the host name, as `run` gave no --name).
    label = machine.of_result(results.load(patterns_result)).name
    for name in ("startup", "fanin", "pool"):
        command = (
            f"python -m ipcbench report {patterns_result} --figure {name} -o {name}-{label}.png"
        )
        assert command in _section(patterns_report, name)
    # The full table shows the new axes and the rate.
    headers = _cells_of(_section(patterns_report, "table"), "full-table")[0]
    assert {"processes", "chunksize", "per second"} <= set(headers)


def test_pool_start_ups_have_a_line_per_pool_size(patterns_report):
    rows = _cells_of(_section(patterns_report, "startup"), "startup-table")
    pools = [row for row in rows if row[0].startswith("mp_pool of ")]
    assert [(row[0], row[1]) for row in pools] == [
        ("mp_pool of 1: create, first result, shut down", "fork"),
        ("mp_pool of 2: create, first result, shut down", "fork"),
    ]
    # Each against fork's pool of its own size (and not a whole column of them).
    assert all(re.fullmatch(r"1(\.0+)?×", row[5]) for row in pools), pools


def test_startup_sentence_quotes_the_measured_ratios(patterns_report, patterns_result):
    frame = load_results([patterns_result])
    bare = frame[(frame.pattern == "startup") & (frame.transport == "process")]
    medians = bare.set_index("method")["median"]
    fork, spawn = medians["fork"], medians["spawn"]
    section = _section(patterns_report, "startup")
    expected = (
        f"spawn costs {number(spawn / fork)}× fork here "
        f"({number(spawn * 1e3)} ms vs {number(fork * 1e3)} ms)"
    )
    assert expected in section
    for method in ("forkserver", "exec"):
        ratio = number(medians[method] / fork)
        assert f"{method} {ratio}× fork ({number(medians[method] * 1e3)} ms)" in section
    # ... and at the top of the page, beside the answer.
    assert expected in _section(patterns_report, "answer")
    rows = _cells_of(section, "startup-table")
    assert rows[0][:2] == ["what starts", "start method"]
    transports = [row for row in rows[1:] if row[0].startswith(("os_pipe", "mp_queue"))]
    assert len(transports) == 2
    assert all(float(row[4]) > 0 for row in transports)  # the first message alone, in ms


def test_fanin_table_has_the_scaling_factor(patterns_report, patterns_result):
    frame = load_results([patterns_result])
    rows = _cells_of(_section(patterns_report, "fanin"), "fanin-table")
    assert rows[0][3:] == [
        "msg/s, 1 producer",
        "msg/s, 2 producers",
        "MB/s, 2 producers",
        "scaling (P=2 ÷ P=1)",
    ]
    for transport in ("os_pipe", "mp_queue"):
        cells = frame[(frame.pattern == "fanin") & (frame.transport == transport)]
        rate = cells.set_index("procs")["per_second"]
        row = next(r for r in rows[1:] if r[0] == transport)
        assert row[-1] == f"{number(rate[2] / rate[1])}×"


def test_pool_table_and_figure_by_chunksize(patterns_report, patterns_result):
    section = _section(patterns_report, "pool")
    rows = _cells_of(section, "pool-table")
    assert rows[0] == [
        "start method",
        "workers",
        "payload size",
        "apply (µs/task)",
        "map, chunksize 1 (µs/task)",
        "map, chunksize 4 (µs/task)",
        "most tasks/s",
    ]
    assert [row[:3] for row in rows[1:]] == [["fork", "1", "64B"], ["fork", "2", "64B"]]
    frame = load_results([patterns_result])
    apply = frame[(frame.transport == "apply") & (frame.procs == 1)]["median"].iloc[0]
    assert rows[1][3] == number(apply * 1e6)
    assert "Per task, map, chunksize" in section and "apply_async().get()" in section


def test_counter_table_and_finding(patterns_report, patterns_result):
    frame = load_results([patterns_result])
    unlocked = frame[(frame.transport == "unlocked") & (frame.procs == 2)].iloc[0]
    section = _section(patterns_report, "counter")
    rows = _cells_of(section, "counter-table")
    assert [row[:3] for row in rows[1:]] == [
        ["value_lock", "fork", "1"],
        ["value_lock", "fork", "2"],
        ["unlocked", "fork", "1"],
        ["unlocked", "fork", "2"],
    ]
    # The locked variant never loses an update: the run fails its cell otherwise.
    assert all(row[6] == "0" for row in rows[1:3])
    assert rows[4][5:7] == [str(unlocked.updates), str(unlocked.lost_updates)]
    assert "value_lock lost none" in section
    if unlocked.lost_updates:  # expected on 2+ CPUs, but a single run can be lucky
        share = f"{unlocked.lost_updates / unlocked.updates:.0%}"
        assert f"unlocked: {share} of increments lost with 2 processes" in section
        assert '<tr class="lost">' in section
    else:
        assert "unlocked: no update lost with up to 2 processes" in section
    # The counter is left out of "the answer" (its fastest variant is wrong), but its finding
    # heads the page.
    answer = _section(patterns_report, "answer")
    assert '<p class="warning"><a href="#counter">Shared counter</a>' in answer
    assert "<td>counter</td>" not in answer


def test_lost_updates_are_the_finding(patterns_result, tmp_path):
    """A run that lost a known share of its updates: the sentence quotes it exactly."""

    def half_lost(data):
        name = "counter/unlocked/fork/0B/split/procs=2"
        set_run_metadata(data, name, updates=4000, lost_updates=1960)

    lossy = edited_copy(patterns_result, tmp_path / "lossy.json", half_lost)
    # Every worker of the cell reports the edited figures; the finding adds them up.
    workers = int(
        load_results([lossy]).query("transport == 'unlocked' and procs == 2").workers.iloc[0]
    )
    assert load_results([lossy]).lost_updates.sum() == 1960 * workers  # the edit took
    path = tmp_path / "index.html"
    run_cli("report", lossy, "-o", path)
    page = path.read_text(encoding="utf-8")
    finding = (
        f"unlocked: 49% of increments lost with 2 processes "
        f"({1960 * workers} of {4000 * workers}, fork)"
    )
    assert finding in _section(page, "counter") and finding in _section(page, "answer")
    assert finding in run_cli("show", lossy).stdout


def test_answer_covers_startup_fanin_and_pool(patterns_report):
    rows = _cells_of(_section(patterns_report, "answer"), "answer-table")
    assert [row[0] for row in rows[1:]] == ["startup", "fanin", "pool"]
    assert rows[0][4:6] == ["fastest", "its median [95% interval]"]
    startup, fanin, pool = rows[1:]
    # Two workers per cell (quick): the fastest measured is named, with its interval.
    assert startup[4].split()[0] in ("os_pipe", "mp_queue")
    assert re.fullmatch(r"[\d.,]+ ms( \[[^\]]+\])?", startup[5]), startup[5]
    assert re.fullmatch(r"\w+, [12] producers? \(fork(, untested)?\)", fanin[4])
    assert "msg/s" in fanin[5]
    assert re.fullmatch(r"map, [12] workers?, chunksize [14] \(fork(, untested)?\)", pool[4])
    assert re.fullmatch(r"[\d.,]+ µs/task( \[[^\]]+\])?", pool[5]) and pool[8] == "—"


@pytest.mark.parametrize("name", ["startup", "fanin", "pool"])
def test_pattern_figure_alone(patterns_result, small_result, tmp_path, name):
    target = tmp_path / f"{name}.png"
    run_cli("report", patterns_result, "--figure", name, "-o", target)
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    missing = run_cli("report", small_result, "--figure", name, "-o", target, check=False)
    assert missing.returncode == 2
    assert f"no cells for the {name} figure" in missing.stderr
    assert len(missing.stderr.splitlines()) == 1


def test_old_and_new_files_in_one_report(small_result, patterns_result, tmp_path_factory):
    page = report_page(tmp_path_factory, small_result, patterns_result).read_text(encoding="utf-8")
    # small: latency, throughput, CPU, methods; patterns: startup, fanin, pool; no shared cell,
    # so no cross-machine heatmap.
    assert len(re.findall(r"<img ", page)) == 7
    for anchor in ("latency-small", "startup-patterns", "fanin-patterns", "pool-patterns"):
        assert f'id="{anchor}"' in page
    assert "<h3>patterns</h3>" in _section(page, "counter")
