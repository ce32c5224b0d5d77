"""The result file: the only module that knows its layout.

A result file is a pyperf BenchmarkSuite JSON (so `python -m pyperf show FILE` works), one
benchmark per finished cell, plus a top-level "ipcbench" section that pyperf ignores:

    {"version": "1.0", "benchmarks": [...], "metadata": {...common pyperf metadata...},
     "ipcbench": {"schema": 1, "version": "0.1.0", "planned": [cell names],
                  "failed": {cell name: reason}, "notes": [...], "settings": {...},
                  "conditions": {"load": ..., "steal_pct": ..., ...},
                  "machine": {"name": ..., "fingerprint": ..., "facts": {...}}}}

Per-benchmark metadata carries the cell's axes (pattern, transport, method, size_bytes,
placement); every run also carries ipcbench_version and ipcbench_schema, which pyperf hoists
into the suite metadata because they are common to all benchmarks.
"""

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ipcbench import allocator
from ipcbench.cell import REQUIRED_AXES
from ipcbench.errors import UsageError
from ipcbench.machine import check_section as check_machine_section
from ipcbench.output import write_atomically
from ipcbench.version import __version__

SECTION = "ipcbench"
# The layout's version, in every file; bump it when the layout changes.
SCHEMA_VERSION = 1
# pyperf's machine facts that the tidy frame carries as text.
MACHINE_TEXT_KEYS = (
    "hostname",
    "cpu_model_name",
    "platform",
    "python_version",
    "python_implementation",
    "ipcbench_version",
)
# The run profiles (runner.PROFILES); a file's settings name one of them.
PROFILE_NAMES = ("quick", "default", "rigorous")
# More passes than this in a file is not a run anyone made (the rigorous profile has 14).
MAX_PASSES = 1000
# Bigger result files than this are not ours (the full sweep writes well under 10 MB).
MAX_FILE_BYTES = 256 << 20
# Seconds per message (or per start-up) that no cell can take: below a picosecond is faster than
# any clock, above an hour is no benchmark. The bounds also keep the statistics, which work on
# logarithms, far from a float's range.
PLAUSIBLE_SECONDS = (1e-12, 3600.0)


class ResultFileError(UsageError):
    """A result file that cannot be used; the message names the file and what is wrong."""


def run_metadata() -> dict:
    """pyperf metadata stamped on every run of every cell."""
    metadata = {"ipcbench_version": __version__, "ipcbench_schema": SCHEMA_VERSION}
    if allocator.policy():
        metadata["malloc"] = allocator.policy()
    return metadata


@dataclass
class ResultFile:
    """What a result file holds, in memory."""

    benchmarks: list = field(default_factory=list)  # pyperf.Benchmark, in run order
    planned: list[str] = field(default_factory=list)  # every cell name the run set out to do
    failed: dict[str, str] = field(default_factory=dict)  # cell name -> why it has no figure
    notes: list[str] = field(default_factory=list)  # what the selection skipped, and why
    settings: dict = field(default_factory=dict)  # profile and options, for `--resume`
    # What the machine was doing over the run (see conditions.py): load, steal_pct, ...
    conditions: dict = field(default_factory=dict)
    # Who the machine is (machine.py): name, fingerprint, facts; empty in older files.
    machine: dict = field(default_factory=dict)

    def done(self) -> set[str]:
        return {bench.get_name() for bench in self.benchmarks}

    def missing(self) -> list[str]:
        done = self.done()
        return [name for name in self.planned if name not in done]

    def add(self, bench) -> None:
        """Add a finished cell; a cell already present gets the new runs (`--append`)."""
        name = bench.get_name()
        self.failed.pop(name, None)
        for existing in self.benchmarks:
            if existing.get_name() == name:
                existing.add_runs(bench)
                return
        self.benchmarks.append(bench)

    def to_json(self) -> dict:
        import pyperf

        if self.benchmarks:
            # pyperf's own dict of the suite, exactly what its dump() writes: the run saves
            # after every worker, and dumping to text only to parse it back cost ~50 ms a save
            # at the default matrix's size (10 s of a 4-minute run).
            data = pyperf.BenchmarkSuite(self.benchmarks)._as_json()
        else:
            data = {"version": "1.0", "benchmarks": []}
        data[SECTION] = {
            "schema": SCHEMA_VERSION,
            "version": __version__,
            "planned": self.planned,
            "failed": self.failed,
            "notes": self.notes,
            "settings": self.settings,
            "conditions": self.conditions,
        }
        if self.machine:
            data[SECTION]["machine"] = self.machine
        return data


def save(path: str | os.PathLike, result: ResultFile) -> None:
    """Write atomically: a crash or a full disk mid-write leaves the previous file intact."""
    text = json.dumps(result.to_json(), sort_keys=True, separators=(",", ":")) + "\n"
    write_atomically(Path(path), text)


