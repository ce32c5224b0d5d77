"""Result files for the compare / report / export tests: one more real run, and edited copies.

A module rather than conftest fixtures (conftest belongs to the core): it is imported once per
session, so the real run below happens once however many test modules ask for it.
"""

import json
from pathlib import Path

from conftest import run_cli

_second: dict[str, Path] = {}

# A cell both real runs hold (see conftest.small_result and second_result below).
SHARED_CELL = "pingpong/os_pipe/fork/64B/split"


def second_result(tmp_path_factory) -> Path:
    """A second real quick run overlapping `small_result`: os_pipe/fork and null are in both,
    mp_queue only here, os_pipe/spawn and mp_pipe only there."""
    if "path" not in _second:
        path = tmp_path_factory.mktemp("second") / "second.json"
        run_cli(
            "run",
            "-t",
            "os_pipe,mp_queue,null",
            "-m",
            "fork,none",
            "-s",
            "64,4KiB",
            "--quick",
            "-o",
            path,
        )
        _second["path"] = path
    return _second["path"]


def second_host_result(tmp_path_factory) -> Path:
    """`second_result` as `second-host.json`, with a failed cell recorded."""
    if "failing" not in _second:

        def with_failure(data):
            data["ipcbench"]["failed"]["stream/mp_queue/spawn/64B/split"] = "child hung (timeout)"

        target = tmp_path_factory.mktemp("second-host") / "second-host.json"
        _second["failing"] = edited_copy(second_result(tmp_path_factory), target, with_failure)
    return _second["failing"]


_pages: dict[tuple[str, ...], Path] = {}


def report_page(tmp_path_factory, *files: Path) -> Path:
    """`report FILES -o index.html`, made once per session: test_report.py reads the same pages
    that test_report_browser.py opens in a browser."""
    key = tuple(map(str, files))
    if key not in _pages:
        path = tmp_path_factory.mktemp("report") / "index.html"
        run_cli("report", *files, "-o", path)
        _pages[key] = path
    return _pages[key]


_shown: dict[str, str] = {}


def shown(path: Path) -> str:
    """`show FILE`'s output, run once per session for the tests that read it."""
    if str(path) not in _shown:
        _shown[str(path)] = run_cli("show", path).stdout
    return _shown[str(path)]


def edited_copy(source: Path, target: Path, edit) -> Path:
    """A copy of a real result file with `edit(data)` applied to its JSON (test data)."""
    data = json.loads(source.read_text())
    edit(data)
    target.write_text(json.dumps(data))
    return target


def benchmark(data: dict, name: str) -> dict:
    for bench in data["benchmarks"]:
        if bench["metadata"].get("name") == name:
            return bench
    raise KeyError(name)


def scale_values(data: dict, name: str, factor: float) -> None:
    """Multiply every value of one cell: a regression (factor > 1) of known size."""
    for run in benchmark(data, name)["runs"]:
        if "values" in run:
            run["values"] = [value * factor for value in run["values"]]


def set_run_metadata(data: dict, name: str, **values) -> None:
    """Give every run of one cell these metadata values. pyperf hoists metadata that all runs
    share into the benchmark's, so the keys are set wherever the file holds them."""
    bench = benchmark(data, name)
    places = [bench["metadata"], *(run["metadata"] for run in bench["runs"] if "metadata" in run)]
    for place in places:
        if any(key in place for key in values):
            place.update(values)


BAD_FILES = {
    # name -> (how to make the file from a real one, words the one-line error must contain)
    "missing": (None, "no such file"),
    "not-json": (lambda text: "this is not JSON {", "not valid JSON"),
    "not-pyperf": (lambda text: json.dumps({"hello": "world"}), "not a pyperf result file"),
    "not-ipcbench": (
        lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "ipcbench"}),
        "not written by ipcbench",
    ),
    "truncated": (lambda text: text[: len(text) // 2], "truncated"),
    "empty-results": (
        lambda text: json.dumps({**json.loads(text), "benchmarks": []}),
        "holds no results",
    ),
    "schema-too-new": (
        lambda text: json.dumps(
            {**json.loads(text), "ipcbench": {**json.loads(text)["ipcbench"], "schema": 99}}
        ),
        "upgrade ipcbench",
    ),
}


def bad_file(kind: str, source: Path, directory: Path) -> tuple[Path, str]:
    """A broken result file of the given kind, and what its error message must say."""
    make, expected = BAD_FILES[kind]
    path = directory / f"{kind}.json"
    if make is not None:
        path.write_text(make(source.read_text()))
    return path, expected


# -- synthetic result files: cells with worker medians chosen by the test -------------------------

MACHINE = {
    "hostname": "synthetic",
    "cpu_model_name": "Test CPU",
    "cpu_count": 2,
    "platform": "Linux-test",
    "python_version": "3.11.7 (64-bit)",
    "python_implementation": "cpython",
}


def synthetic_file(path: Path, cells: dict, conditions: dict | None = None, **extra) -> Path:
    """A result file whose cells have exactly the given worker medians.

    `cells` maps a cell name (`pingpong/os_pipe/fork/64B/split[/numpy]`) to its worker medians in
    seconds; each worker gets five values spread ±1% around its median (so the median is exact,
    and the values do not step). `extra` adds per-benchmark metadata (e.g. receive="view").
    """
    import pyperf

    from ipcbench import results
    from ipcbench.cell import Cell

    benchmarks = []
    for name, medians in cells.items():
        cell = Cell.from_name(name)
        metadata = {
            **MACHINE,
            **results.run_metadata(),
            "name": name,
            "pattern": cell.pattern,
            "transport": cell.transport,
            "method": cell.method,
            "size_bytes": cell.size,
            "placement": cell.placement,
            "kind": cell.kind,
            **extra.get(name, {}),
        }
        runs = [
            pyperf.Run(
                [m * f for f in (0.99, 1.0, 1.0, 1.01, 1.0)],
                metadata=metadata,
                collect_metadata=False,
            )
            for m in medians
        ]
        benchmarks.append(pyperf.Benchmark(runs))
    result = results.ResultFile(
        benchmarks=benchmarks,
        planned=list(cells),
        settings={"profile": "default"},
        conditions=conditions or {},
    )
    results.save(path, result)
    return path


def synthetic_values_file(path: Path, workers_by_cell: dict[str, list[list[float]]]) -> Path:
    """A result file whose cells hold exactly these values, one list per worker (test data
    with known statistics; the machine facts are this machine's, as pyperf records them)."""
    import pyperf

    from ipcbench import results
    from ipcbench.cell import Cell

    benchmarks = []
    for name, workers in workers_by_cell.items():
        metadata = {"name": name, "unit": "second", "loops": 1, **Cell.from_name(name).metadata()}
        runs = [pyperf.Run(values, metadata=metadata) for values in workers]
        benchmarks.append(pyperf.Benchmark(runs))
    result = results.ResultFile(
        benchmarks=benchmarks,
        planned=list(workers_by_cell),
        settings={"profile": "default", "passes": max(map(len, workers_by_cell.values()))},
    )
    results.save(path, result)
    return path
