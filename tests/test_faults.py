"""Fault injection: children that die or hang mid-cell, a full disk, hostile result files.

Each fault is real: a child process that exits or is SIGKILLed half-way through its cell, one
that never answers, a file-size limit that makes the result file unwritable mid-run.
"""

import json
import os
import resource
import secrets
from pathlib import Path

import pytest
from conftest import run_cli, with_plugins
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipcbench import load_results, results
from ipcbench.benches.base import start_context
from ipcbench.transports.manager_queue import ManagerQueue


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_children_dying_or_hanging_mid_cell_fail_only_their_cells(tmp_path):
    output = tmp_path / "faults.json"
    completed = run_cli(
        "run",
        "-t",
        "broken_crash,broken_kill,broken_drop,broken_worker,null",
        "-m",
        "fork,spawn,none",
        "-s",
        "64",
        "--quick",
        "--cell-timeout",
        "3",
        "-o",
        output,
        check=False,
        env=with_plugins(),
    )
    assert completed.returncode == 1, completed.stderr
    result = results.load(output)
    assert {b.get_metadata()["transport"] for b in result.benchmarks} == {"null"}
    # Cells after a worker that died went to another one: only the failed ones are missing.
    assert set(result.missing()) == set(result.failed)
    for pattern in ("pingpong", "stream"):
        worker_died = result.failed[f"{pattern}/broken_worker/fork/64B/split"]
        assert worker_died == "the worker ended with exit status -9"
        for method in ("fork", "spawn"):
            assert "child die" in result.failed[f"{pattern}/broken_crash/{method}/64B/split"]
            assert "child die" in result.failed[f"{pattern}/broken_kill/{method}/64B/split"]
            assert "CellTimeout" in result.failed[f"{pattern}/broken_drop/{method}/64B/split"]
    # Cleanup was orderly: no semaphores for the resource tracker to reclaim, no traceback.
    for noise in ("Traceback", "resource_tracker", "leaked"):
        assert noise not in completed.stderr
    assert leftovers(tmp_path) == []


def _limit_file_size(limit: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_an_unwritable_result_file_mid_run_keeps_what_was_saved(tmp_path):
    import subprocess
    import sys

    output = tmp_path / "full-disk.json"
    # Python ignores SIGXFSZ, so a write past the limit fails with EFBIG, like a full disk.
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ipcbench",
            "run",
            "-t",
            "null",
            "-s",
            "64,128,256,512,1KiB,2KiB",
            "--quick",
            "-o",
            str(output),
        ],
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size(3_000),
        timeout=300,
        # Under coverage, the size limit would also stop the run from saving its coverage data
        # (and that error would be the last line): measure this one run without it.
        env={k: v for k, v in os.environ.items() if k != "COVERAGE_PROCESS_CONFIG"},
    )
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert lines[-1].startswith(f"ipcbench: error: cannot write {output}")
    assert "--resume" in lines[-1] and "Traceback" not in completed.stderr
    saved = results.load(output)  # still a valid file, with the cells finished before
    assert 1 <= len(saved.benchmarks) < len(saved.planned) == 12
    assert leftovers(tmp_path) == []
    run_cli("run", "--resume", output)  # with space again, the rest completes
    assert results.load(output).missing() == []


def test_manager_servers_get_a_random_authkey_and_a_unix_socket():
    endpoints = [ManagerQueue().open(start_context("fork"), 64, None) for _ in range(2)]
    try:
        keys = [bytes(e.manager._authkey) for e in endpoints]
        assert keys[0] != keys[1] and all(len(key) >= 32 for key in keys)
        for endpoint in endpoints:
            assert isinstance(endpoint.manager.address, str)  # a Unix socket path, not TCP
            assert Path(endpoint.manager.address).parent.exists()
    finally:
        for endpoint in endpoints:
            endpoint.send(b"exit")
            endpoint.close()


# -- hostile result files ---------------------------------------------------------------------


def _json_values():
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    )


