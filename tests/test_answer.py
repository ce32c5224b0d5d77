"""The report tells the truth: the answer ranks like with like and crowns only what the
worker-level tests back; heatmaps grey what is noise; `show` gives intervals and instability.

Most result files here are synthetic (results_helpers.synthetic_file): the worker medians are
chosen, so each verdict is known in advance. One real quick run checks the same on real data.
"""

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_cli
from results_helpers import synthetic_file

from ipcbench import load_results
from ipcbench.comparison import compare
from ipcbench.loader import load_inputs

US = 1e-6
ROOT = Path(__file__).resolve().parent.parent


def spread(median: float, *offsets: float) -> list[float]:
    """Worker medians around `median`, e.g. spread(10e-6, -0.01, 0, 0.01)."""
    return [median * (1 + offset) for offset in offsets]


TIGHT = (-0.01, 0.0, 0.01)

# Known answers: os_pipe is clearly fastest for bytes/split, spawn tied with fork (2% apart),
# forkserver clearly slower; for numpy os_pipe and mp_pipe are tied; the free placement has its
# own slowest (manager_queue); the in-process cells are far faster and must never win; an
# in-place variant is faster still and must be ranked apart.
CELLS = {
    "pingpong/os_pipe/fork/64B/split": spread(10 * US, *TIGHT),
    "pingpong/os_pipe/spawn/64B/split": spread(10.2 * US, *TIGHT),
    "pingpong/os_pipe/forkserver/64B/split": spread(15 * US, *TIGHT),
    "pingpong/mp_queue/fork/64B/split": spread(50 * US, *TIGHT),
    "pingpong/mp_queue/spawn/64B/split": spread(60 * US, *TIGHT),
    "pingpong/null/none/64B/split": spread(0.3 * US, *TIGHT),
    "pingpong/thread_queue/none/64B/split": spread(5 * US, *TIGHT),
    "pingpong/shared_memory_inplace/fork/64B/split": spread(2 * US, *TIGHT),
    "pingpong/os_pipe/fork/64B/split/numpy": spread(30 * US, *TIGHT),
    "pingpong/mp_pipe/fork/64B/split/numpy": spread(30.3 * US, *TIGHT),
    "pingpong/mp_queue/fork/64B/split/numpy": spread(60 * US, *TIGHT),
    "pingpong/null/none/64B/split/numpy": spread(0.9 * US, *TIGHT),
    "pingpong/os_pipe/fork/64B/free": spread(8 * US, *TIGHT),
    "pingpong/manager_queue/fork/64B/free": spread(800 * US, *TIGHT),
    # Serialisation: pickle 3x bytes (a real share) at 4KiB; 2% apart (noise) at 64B above.
    "pingpong/os_pipe/fork/4KiB/split": spread(20 * US, *TIGHT),
    "pingpong/os_pipe/fork/4KiB/split/pickle": spread(60 * US, *TIGHT),
    "pingpong/os_pipe/fork/64B/split/pickle": spread(10.2 * US, *TIGHT),
    # Arrays at 1 MiB: in band, out of band, as buffers; tensors in shared memory (a view).
    "pingpong/os_pipe/fork/1MiB/split/numpy": spread(300 * US, *TIGHT),
    "pingpong/os_pipe/fork/1MiB/split/ndarray": spread(900 * US, *TIGHT),
    "pingpong/os_pipe/fork/1MiB/split/pickle5": spread(400 * US, *TIGHT),
    "pingpong/mp_queue/fork/1MiB/split/ndarray": spread(1000 * US, *TIGHT),
    "pingpong/torch_mp/fork/1MiB/split/torch": spread(1700 * US, *TIGHT),
    "pingpong/torch_mp/spawn/1MiB/split/torch": spread(3400 * US, *TIGHT),
}
TORCH_FORK = ["pingpong", "torch_mp", "fork"]
VIEW = {
    "pingpong/shared_memory_inplace/fork/64B/split": {"receive": "view"},
    "pingpong/torch_mp/fork/1MiB/split/torch": {"receive": "view"},
    "pingpong/torch_mp/spawn/1MiB/split/torch": {"receive": "view"},
}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("answer") / "synthetic.json"
    return synthetic_file(
        path, CELLS, conditions={"load": 3.0, "steal_pct": 0.5, "cpus": 2}, **VIEW
    )


