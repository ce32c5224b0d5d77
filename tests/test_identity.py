"""Machines that know who they are (a name and a fingerprint of their facts), and result files
redacted for sharing: no host name, user name or local path of the machine survives, and the
redacted file still loads, shows, compares and reports."""

import getpass
import json
import re
import socket
from pathlib import Path

import pytest
from conftest import run_cli
from results_helpers import MACHINE, synthetic_file

from ipcbench import machine, results
from ipcbench.cli import main
from ipcbench.redact import RedactedResultFile, redacted

CELLS = {"pingpong/os_pipe/fork/64B/split": [20e-6, 20.2e-6, 19.8e-6]}
CHECKOUT = Path(__file__).resolve().parents[1]


def _with_machine(path: Path, name: str, **facts) -> Path:
    """A synthetic file (see results_helpers) whose machine section names it and whose facts
    are pyperf's (MACHINE) with these changes."""
    result = results.load(path)
    known = machine.facts_of({**MACHINE, "python_compiler": "GCC 12", "memory_gib": 8.0, **facts})
    result.machine = machine.Machine(name, machine.fingerprint(known), known).to_json()
    results.save(path, result)
    return path


def _cli(capsys, *args) -> tuple[int, str, str]:
    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_fingerprint_is_stable_and_labels_tell_machines_apart(tmp_path):
    # Two looks at this machine: one fingerprint; a name of one's choosing; a bad one refused.
    here = machine.local()
    assert machine.local("laptop-2").fingerprint == here.fingerprint
    assert re.fullmatch(r"[0-9a-f]{16}", here.fingerprint) and here.facts["cpu_count"] >= 1
    for bad in ("", "-x", "a b", "=cmd", "x" * 65, "lap\x1btop"):
        with pytest.raises(ValueError, match="letters, digits"):
            machine.local(bad)

    # An older file (no machine section): named after its host, fingerprinted from its cells'
    # metadata, memory unknown; the same facts give the same fingerprint.
    old = synthetic_file(tmp_path / "old.json", CELLS)
    found = machine.of_result(results.load(old))
    assert found.name == "synthetic" and found.facts["memory_gib"] is None
    assert found.fingerprint == machine.fingerprint(machine.facts_of(MACHINE))

    # Names that collide: the fingerprint where the facts differ, the file where they do not.
    paths = {}
    for stem, name, memory in (("a", "vm", 8.0), ("b", "vm", 16.0), ("c", "vm", 16.0)):
        paths[stem] = _with_machine(synthetic_file(tmp_path / f"{stem}.json", CELLS), name,
                                    memory_gib=memory)  # fmt: skip
    paths["d"] = _with_machine(synthetic_file(tmp_path / "d.json", CELLS), "server")
    found = {stem: machine.of_result(results.load(path)) for stem, path in paths.items()}
    a, b = (machine.short(found[stem].fingerprint) for stem in "ab")
    assert a != b
    assert machine.labels([found[s] for s in "abd"], [paths[s] for s in "abd"]) == [
        f"vm ({a})", f"vm ({b})", "server"
    ]  # fmt: skip
    assert machine.labels([found[s] for s in "bc"], [paths[s] for s in "bc"]) == ["b", "c"]
    assert machine.labels([found[s] for s in "abc"], [paths[s] for s in "abc"]) == [
        f"vm ({a})", f"vm ({b}): b", f"vm ({b}): c"
    ]  # fmt: skip
    lines = machine.difference_lines([found["a"], found["b"]], [f"vm ({a})", f"vm ({b})"])
    assert lines == [
        f"different machines by their facts (vm ({a}), vm ({b})): they differ in memory"
    ]


def test_compare_and_show_name_the_machines(tmp_path, capsys):
    first = _with_machine(synthetic_file(tmp_path / "first.json", CELLS), "vm", memory_gib=8.0)
    second = _with_machine(synthetic_file(tmp_path / "second.json", CELLS), "vm", memory_gib=16.0)
    status, out, _err = _cli(capsys, "compare", first, second)
    marks = [machine.of_result(results.load(p)).fingerprint for p in (first, second)]
    assert status == 0
    assert f"vm ({marks[0][:4]}…) (baseline)" in out and f"vm ({marks[1][:4]}…)/vm (" in out
    assert re.search(r"^warning: different machines by their facts .*: they differ in memory$",
                     out, flags=re.M)  # fmt: skip
    assert marks[0] in out and "16 GiB" in out
    status, out, _err = _cli(capsys, "show", second)
    assert out.splitlines()[1] == (
        f"  machine: vm (fingerprint {marks[1]}): Test CPU (2 CPUs, 16 GiB), Linux-test, "
        f"Python 3.11.7 (64-bit) (cpython, GCC 12), ipcbench 0.1.0"
    )


