"""Who measured a result file: the machine's name, and a fingerprint of its facts.

Host names do not tell machines apart: every VM of a fleet may call itself `vm` or `localhost`.
So a file's machine is two things:
- a name (`run --name NAME`, by default the host name): what `compare` and `report` call it;
- a fingerprint: a hash of the facts that make timings comparable and stay the same from one
  run to the next on one machine (CPU model, cores, memory, kernel, Python build). Load,
  frequency, dates, paths and the host name are left out, so two runs on one machine share a
  fingerprint, and redacting a file (which removes host names and paths) leaves it unchanged.

The facts are pyperf's, as it records them in every run's metadata (memory aside: pyperf does not
record it). A file written before the machine section is named after its host name, and its
fingerprint is computed from its cells' metadata (its memory unknown).
"""

import hashlib
import json
import math
import re
from dataclasses import dataclass, field

# Fact -> what it is called in tables and sentences. The keys are pyperf's metadata names, but
# memory_gib (ours: pyperf does not record it).
FACTS = {
    "cpu_model_name": "CPU",
    "cpu_count": "cores",
    "memory_gib": "memory",
    "platform": "kernel",
    "python_version": "Python",
    "python_implementation": "implementation",
    "python_compiler": "compiler",
}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAME_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or a digit"
FINGERPRINT = re.compile(r"[0-9a-f]{16}")
# Longer fact text than this is not a CPU model or a kernel.
MAX_FACT_CHARS = 300
# Where several files share a name, labels show this many hex digits of the fingerprint at least.
SHORT_DIGITS = 4


@dataclass(frozen=True)
class Machine:
    name: str
    fingerprint: str | None  # None: nothing to compute it from (an old file without cells)
    facts: dict = field(default_factory=dict)  # FACTS -> value; None where unknown

    def to_json(self) -> dict:
        return {"name": self.name, "fingerprint": self.fingerprint, "facts": dict(self.facts)}


def check_name(text: str, what: str = "--name") -> str:
    """`text` if it is a valid machine name, else a ValueError saying what one is."""
    if not isinstance(text, str) or not NAME.fullmatch(text):
        raise ValueError(f"{what} must be {NAME_RULE}")
    return text


def name_of_host(host) -> str:
    """A host name as a machine name: characters outside the rule become `-`."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", host if isinstance(host, str) else "")
    text = text.lstrip("-._")[:64].rstrip("-")
    return text or "unknown"


def facts_of(metadata: dict) -> dict:
    """The fingerprint's facts from pyperf metadata (any value that is not text or a number,
    as a file may hold, becomes text)."""
    facts = {}
    for key in FACTS:
        value = metadata.get(key)
        if value is not None and not isinstance(value, str | int | float):
            value = str(value)
        facts[key] = value
    return facts


def fingerprint(facts: dict) -> str:
    """16 hex digits of a SHA-256 over the facts, in FACTS order."""
    text = json.dumps([facts.get(key) for key in FACTS], default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def local(name: str | None = None) -> Machine:
    """This machine, as `run` records it: facts from pyperf's own collector (what every worker's
    runs will carry), memory from the kernel."""
    import os
    import socket

    import pyperf

    metadata = pyperf.Run([1.0]).get_metadata()  # collects the metadata a worker records
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory_gib = round(memory / 2**30, 1)
    except (ValueError, OSError):
        memory_gib = None
    facts = facts_of({**metadata, "memory_gib": memory_gib})
    if name is None:
        name = name_of_host(metadata.get("hostname") or socket.gethostname())
    return Machine(check_name(name), fingerprint(facts), facts)


def of_result(result) -> Machine:
    """A loaded file's machine (a ResultFile from results.load): its machine section, with the
    facts its cells recorded where they recorded them (what the figures were measured on; the
    same facts in a file `run` wrote). An older file, without the section, is named after its
    host, and fingerprinted from its cells' facts."""
    metadata = result.benchmarks[0].get_metadata() if result.benchmarks else {}
    measured = facts_of(metadata)
    if result.machine:
        section = result.machine
        facts = {**section["facts"], **{k: v for k, v in measured.items() if v is not None}}
        return Machine(section["name"], section["fingerprint"], facts)
    if not result.benchmarks:
        return Machine("unknown", None, measured)
    return Machine(name_of_host(metadata.get("hostname")), fingerprint(measured), measured)


def check_section(value) -> dict:
    """The `machine` section of a result file, checked like a command-line flag."""
    if not isinstance(value, dict):
        raise ValueError("'machine' must be a mapping")
    check_name(value.get("name"), "machine.name")
    mark = value.get("fingerprint")
    if not isinstance(mark, str) or not FINGERPRINT.fullmatch(mark):
        raise ValueError("machine.fingerprint must be 16 hex digits (0-9, a-f)")
    facts = value.get("facts", {})
    if not isinstance(facts, dict):
        raise ValueError("machine.facts must be a mapping")
    for key in FACTS:
        _check_fact(key, facts.get(key))
    # Facts a later ipcbench may add are not read: only the known ones are kept.
    return {"name": value["name"], "fingerprint": mark, "facts": facts_of(facts)}