@pytest.fixture(scope="module")
def page(synthetic) -> str:
    output = synthetic.with_name("index.html")
    run_cli("report", synthetic, "-o", output, "--heatmap-size", "64B")
    return output.read_text(encoding="utf-8")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def answer_rows(page: str) -> list[dict]:
    """The answer table as dicts keyed by its headers, plus the raw HTML of each row."""
    start = page.index('id="answer-table"')
    table = page[start : page.index("</table>", start)]
    rows = re.findall(r"(<tr[^>]*>.*?)</tr>", table, flags=re.S)
    headers = [_text(h) for h in re.findall(r"<th>(.*?)</th>", rows[0], flags=re.S)]
    found = []
    for row in rows[1:]:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        found.append({**dict(zip(headers, map(_text, cells), strict=True)), "html": row})
    return found


def row_of(rows, kind: str, placement: str, in_place: bool = False) -> dict:
    [row] = [
        r
        for r in rows
        if r["kind"] == kind
        and r["CPU placement"] == placement
        and r["payload size"] == "64B"
        and r["fastest"].startswith("in-place") == in_place
    ]
    return row


def test_in_process_cells_are_never_the_answer(page):
    rows = answer_rows(page)
    for row in rows:
        assert not re.match(r"(in-place \(receive view\): )?(null|thread_queue)\b", row["fastest"])
        assert (
            "null" not in row["vs the slowest"]
            and "thread_queue" not in row["tied (not significantly slower)"]
        )
    floor = row_of(rows, "bytes", "split")["in-process floor (not ranked)"]
    assert floor == "null (none) 0.30 µs; thread_queue (none) 5.00 µs"


def test_winner_and_start_methods_only_where_significant(page):
    row = row_of(answer_rows(page), "bytes", "split")
    # spawn is 2% behind fork (within noise), forkserver 50% behind (significant).
    assert row["fastest"] == "os_pipe (fork or spawn)"
    assert '<b class="winner">' in row["html"]  # mp_queue is 5x behind: a clear winner
    assert row["tied (not significantly slower)"] == "—"
    assert row["its median [95% interval]"].startswith("10.0 µs [")


def test_tied_transports_are_listed_not_ranked(page):
    row = row_of(answer_rows(page), "numpy", "split")
    assert row["tied (not significantly slower)"] == "mp_pipe (fork) 30.3 µs"
    assert '<b class="winner">' not in row["html"] and 'class="tied"' in row["html"]


def test_comparisons_stay_within_kind_and_placement(page):
    rows = answer_rows(page)
    split, numpy, free = (
        row_of(rows, *axes) for axes in (("bytes", "split"), ("numpy", "split"), ("bytes", "free"))
    )
    # The split row's slowest is its own mp_queue, not the free placement's manager_queue.
    assert split["vs the slowest"] == "6.0× faster than mp_queue (spawn)"
    assert split["vs mp_queue"] == "5.0× faster than mp_queue (fork) (50.0 µs)"
    # numpy: mp_queue [numpy] was measured, and the ratio is against it (60 / 30), not bytes'.
    assert numpy["vs mp_queue"] == "2.0× faster than mp_queue (fork) (60.0 µs)"
    assert free["vs the slowest"] == "100.0× faster than manager_queue (fork)"
    assert free["vs mp_queue"] == "mp_queue not measured"


def test_in_place_variants_have_a_row_of_their_own(page):
    rows = answer_rows(page)
    inplace = row_of(rows, "bytes", "split", in_place=True)
    assert inplace["fastest"] == "in-place (receive view): shared_memory_inplace (fork)"
    assert 'class="inplace"' in inplace["html"]
    assert "shared_memory_inplace" not in row_of(rows, "bytes", "split")["html"]


