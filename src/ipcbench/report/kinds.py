"""Payload kinds on the page: the serialisation table; kinds and peers as lines of their own."""

from dataclasses import replace

from ipcbench import benches, stats
from ipcbench.cell import LOCAL
from ipcbench.loader import Inputs
from ipcbench.payloads import KINDS
from ipcbench.sizes import format_size


def kind_rows(inputs: Inputs) -> list[dict]:
    """Cells measured with several payload kinds: the median per kind, in µs, side by side, and
    the serialisation share 1 − bytes / pickle where the worker-level test (corrected over the
    table) tells the two apart; a share within noise says so instead of a number."""
    frame = inputs.frame
    frame = frame[frame["pattern"].isin(benches.message_loops())]  # the patterns with kinds
    axes = ["machine", "pattern", "transport", "method", "size_bytes", "placement"]
    if frame["kind"].nunique() < 2:
        return []
    # Records once, grouped in Python: a to_dict per group cost seconds on a full sweep.
    groups: dict[tuple, dict[str, dict]] = {}
    for record in frame.to_dict("records"):
        groups.setdefault(tuple(record[axis] for axis in axes), {})[record["kind"]] = record
    rows, tests = [], []
    for (machine, pattern, transport, method, size, _placement), by_kind in groups.items():
        if len(by_kind) < 2:
            continue  # only cells with something to compare
        micro = {kind: by_kind[kind]["median"] * 1e6 for kind in by_kind}
        row = {
            "machine": machine,
            "pattern": pattern,
            "transport": transport,
            "method": method,
            "size": format_size(int(size)),
            "share": None,
            "share_text": "—",
            "medians": micro,  # µs by kind
        }
        if "bytes" in micro and "pickle" in micro:
            row["share"] = 1 - micro["bytes"] / micro["pickle"]
            pair = (
                list(by_kind["pickle"]["worker_medians"]),
                list(by_kind["bytes"]["worker_medians"]),
            )
            tests.append((row, pair))
        rows.append(row)
    decisions = stats.decide([pair for _row, pair in tests])
    for (row, _pair), decision in zip(tests, decisions, strict=True):
        verdict = decision.verdict
        if verdict in ("faster", "slower"):
            row["share_text"] = f"{100 * row['share']:.0f}%"
        elif verdict == "same":
            row["share_text"] = "within noise"
        else:
            row["share_text"] = f"{100 * row['share']:.0f}% (untested: one worker)"
    return rows


def kind_columns(frame) -> list[str]:
    """The payload kinds measured, in the order of payloads.KINDS (others after, by name)."""
    present = set(frame["kind"])
    return [k for k in KINDS if k in present] + sorted(present - set(KINDS))


def kinds_as_transports(inputs: Inputs) -> Inputs:
    """Payload kinds other than bytes get lines and rows of their own: `mp_queue [numpy]`."""
    frame = inputs.frame
    if (frame["kind"] == "bytes").all():
        return inputs
    labelled = frame["transport"] + " [" + frame["kind"] + "]"
    return replace(
        inputs,
        frame=frame.assign(transport=frame["transport"].where(frame["kind"] == "bytes", labelled)),
    )


def peers_as_transports(inputs: Inputs) -> Inputs:
    """Cross-host cells get lines and rows of their own too: `tcp → 10.0.0.2`."""
    frame = inputs.frame
    remote = frame["peer"] != LOCAL
    if not remote.any():
        return inputs
    labelled = frame["transport"] + " → " + frame["peer"]
    return replace(
        inputs, frame=frame.assign(transport=frame["transport"].where(~remote, labelled))
    )