def _edited(path: Path, target: Path, edit) -> Path:
    data = json.loads(path.read_text())
    edit(data["ipcbench"])
    target.write_text(json.dumps(data))
    return target


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda s: s["machine"].update(name="=cmd|' /C calc'!A0\x1b[2J"), "machine.name must be"),
        (lambda s: s["machine"].update(name="x" * 65), "machine.name must be"),
        (lambda s: s["machine"].update(name=5), "machine.name must be"),
        (lambda s: s["machine"].update(fingerprint="3f2a"), "machine.fingerprint must be"),
        (lambda s: s["machine"].update(fingerprint=None), "machine.fingerprint must be"),
        (lambda s: s["machine"]["facts"].update(platform="\x1b]0;x\x07"), "facts.platform"),
        (lambda s: s["machine"]["facts"].update(cpu_count=-2), "machine.facts.cpu_count"),
        (lambda s: s.update(machine=["vm"]), "'machine' must be a mapping"),
    ],
    ids=[
        "hostile-name",
        "long-name",
        "number-name",
        "short-fingerprint",
        "no-fingerprint",
        "escape-in-a-fact",
        "negative-cores",
        "not-a-mapping",
    ],
)
def test_a_bad_machine_section_is_one_line_and_exit_2(tmp_path, capsys, edit, words):
    good = _with_machine(synthetic_file(tmp_path / "good.json", CELLS), "vm")
    bad = _edited(good, tmp_path / "bad.json", edit)
    for args in (("show", bad), ("compare", good, bad), ("redact", bad, "-o", tmp_path / "o.json")):
        status, out, err = _cli(capsys, *args)
        assert status == 2 and out == "" and not (tmp_path / "o.json").exists()
        assert len(err.splitlines()) == 1 and err.startswith("ipcbench: error: ")
        assert words in err and "\x1b" not in err


def _local_secrets(tmp_path: Path) -> dict[str, str]:
    """This machine's host and user names, and the local paths a file could give away."""
    words = {"host": socket.gethostname(), "home": str(Path.home()), "checkout": str(CHECKOUT)}
    words["tmp"] = str(tmp_path)
    try:
        words["user"] = getpass.getuser()
    except (KeyError, OSError):
        pass
    return words


def _file_with_secrets(tmp_path: Path, secrets: dict[str, str]) -> Path:
    """A synthetic file from another machine (`far-host`, user `alice`) whose metadata,
    command line, notes and failure reasons give away its names and paths and this machine's."""
    home, checkout = secrets["home"], secrets["checkout"]
    leaky = {
        "hostname": "far-host",
        "python_executable": f"{home}/venv/bin/python",
        "python_config_args": f"'--prefix=/home/alice/py' 'LDFLAGS=-L{checkout}/lib'",
        "python_cflags": f"-O3 -I{secrets['tmp']}/include",
        "cwd": checkout,
    }
    cells = {**CELLS, "stream/os_pipe/fork/64B/split": [1e-6, 1.01e-6, 0.99e-6]}
    path = synthetic_file(tmp_path / "leaky.json", cells, **{name: leaky for name in cells})
    result = results.load(path)
    suite = f"{checkout}/bench/smoke.toml"
    out = f"{secrets['tmp']}/out.json"
    result.settings["argv"] = ["run", "-o", out, "--suite", suite, "--name", secrets["host"]]
    result.failed["pingpong/mp_queue/fork/64B/split"] = (
        f'child died: File "/home/alice/src/child.py", line 3 on far-host for {secrets["host"]}'
    )
    result.notes.append(f"run by {secrets.get('user', 'someone')} in ~/work")
    result.planned.append("pingpong/mp_queue/fork/64B/split")
    result.machine = machine.local("far-host").to_json()
    results.save(path, result)
    return path


def _survivors(path: Path, secrets: dict[str, str], vocabulary: set[str]) -> list[str]:
    """The names and paths found anywhere in the file's raw text (words that are also a cell's
    vocabulary, such as a user named `pool`, cannot be told apart and are not searched)."""
    text = path.read_text()
    paths = (secrets["home"], secrets["checkout"], secrets["tmp"], "/tmp", "/home/")
    found = [path for path in paths if path in text]
    for word in (secrets["host"], secrets.get("user", ""), "alice", "far-host"):
        if len(word) > 1 and word.lower() not in vocabulary:
            pattern = rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])"
            if re.search(pattern, text, flags=re.IGNORECASE):
                found.append(word)
    return found