def test_serialisation_share_within_noise_says_so(page):
    start = page.index('<section id="kinds">')
    section = page[start : page.index("</section>", start)]
    shares = {}
    for row in re.findall(r"<tr>(.*?)</tr>", section, flags=re.S)[1:]:
        cells = [_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        shares[(cells[1], cells[3])] = cells[-1]  # (transport, size) -> serialisation share
    # pickle 2% above bytes: noise, not "-2%"; 3x: a real share; no pickle cell: no share.
    assert shares[("os_pipe", "64B")] == "within noise"
    assert shares[("os_pipe", "4KiB")] == "67%"
    assert shares[("mp_queue", "64B")] == "—"


def test_array_kinds_have_rows_columns_and_labels_of_their_own(page, synthetic):
    rows = [r for r in answer_rows(page) if r["payload size"] == "1MiB"]
    # One row per kind, in the order of the kinds; a shared tensor is a view: ranked apart.
    assert [r["kind"] for r in rows] == ["numpy", "ndarray", "pickle5", "torch"]
    assert rows[1]["fastest"] == "os_pipe (fork)" and "mp_queue (fork)" in rows[1]["vs mp_queue"]
    assert rows[3]["fastest"] == "in-place (receive view): torch_mp (fork)"
    # Its only transport: spawn is the slower start method, not a slower transport.
    assert rows[3]["vs the slowest"] == "only one transport measured"
    start = page.index('<section id="kinds">')
    section = page[start : page.index("</section>", start)]
    assert "<th>numpy</th><th>ndarray</th><th>pickle5</th><th>torch</th>" in section
    [os_pipe] = [r for r in re.findall(r"<tr>(.*?)</tr>", section, flags=re.S) if "1MiB" in r]
    assert re.search(r"300\.00</td>\s*<td[^>]*>900\.00</td>\s*<td[^>]*>400\.00</td>", os_pipe)
    assert "os_pipe [pickle5]" in page and "torch_mp [torch]" in page  # plot and table labels
    shown = run_cli("show", synthetic).stdout
    [torch] = [line for line in shown.splitlines() if line.split()[:3] == TORCH_FORK]
    assert " torch " in torch and " view " in torch


def test_start_method_heatmap_greys_what_is_not_significant(page):
    [grid] = re.findall(r'<table class="grid".*?</table>', page, flags=re.S)
    row = re.search(r"<tr><td>os_pipe</td>(.*?)</tr>", grid).group(1)
    assert '<td class="num not-significant">1.02 (not significant)</td>' in row  # spawn
    assert '<td class="num slower">1.50 (slower)</td>' in row  # forkserver
    assert "grey ratios are not" in page


def test_noise_warning_and_interval_in_the_full_table(page):
    assert re.search(
        r'class="warning noise">Noisy run: .*other processes kept 3\.00 of 2 CPUs busy', page
    )
    start = page.index('id="full-table"')
    table = page[start : page.index("</table>", start)]
    assert "<th>95% interval (µs)</th><th>workers</th>" in table
    assert re.search(
        r'class="num interval"[^>]*>9\.\d\d–10\.\d\d</td>\s*<td class="num" data-sort="3">3</td>',
        table,
    )


def test_answer_of_a_numpy_only_run_finds_mp_queue(tmp_path):
    cells = {
        "stream/os_pipe/fork/4KiB/split/numpy": spread(10 * US, *TIGHT),
        "stream/mp_queue/fork/4KiB/split/numpy": spread(40 * US, *TIGHT),
    }
    path = synthetic_file(tmp_path / "numpy.json", cells)
    run_cli("report", path, "-o", tmp_path / "index.html")
    [row] = answer_rows((tmp_path / "index.html").read_text(encoding="utf-8"))
    assert row["fastest"] == "os_pipe (fork)" and row["kind"] == "numpy"
    assert row["vs mp_queue"] == "4.0× faster than mp_queue (fork) (102 MB/s)"


def test_cross_machine_verdicts_are_worker_level_and_corrected(tmp_path):
    base = {
        "pingpong/os_pipe/fork/64B/split": spread(10 * US, *TIGHT),
        "pingpong/mp_pipe/fork/64B/split": spread(20 * US, *TIGHT),
    }
    other = {
        "pingpong/os_pipe/fork/64B/split": spread(10.2 * US, *TIGHT),  # 2%: not a difference
        "pingpong/mp_pipe/fork/64B/split": spread(30 * US, *TIGHT),  # 1.5x: slower
    }
    a = synthetic_file(tmp_path / "a.json", base)
    b = synthetic_file(tmp_path / "b.json", other)
    inputs = load_inputs([a, b])
    by_transport = {cell.key.transport: cell.verdicts for cell in compare(inputs).cells}
    assert by_transport == {"os_pipe": ["baseline", "same"], "mp_pipe": ["baseline", "slower"]}
    run_cli("report", a, b, "--figure", "machines", "-o", tmp_path / "machines.png")


def test_one_worker_cannot_crown_anything(tmp_path):
    cells = {
        "pingpong/os_pipe/fork/64B/split": [10 * US],
        "pingpong/os_pipe/spawn/64B/split": [12 * US],
        "pingpong/mp_queue/fork/64B/split": [50 * US],
    }
    path = synthetic_file(tmp_path / "one.json", cells)
    run_cli("report", path, "-o", tmp_path / "index.html")
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    [row] = answer_rows(page)
    assert row["fastest"] == "os_pipe (fork, untested)"
    assert "1 other untested" in row["tied (not significantly slower)"]
    assert '<b class="winner">' not in row["html"]
    grid = re.search(r'<table class="grid".*?</table>', page, flags=re.S).group(0)
    assert '<td class="num untested">1.20 (untested)</td>' in grid


def test_real_run_with_kinds_and_in_process_transports(tmp_path):
    """The finding on landed main, on a real run: `null [numpy]` crowned in every row."""
    path = tmp_path / "real.json"
    run_cli(
        "run", "-t", "os_pipe,mp_queue,null,thread_queue", "-m", "fork,none", "-s", "64",
        "-p", "pingpong", "-k", "bytes,numpy", "--quick", "-o", path,
    )  # fmt: skip
    run_cli("report", path, "-o", tmp_path / "index.html")
    rows = answer_rows((tmp_path / "index.html").read_text(encoding="utf-8"))
    assert [(r["kind"], r["CPU placement"]) for r in rows] == [
        ("bytes", "split"),
        ("numpy", "split"),
    ]
    for row in rows:
        assert row["fastest"].split()[0] in ("os_pipe", "mp_queue")
        assert "null (none)" in row["in-process floor (not ranked)"]
        assert "thread_queue (none)" in row["in-process floor (not ranked)"]
        assert "not measured" not in row["vs mp_queue"]


# -- show ----------------------------------------------------------------------------------------


def test_show_gives_interval_workers_and_instability(tmp_path):
    cells = {
        "pingpong/os_pipe/fork/64B/split": [20 * US, 19.5 * US, 20.8 * US],
        "pingpong/mp_queue/fork/64B/split": [50 * US, 100 * US],  # workers 2x apart: unstable
        "stream/os_pipe/fork/64KiB/split": [64e-6, 65e-6, 63e-6],
    }
    path = synthetic_file(
        tmp_path / "shaky.json", cells, conditions={"load": 0.2, "steal_pct": 8.0}
    )
    frame = load_results([path])
    out = run_cli("show", path).stdout
    lines = {
        tuple(line.split()[:3]): line
        for line in out.splitlines()
        if line.startswith(("pingpong", "stream"))
    }
    low, high = frame.iloc[0].ci_low, frame.iloc[0].ci_high
    assert re.search(
        rf"20\.0 µs +{low * 1e6:.1f}–{high * 1e6:.1f} +3 ", lines[("pingpong", "os_pipe", "fork")]
    )
    shaky = lines[("pingpong", "mp_queue", "fork")]
    assert re.search(r"75\.0 µs +\S+ +! +2 ", shaky)
    assert "! unstable pingpong/mp_queue/fork/64B/split: workers disagree" in out
    # Rates: the interval's ends swap (the slow worker is the low rate), in MB/s.
    stream = frame[frame.pattern == "stream"].iloc[0]
    rate_low, rate_high = 65536 / stream.ci_high / 1e6, 65536 / stream.ci_low / 1e6
    assert f"{rate_low:.0f}–{rate_high:.0f}" in lines[("stream", "os_pipe", "fork")]
    assert "WARNING: the hypervisor stole 8.0% of CPU time during this run" in out
    assert "other processes kept" not in out  # 0.2 CPUs of 2 busy is quiet


def test_show_counts_pyperf_warnings_and_lists_them_verbose(tmp_path):
    data_path = synthetic_file(
        tmp_path / "warned.json", {"pingpong/os_pipe/fork/64B/split": [20 * US, 20 * US]}
    )
    data = json.loads(data_path.read_text())
    data["benchmarks"][0]["runs"][0]["values"][0] *= 5  # one wild value: pyperf would warn
    data_path.write_text(json.dumps(data))
    out = run_cli("show", data_path).stdout
    assert "pyperf warns about 1 of 1 cells (values spread widely); --verbose lists them" in out
    verbose = run_cli("show", "--verbose", data_path).stdout
    assert re.search(
        r"^    pingpong/os_pipe/fork/64B/split: the standard deviation is \d+% of the mean",
        verbose,
        flags=re.M,
    )


def test_export_writes_worker_medians_like_values(tmp_path):
    path = synthetic_file(tmp_path / "x.json", {"pingpong/os_pipe/fork/64B/split": [1e-5, 2e-5]})
    text = run_cli("export", path).stdout
    exported = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])
    assert exported.loc[0, "worker_medians"] == "1e-05 2e-05"
    assert exported.loc[0, "workers"] == 2


# -- the README's pandas example -----------------------------------------------------------------


def test_readme_pandas_example_runs_and_keeps_machines_apart():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("From Python, the same data as a pandas DataFrame")
    code = re.search(r"```python\n(.*?)```", readme[start:], flags=re.S).group(1)
    completed = subprocess.run(
        [sys.executable, "-c", code + "\nprint(table.index.names, table.shape)"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "machine" in completed.stdout
