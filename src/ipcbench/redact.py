"""Result files you can share: host names, user names and local paths taken out.

pyperf records where a run happened (host name, the Python executable's path, the build's
configure arguments with their install prefix), and ipcbench the command line (`-o
/home/alice/...`) and failure reasons that may quote a path. Redaction removes the host name and
the executable's path, replaces every absolute path by `<path>/` and its last part, every host
name by `<host>` and every user name by `<user>`, in free text only: the cells (names, axes,
figures) and the machine's facts stay, so a redacted file still loads, shows, compares and
reports, and its fingerprint (computed from the facts, which redaction never touches) is the
same. A machine name that is only the host name becomes `redacted`; give one with --name.

Both `run --redact` (every save of the run is redacted, and runs added later by --resume or
--append are redacted as they come) and `python -m ipcbench redact FILE -o OUT` go through
`redacted()`.
"""

import json
import os
import re
import sys
from dataclasses import dataclass, fields
from pathlib import Path

from ipcbench import machine
from ipcbench.errors import UsageError
from ipcbench.results import ResultFile, load, save

# Metadata that only says where and by whom: dropped.
DROPPED = ("hostname", "python_executable", "cwd", "command")
# Metadata that identifies the cell or the machine's facts: never changed.
KEPT = {
    "name", "unit", "pattern", "transport", "method", "placement", "kind", "receive",
    "ipcbench_version", *machine.FACTS,
}  # fmt: skip
# A path: `/` or `~user/` not inside a word (so `MB/s` and cell names are not paths), or right
# after a one-letter compiler flag (`-L/usr/lib`), then anything but spaces, quotes and separators.
PATH = re.compile(
    r"(?:(?<![\w./~-])|(?<=(?<![\w-])-[A-Za-z]))(?:~[\w.-]*)?/(?=[\w.~@+%-])[^\s'\"<>|;,:=(){}\[\]]*"
)
# Home directories name their user.
HOME = re.compile(r"/(?:home|Users|var/home|export/home)/([^/\s'\"]+)")
NAME_AFTER = "redacted"


@dataclass
class Redactor:
    """What to take out: host names and user names (besides every absolute path)."""

    hosts: set[str]
    users: set[str]

    @classmethod
    def for_suite(cls, suite: dict | None) -> "Redactor":
        """This machine's host and user names, plus those the file's own metadata and paths
        name (a file redacted on another machine than the one that wrote it)."""
        hosts, users = _local_names()
        for text in _strings(suite or {}):
            users.update(HOME.findall(text))
        for metadata in _metadata_dicts(suite or {}):
            host = metadata.get("hostname")
            if isinstance(host, str):
                hosts.update({host, host.split(".")[0]})
        # A word of one letter would take letters out of every sentence.
        return cls({h for h in hosts if len(h) > 1}, {u for u in users if len(u) > 1})

    def text(self, value: str) -> str:
        value = PATH.sub(_path_replacement, value)
        for words, mark in ((self.hosts, "<host>"), (self.users, "<user>")):
            for word in sorted(words, key=len, reverse=True):
                value = re.sub(
                    rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])",
                    mark,
                    value,
                    flags=re.IGNORECASE,
                )
        return value

    def metadata(self, metadata: dict) -> None:
        for key in list(metadata):
            value = metadata[key]
            if key in DROPPED:
                del metadata[key]
            elif key not in KEPT and isinstance(value, str):
                metadata[key] = self.text(value)

    def suite(self, suite: dict) -> None:
        """A pyperf suite's JSON, in place: its metadata at every level."""
        for metadata in _metadata_dicts(suite):
            self.metadata(metadata)

    def benchmarks(self, benchmarks: list) -> list:
        """Redacted copies, through pyperf's own file format."""
        import pyperf

        if not benchmarks:
            return []
        suite = pyperf.BenchmarkSuite(benchmarks)._as_json()
        self.suite(suite)
        return pyperf.BenchmarkSuite.loads(json.dumps(suite)).get_benchmarks()

    def is_host(self, name: str) -> bool:
        return name.lower() in {machine.name_of_host(host).lower() for host in self.hosts}


