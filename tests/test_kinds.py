"""Payload kinds end to end: bytes, pickled objects and arrays (as buffers, pickled in band,
pickled with their memory out of band) through real transports."""

import json
import pickle

import numpy
import pytest
from conftest import run_cli

from ipcbench import results
from ipcbench.compare import KEY, compare, load_inputs
from ipcbench.payloads import make_channel, make_records


@pytest.fixture(scope="module")
def kinds_result(tmp_path_factory):
    path = tmp_path_factory.mktemp("kinds") / "kinds.json"
    run_cli(
        "run",
        "-t",
        "os_pipe,mp_queue,null",
        "-m",
        "fork,none",
        "-s",
        "64,4KiB",
        "-p",
        "pingpong",
        "-k",
        "bytes,pickle,numpy,pickle5",
        "--quick",
        "-o",
        path,
    )
    return path


def test_every_kind_yields_a_figure_per_cell(kinds_result):
    frame = results.load_results([kinds_result])
    assert set(frame["kind"]) == {"bytes", "pickle", "numpy", "pickle5"}
    # transports x sizes x kinds, but pickle5 only where frames go over a byte path (os_pipe)
    assert len(frame) == 3 * 2 * 3 + 2
    assert set(frame[frame["kind"] == "pickle5"]["transport"]) == {"os_pipe"}
    assert (frame["median"] > 0).all()
    assert set(frame[frame["kind"] == "pickle5"]["receive"]) == {"copy"}
    names = {b.get_name() for b in results.load(kinds_result).benchmarks}
    assert "pingpong/mp_queue/fork/4KiB/split/pickle" in names
    assert "pingpong/mp_queue/fork/4KiB/split" in names  # bytes keeps the short name
    assert "pingpong/os_pipe/fork/64B/split/pickle5" in names
    notes = json.loads(kinds_result.read_text())["ipcbench"]["notes"]
    assert any("kind pickle5 needs a byte path" in n and "mp_queue, null" in n for n in notes)


def test_compare_aligns_by_kind(kinds_result):
    comparison = compare(load_inputs([kinds_result, kinds_result]))
    assert len(comparison.cells) == 20
    kinds = {cell.key[KEY.index("kind")] for cell in comparison.cells}
    assert kinds == {"bytes", "pickle", "numpy", "pickle5"}


def test_pickled_records_are_about_the_size_asked():
    for size in (64, 4096, 1 << 20):
        pickled = len(pickle.dumps(make_records(size), protocol=pickle.HIGHEST_PROTOCOL))
        assert size * 0.5 <= pickled <= max(size * 1.5, 200)


def test_numpy_payloads_are_arrays_of_the_size_asked():
    class Loopback:
        def send(self, data):
            self.last = bytes(data)

        def recv(self):
            return self.last

    endpoint = Loopback()
    for size, dtype in ((64, numpy.float64), (999, numpy.uint8)):
        channel = make_channel(endpoint, "numpy", size)
        channel.send(channel.payload(7))
        received = channel.recv()
        assert isinstance(received, numpy.ndarray) and received.dtype == dtype
        assert received.nbytes == size and channel.matches(received, 7)
        assert not channel.matches(received, 8)  # the stamp is checked, not just the length


def test_report_shows_the_serialisation_share(kinds_result, tmp_path):
    from ipcbench.report.html import kind_rows

    rows = kind_rows(load_inputs([kinds_result]))
    queue = next(r for r in rows if r["transport"] == "mp_queue" and r["size"] == "4KiB")
    medians = queue["medians"]
    assert medians["bytes"] > 0 and medians["pickle"] > 0 and medians["numpy"] > 0
    assert queue["share"] == pytest.approx(1 - medians["bytes"] / medians["pickle"])
    page = tmp_path / "kinds.html"
    run_cli("report", kinds_result, "-o", page)
    text = page.read_text()
    assert "how much of each figure is serialisation" in text
    assert "mp_queue [numpy]" in text  # each kind is its own line in the plots and table
    assert "os_pipe [pickle5]" in text and "<th>numpy</th><th>pickle5</th>" in text