def test_redacted_file_keeps_no_name_or_path_and_still_compares(tmp_path, capsys):
    secrets = _local_secrets(tmp_path)
    leaky = _file_with_secrets(tmp_path, secrets)
    vocabulary = {w.lower() for n in results.load(leaky).planned for w in re.split(r"\W", n)}
    assert _survivors(leaky, secrets, vocabulary)  # the search finds them where they are

    shared = tmp_path / "shared.json"
    status, _out, err = _cli(capsys, "redact", leaky, "-o", shared)
    assert status == 0 and "redacted" in err
    assert _survivors(shared, secrets, vocabulary) == []
    before, after = results.load(leaky), results.load(shared)
    # The cells, their figures, the machine's facts and fingerprint stay; the name was the host's.
    assert [b.get_values() for b in after.benchmarks] == [b.get_values() for b in before.benchmarks]
    assert after.machine["fingerprint"] == before.machine["fingerprint"]
    assert after.machine["facts"] == before.machine["facts"] and after.machine["name"] == "redacted"
    assert after.settings["argv"][:3] == ["run", "-o", "<path>/out.json"]
    assert after.settings["redacted"] is True and set(after.failed) == set(before.failed)
    meta = after.benchmarks[0].get_metadata()
    assert "hostname" not in meta and "python_executable" not in meta
    assert meta["python_config_args"].startswith("'--prefix=<path>/py'")

    # It shows, compares (same figures: no difference) and reports, labelled by its name.
    assert _cli(capsys, "show", shared)[1].splitlines()[1].startswith("  machine: redacted (")
    status, out, _err = _cli(capsys, "compare", leaky, shared, "--format", "csv")
    assert status == 0 and set(re.findall(r",(faster|slower|same),", out)) == {"same"}
    page = tmp_path / "shared.html"
    assert _cli(capsys, "report", leaky, shared, "-o", page)[0] == 0
    assert "<b>redacted</b>" in page.read_text()

    # Runs added to a redacted file are redacted as they come (pyperf would refuse to merge a
    # run with a host name into runs without one).
    grown = redacted(results.load(shared))
    assert isinstance(grown, RedactedResultFile)
    grown.add(results.load(leaky).benchmarks[0])
    assert grown.benchmarks[0].get_nrun() == 2 * before.benchmarks[0].get_nrun()
    results.save(tmp_path / "grown.json", grown)
    assert _survivors(tmp_path / "grown.json", secrets, vocabulary) == []


def test_redact_refuses_to_overwrite_unless_asked(tmp_path, capsys):
    source = _with_machine(synthetic_file(tmp_path / "in.json", CELLS), "lab-7")
    original = source.read_text()
    existing = tmp_path / "exists.json"
    existing.write_text("{}")
    for args, words in (
        ((source, "-o", source), "is the input file"),
        ((source,), "give either -o OUT or --in-place"),
        ((source, "-o", existing), "already exists (use --force"),
        ((source, "-o", tmp_path / "o.json", "--name", "a b"), "--name must be"),
        ((tmp_path / "missing.json", "-o", tmp_path / "o.json"), "no such file"),
    ):
        status, _out, err = _cli(capsys, "redact", *args)
        assert status == 2 and words in err and len(err.splitlines()) == 1
    assert source.read_text() == original and existing.read_text() == "{}"
    assert _cli(capsys, "redact", source, "-o", existing, "--force", "--name", "box-1")[0] == 0
    assert results.load(existing).machine["name"] == "box-1"
    assert _cli(capsys, "redact", source, "--in-place")[0] == 0
    # A chosen name is not a host name: it stays.
    assert results.load(source).machine["name"] == "lab-7"
    assert results.load(source).settings["redacted"] is True


def test_real_run_with_redact_and_name(tmp_path):
    """One real quick run of the in-process transport, written redacted."""
    secrets = _local_secrets(tmp_path)
    output = tmp_path / "run.json"
    run_cli("run", "-t", "null", "-m", "none", "-s", "64", "-p", "pingpong", "--quick",
            "--name", "shared-box", "--redact", "-o", output, cwd=tmp_path)  # fmt: skip
    result = results.load(output)
    assert result.machine["name"] == "shared-box"  # chosen: kept
    assert result.machine["fingerprint"] == machine.local().fingerprint
    assert _survivors(output, secrets, {"null", "none", "pingpong", "split"}) == []
    bad = run_cli("run", "--resume", output, "--name", "x", check=False)
    assert bad.returncode == 2 and "drop the selection, -o and --name" in bad.stderr