@dataclass
class RedactedResultFile(ResultFile):
    """A result file whose every save is redacted, and whose added runs are redacted as they
    come (pyperf refuses to merge runs whose host names differ: present in one, gone in the
    other)."""

    redactor: Redactor | None = None

    def add(self, bench) -> None:
        super().add(self.redactor.benchmarks([bench])[0])

    def to_json(self) -> dict:
        text = self.redactor.text
        plain = {f.name: getattr(self, f.name) for f in fields(ResultFile)}
        plain["failed"] = {cell: text(reason) for cell, reason in self.failed.items()}
        plain["notes"] = [text(note) for note in self.notes]
        plain["settings"] = {key: _scrubbed(value, text) for key, value in self.settings.items()}
        return ResultFile(**plain).to_json()


def redacted(result: ResultFile, name: str | None = None) -> RedactedResultFile:
    """`result` with its cells redacted, and redacted whenever it is saved."""
    suite = result.to_json() if result.benchmarks else None
    redactor = Redactor.for_suite(suite)
    plain = {f.name: getattr(result, f.name) for f in fields(ResultFile)}
    plain["benchmarks"] = redactor.benchmarks(result.benchmarks)
    plain["settings"] = {**result.settings, "redacted": True}
    section = dict(result.machine)
    if section and (name is not None or redactor.is_host(section["name"])):
        section["name"] = name or NAME_AFTER
    plain["machine"] = section
    return RedactedResultFile(**plain, redactor=redactor)


def _scrubbed(value, text):
    """A setting with its text redacted: a string, or a list of them (the command line)."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, list):
        return [text(item) if isinstance(item, str) else item for item in value]
    return value


def _path_replacement(match: re.Match) -> str:
    last = match.group(0).rstrip("/").rsplit("/", 1)[-1]
    return f"<path>/{last}" if last and not last.startswith("~") else "<path>"


def _local_names() -> tuple[set[str], set[str]]:
    import getpass
    import socket

    hosts = {socket.gethostname(), socket.gethostname().split(".")[0]}
    users = {os.environ.get(key, "") for key in ("USER", "LOGNAME", "USERNAME")}
    users.add(Path.home().name)
    try:
        users.add(getpass.getuser())
    except (KeyError, OSError):  # a container's uid without a passwd entry
        pass
    return {h for h in hosts if h}, {u for u in users if u}


def _metadata_dicts(suite: dict):
    """Every metadata mapping of a pyperf suite's JSON: the suite's, each benchmark's, each
    run's."""
    if isinstance(suite.get("metadata"), dict):
        yield suite["metadata"]
    for bench in suite.get("benchmarks", []):
        if isinstance(bench.get("metadata"), dict):
            yield bench["metadata"]
        for run in bench.get("runs", []):
            if isinstance(run.get("metadata"), dict):
                yield run["metadata"]


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# -- the command -------------------------------------------------------------------------------


def add_arguments(parser) -> None:
    parser.description = (
        "Write a copy of a result file without host names, user names and local paths (pyperf's "
        "host name and Python executable, absolute paths in the command line, the build's "
        "configure arguments and failure reasons); cells, figures, the machine's facts and "
        "fingerprint stay, so it still shows, compares and reports."
    )
    parser.add_argument("file", metavar="FILE", help="the result file")
    parser.add_argument("-o", "--output", metavar="OUT", help="the redacted copy")
    parser.add_argument(
        "--name",
        metavar="NAME",
        help="the machine's name in the copy (default: its name, or `redacted` where that is "
        "the host name)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    parser.add_argument(
        "--in-place", action="store_true", help="redact FILE itself (instead of -o OUT)"
    )


def run_redact(args) -> int:
    source = Path(args.file)
    if args.in_place == (args.output is not None):
        raise UsageError("redact: give either -o OUT or --in-place")
    target = source if args.in_place else Path(args.output)
    if not args.in_place:
        from ipcbench.output import refuse_overwriting_inputs

        refuse_overwriting_inputs(target, [source])
        if target.exists() and not args.force:
            raise UsageError(f"{target}: already exists (use --force to overwrite it)")
        if not target.parent.is_dir():
            raise UsageError(f"{target}: directory {target.parent} does not exist")
    if args.name is not None:
        try:
            machine.check_name(args.name)
        except ValueError as error:
            raise UsageError(str(error)) from None
    result = load(source)
    who = machine.of_result(result)
    if not result.machine and who.fingerprint:
        # An older file: its fingerprint, from facts redaction keeps, is stored before.
        result.machine = who.to_json()
    if args.name is not None and not result.machine:
        raise UsageError(f"{source}: no measured cell tells which machine it is: cannot name it")
    save(target, redacted(result, args.name))
    print(f"ipcbench: redacted {source} -> {target}", file=sys.stderr)
    return 0