def _paths(data, prefix=()):
    """Every (path to a value) in a JSON document."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*prefix, index))


def _replace(data, path, value):
    if not path:
        return value
    data = json.loads(json.dumps(data))
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


_DELETE = object()


@pytest.fixture(scope="module")
def real_document(small_result):
    return json.loads(Path(small_result).read_text())


@settings(
    max_examples=int(os.environ.get("IPCBENCH_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_the_loader_accepts_or_refuses_cleanly_any_mutation(real_document, tmp_path, data):
    paths = list(_paths(real_document))
    path = data.draw(st.sampled_from(paths))
    value = data.draw(_json_values() | st.just(_DELETE) if path else _json_values())
    mutated = _replace(real_document, path, value)
    target = tmp_path / f"mutated-{secrets.token_hex(4)}.json"
    target.write_text(json.dumps(mutated))
    try:
        loaded = results.load(target)
    except results.ResultFileError as error:
        assert str(target) in str(error)
        return
    # Accepted: then it must be usable all the way down to the frame.
    if loaded.benchmarks:
        frame = load_results([target])
        assert (frame["median"] > 0).all()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(min_value=0, max_value=10_000))
def test_truncated_files_are_refused(small_result, tmp_path, cut):
    text = Path(small_result).read_text()
    target = tmp_path / f"cut-{secrets.token_hex(4)}.json"
    target.write_text(text[: min(cut, len(text) - 2)])
    with pytest.raises(results.ResultFileError):
        results.load(target)


def test_huge_tiny_and_non_finite_numbers_are_refused(real_document, tmp_path):
    for bad in ("1e400", "6.8e39", "1e-300", "NaN", "-Infinity", "-1.0", "0"):
        text = json.dumps(real_document)
        first_value = json.dumps(real_document["benchmarks"][0]["runs"][-1]["values"][0])
        target = tmp_path / "bad.json"
        target.write_text(text.replace(first_value, bad, 1))
        with pytest.raises(results.ResultFileError, match="bad.json"):
            results.load(target)


def test_stale_echoes_fail_and_a_payload_cache_gets_no_shortcut(tmp_path):
    """Inside the clock every message is distinct and checked by its stamp.

    broken_stale hands on the previous message now and then, only after the checks before the
    timing: its cells fail. broken_caching is correct but sends a payload equal to the previous
    one as a 1-byte token: it must never get to take that shortcut inside a timed loop.
    """
    output, log = tmp_path / "stale.json", tmp_path / "ipcbench-cache-log"
    log.mkdir()
    env = with_plugins()
    env["TEMP"] = str(tmp_path)  # the caching transport reports into $TEMP/ipcbench-cache-log
    completed = run_cli(
        "run",
        "-t",
        "broken_stale,broken_caching",
        "-m",
        "fork",
        "-s",
        "1MiB",
        "--quick",
        "--cell-timeout",
        "20",
        "-o",
        output,
        check=False,
        env=env,
    )
    assert completed.returncode == 1, completed.stderr
    result = results.load(output)
    assert sorted(b.get_name() for b in result.benchmarks) == [
        "pingpong/broken_caching/fork/1MiB/split",
        "stream/broken_caching/fork/1MiB/split",
    ]
    # A plug-in that does not declare its receive mode is taken to deliver copies.
    assert {b.get_metadata()["receive"] for b in result.benchmarks} == {"copy"}
    assert "stamp" in result.failed["pingpong/broken_stale/fork/1MiB/split"]
    assert "stamp" in result.failed["stream/broken_stale/fork/1MiB/split"]
    counts = [tuple(map(int, path.read_text().split())) for path in log.iterdir()]
    assert counts, "the caching transport reported nothing"
    payloads = sum(sent for sent, _ in counts)
    assert payloads > 30  # the timed loops went through it (the checks alone send 18) ...
    assert sum(shortcuts for _, shortcuts in counts) == 0  # ... without a single cached payload


class _Disorderly:
    """A real channel whose parent side drops, swaps, truncates or lengthens streamed payloads
    (not commands), framed or not."""

    def __init__(self, endpoint, fault: str, at: int) -> None:
        self.endpoint, self.fault, self.at, self.payloads = endpoint, fault, at, 0
        self.recv, self.held = endpoint.recv, None
        self.send = self._disorderly(endpoint.send)

    def fixed_calls(self, size: int):
        send, recv = self.endpoint.fixed_calls(size)
        return self._disorderly(send), recv

    def _disorderly(self, send):
        def disorderly_send(data) -> None:
            if len(data) < 64:  # commands pass untouched
                send(data)
                return
            self.payloads += 1
            if self.payloads == self.at:
                if self.fault == "drop":
                    return
                if self.fault == "truncate":
                    send(bytes(data)[:-1])
                    return
                if self.fault == "extend":
                    send(bytes(data) + b"!")
                    return
                self.held = bytes(data)  # swap: this one goes after the next
                return
            send(data)
            if self.held is not None:
                send(self.held)
                self.held = None

        return disorderly_send


@pytest.mark.parametrize("fault", ["truncate", "extend"])
def test_a_stream_with_a_message_of_the_wrong_length_fails(fault):
    """Through a transport whose messages keep their lengths (a pipe's byte stream would merge
    a short message into the next; a ring's fixed-size sender refuses one): the child's fast
    stream loop reports it."""
    from ipcbench.benches.base import DataError
    from ipcbench.benches.stream import stream
    from ipcbench.payloads import make_channel
    from ipcbench.transports.mp_pipe import MpPipe

    endpoint = MpPipe().open(start_context("fork"), 4096, None)
    try:
        channel = make_channel(_Disorderly(endpoint, fault, at=5), "bytes", 64)
        assert channel.fixed  # the Connection's fixed-size calls: the child's fast loop
        with pytest.raises(DataError, match="1 of the streamed messages had the wrong length"):
            stream(endpoint, channel, 20)
        endpoint.send(b"exit")  # the child is serving again: it leaves at once
    finally:
        endpoint.close()


@pytest.mark.parametrize("fault", ["drop", "reorder"])
def test_a_stream_that_drops_or_reorders_inside_the_loop_fails(fault):
    from ipcbench.benches.base import DataError
    from ipcbench.benches.stream import stream
    from ipcbench.payloads import make_channel
    from ipcbench.transports.os_pipe import OsPipe

    endpoint = OsPipe().open(start_context("fork"), 4096, None)
    try:
        channel = make_channel(_Disorderly(endpoint, fault, at=5), "bytes", 64)
        with pytest.raises(DataError, match="wrong stamp"):
            stream(endpoint, channel, 20)
        endpoint.send(b"exit")  # the child is serving again: it leaves at once
    finally:
        endpoint.close()