def _check_fact(key: str, value) -> None:
    if value is None:
        return
    if isinstance(value, str):
        if len(value) <= MAX_FACT_CHARS and value.isprintable():
            return
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value) and value >= 0:
            return
    raise ValueError(f"machine.facts.{key} must be printable text or a number of 0 or more")


# -- telling machines apart ------------------------------------------------------------------------


def short(mark: str | None, digits: int = SHORT_DIGITS) -> str:
    """`3f2a…`: the first digits of a fingerprint; `?` where it is unknown."""
    return f"{mark[:digits]}…" if mark else "?"


def short_digits(marks) -> int:
    """The fewest digits (at least SHORT_DIGITS) that still tell these fingerprints apart."""
    marks = {mark for mark in marks if mark}
    for digits in range(SHORT_DIGITS, 17):
        if len({mark[:digits] for mark in marks}) == len(marks):
            return digits
    return 16


def labels(machines: list[Machine], paths) -> list[str]:
    """What compare and report call each file: its machine's name. Where names collide, the
    fingerprint tells different machines apart (`vm (3f2a…)`, `vm (9b1c…)`), and the file's
    stem tells apart several files of one machine (the stem alone where the name says
    nothing more: two runs of one machine read `before`, `after`)."""
    stems = _file_names(paths)
    digits = short_digits(m.fingerprint for m in machines)
    out = [m.name for m in machines]
    for name in {n for n in out if out.count(n) > 1}:
        members = [i for i, m in enumerate(machines) if m.name == name]
        if len({machines[i].fingerprint for i in members}) == 1:
            for i in members:
                out[i] = stems[i]
        else:
            for i in members:
                out[i] = f"{name} ({short(machines[i].fingerprint, digits)})"
    for label in {text for text in out if out.count(text) > 1}:
        for i in [i for i, text in enumerate(out) if text == label]:
            out[i] = stems[i] if label == stems[i] else f"{label}: {stems[i]}"
    # The same path given twice still needs two names.
    seen: dict[str, int] = {}
    for i, label in enumerate(out):
        seen[label] = seen.get(label, 0) + 1
        out[i] = label if seen[label] == 1 else f"{label}#{seen[label]}"
    return out


def _file_names(paths) -> list[str]:
    """Each file's stem, or its whole path where two files share a stem."""
    from pathlib import Path

    paths = [Path(p) for p in paths]
    stems = [p.stem for p in paths]
    return [s if stems.count(s) == 1 else str(p) for s, p in zip(stems, paths, strict=True)]


def difference_lines(machines: list[Machine], labels_: list[str]) -> list[str]:
    """One line where the files come from machines with different facts: which ones, and which
    facts differ (their values are in the machines table)."""
    marks = {m.fingerprint for m in machines}
    if len(marks) < 2:
        return []
    digits = short_digits(marks)
    named = []
    for who, label in zip(machines, labels_, strict=True):
        mark = short(who.fingerprint, digits)
        named.append(label if mark in label else f"{label} ({mark})")
    differing = []
    for key, title in FACTS.items():
        values = [m.facts.get(key) for m in machines]
        if len({repr(value) for value in values}) == 1:
            continue
        if len({repr(value) for value in values if value is not None}) <= 1:
            # Known alike wherever known: an older file that did not record it.
            unknown = [label for label, value in zip(labels_, values, strict=True) if value is None]
            title += f" (not recorded in {', '.join(unknown)})"
        differing.append(title)
    facts = ", ".join(differing) if differing else "facts this ipcbench does not know"
    return [f"different machines by their facts ({', '.join(named)}): they differ in {facts}"]


def memory_text(facts: dict) -> str | None:
    value = facts.get("memory_gib")
    return f"{value:g} GiB" if isinstance(value, int | float) else None


def describe(machine: Machine) -> str:
    """One line: `vm (fingerprint 3f2a9b1c0d4e5f60): Intel Xeon (2 CPUs, 23.5 GiB), Linux-...,
    Python 3.11.7 (64-bit) (cpython, GCC 12.2.0)`."""
    facts = {key: ("?" if value is None else value) for key, value in machine.facts.items()}
    memory = memory_text(machine.facts) or "memory ?"
    return (
        f"{machine.name} (fingerprint {machine.fingerprint or '?'}): {facts['cpu_model_name']} "
        f"({facts['cpu_count']} CPUs, {memory}), {facts['platform']}, "
        f"Python {facts['python_version']} ({facts['python_implementation']}, "
        f"{facts['python_compiler']})"
    )