def load(path: str | os.PathLike) -> ResultFile:
    """Read and check a result file; any problem is a ResultFileError naming the file."""
    path = Path(path)
    text, data = _read_json(path)
    section = data.get(SECTION) if isinstance(data, dict) else None
    if not isinstance(data, dict) or "benchmarks" not in data:
        raise ResultFileError(f"{path}: not a pyperf result file (no 'benchmarks' list)")
    if not isinstance(section, dict):
        raise ResultFileError(
            f"{path}: a pyperf file, but not written by ipcbench (no '{SECTION}')"
        )
    schema = section.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise ResultFileError(f"{path}: the '{SECTION}' section has no valid schema version")
    if schema > SCHEMA_VERSION:
        raise ResultFileError(
            f"{path}: written with result schema {schema} (ipcbench {section.get('version')}); "
            f"this ipcbench {__version__} reads schema {SCHEMA_VERSION}: upgrade ipcbench"
        )
    benchmarks = _load_benchmarks(path, text, data)
    try:
        return ResultFile(
            benchmarks=benchmarks,
            planned=_strings(section.get("planned", []), "planned"),
            failed=_string_map(section.get("failed", {}), "failed"),
            notes=_strings(section.get("notes", []), "notes"),
            settings=_settings(section.get("settings", {})),
            conditions=_numbers(section.get("conditions", {}), "conditions"),
            machine=check_machine_section(section["machine"]) if "machine" in section else {},
        )
    except (TypeError, ValueError) as error:
        raise ResultFileError(f"{path}: bad '{SECTION}' section: {error}") from None


def _read_json(path: Path):
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ResultFileError(f"{path}: {size} bytes is too large for a result file")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ResultFileError(f"{path}: is a directory, not a result file") from None
    except UnicodeDecodeError:
        raise ResultFileError(f"{path}: not a text file (not UTF-8)") from None
    except OSError as error:
        raise ResultFileError(f"{path}: cannot read: {error.strerror}") from None
    if not text.strip():
        raise ResultFileError(f"{path}: empty file")
    try:
        return text, json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise ResultFileError(f"{path}: not valid JSON (truncated?): {error}") from None
    except RecursionError:
        raise ResultFileError(f"{path}: JSON nested too deeply") from None
    except ValueError as error:
        raise ResultFileError(f"{path}: {error}") from None


def _reject_constant(name: str):
    raise ValueError(f"the JSON holds {name}, which no timing can be")


def _load_benchmarks(path: Path, text: str, data: dict) -> list:
    import pyperf

    if not data["benchmarks"]:
        return []
    try:
        suite = pyperf.BenchmarkSuite.loads(text)
    except RecursionError:
        raise ResultFileError(f"{path}: JSON nested too deeply") from None
    except Exception as error:  # pyperf raises ValueError, KeyError, TypeError, ...
        raise ResultFileError(f"{path}: not a valid pyperf suite: {error!r}") from None
    benchmarks = suite.get_benchmarks()
    for bench in benchmarks:
        _check_benchmark(path, bench)
    return benchmarks


def _check_benchmark(path: Path, bench) -> None:
    name = bench.get_name()
    metadata = bench.get_metadata()
    missing = [key for key in REQUIRED_AXES if key not in metadata]
    if missing:
        raise ResultFileError(f"{path}: benchmark {name!r} lacks ipcbench metadata {missing}")
    size = metadata["size_bytes"]
    # Size 0: a pattern without a payload (counter, startup/process).
    if not (isinstance(size, int) and not isinstance(size, bool) and size >= 0):
        raise ResultFileError(f"{path}: benchmark {name!r} has an impossible size {size!r}")
    for key in ("procs", "chunksize"):
        count = metadata.get(key, 1)
        if not (isinstance(count, int) and not isinstance(count, bool) and count >= 1):
            raise ResultFileError(f"{path}: benchmark {name!r} has an impossible {key} {count!r}")
    for key in ("pattern", "transport", "method", "placement", "kind", "peer", *MACHINE_TEXT_KEYS):
        if not isinstance(metadata.get(key, ""), str):
            raise ResultFileError(f"{path}: benchmark {name!r} has a non-text {key}")
    cpus = metadata.get("cpu_count", 1)
    if not (isinstance(cpus, int) and not isinstance(cpus, bool) and cpus >= 1):
        raise ResultFileError(f"{path}: benchmark {name!r} has an impossible cpu_count {cpus!r}")
    low, high = PLAUSIBLE_SECONDS
    for value in bench.get_values():
        number = isinstance(value, float | int) and not isinstance(value, bool)
        if not (number and low <= value <= high):
            raise ResultFileError(f"{path}: benchmark {name!r} holds an impossible value {value!r}")


def _strings(value, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"'{what}' must be a list of strings")
    return list(value)


def _numbers(value, what: str) -> dict[str, float]:
    if not isinstance(value, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for v in value.values()
    ):
        raise ValueError(f"'{what}' must map names to numbers")
    return dict(value)


def _settings(value) -> dict:
    """The run's settings: what `--resume` reuses and the report shows, checked like a flag."""
    if not isinstance(value, dict):
        raise ValueError("'settings' must be a mapping")
    profile = value.get("profile", "default")
    if profile not in PROFILE_NAMES:
        raise ValueError(f"settings.profile must be one of {', '.join(PROFILE_NAMES)}")
    if "argv" in value:
        _strings(value["argv"], "settings.argv")
    passes = value.get("passes", 1)
    if not (isinstance(passes, int) and not isinstance(passes, bool) and 1 <= passes <= MAX_PASSES):
        raise ValueError(f"settings.passes must be a whole number from 1 to {MAX_PASSES}")
    return dict(value)


def _string_map(value, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"'{what}' must map cell names to reasons")
    return dict(value)


# Transports renamed since files were written: old files load under the new name, so that their
# cells line up with new ones in show, compare and report.
RENAMED = {"tcp_loopback": "tcp"}


def with_suite_metadata(text: str, **values) -> str:
    """A result file's text with `values` added to its suite metadata (common to every cell:
    pyperf shows it, and keeps it when the file is loaded and saved again)."""
    data = json.loads(text)
    data.setdefault("metadata", {}).update(values)
    return json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"
