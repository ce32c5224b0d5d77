"""The report's answer table: per machine, pattern, payload size, kind and placement, the fastest
way, honestly.

Honest means four things here:
- like with like: a row ranks the cells of one payload kind and one CPU placement, so a numpy
  winner is never set against a pickle loser, nor a `free` cell against a `split` one;
- in-process cells (`null`, `thread_queue`, start method `none`, receive `reference`) move no
  data between processes: they are the floor, shown beside the ranking, never in it; in-place
  cells (receive `view`) skip the copy every other transport makes, so they are ranked in a row
  of their own;
- a winner wins only where the worker-level test says so (stats.decide on worker medians,
  Benjamini-Hochberg over every test of the table, stats.verdict): otherwise the cells it cannot
  be told from are listed as tied, and a start method is only named when it beats the others;
- the comparisons (vs the slowest, vs mp_queue) stay inside the row's group.
"""

from dataclasses import dataclass, field

from ipcbench import benches, stats
from ipcbench.cell import PLACEMENTS
from ipcbench.payloads import KINDS
from ipcbench.sizes import format_size
from ipcbench.units import figure, interval

# The baseline every Python user knows; the table says how far the winner is from it.
POPULAR = "mp_queue"
# No second process: the floor of the harness, not an answer to "which IPC should I use".
IN_PROCESS_TRANSPORTS = ("null", "thread_queue")
ROLE_TITLES = {"copy": "", "in-place": "in-place (receive view)"}


def role(transport: str, method: str, receive) -> str:
    """copy (the ranking), in-place (ranked apart) or in-process (the floor, never ranked)."""
    if transport in IN_PROCESS_TRANSPORTS or method == "none" or receive == "reference":
        return "in-process"
    if receive == "view" or transport.endswith("_inplace"):
        return "in-place"
    return "copy"


def roles(frame):
    """The role of every row; `receive` is a frame column once the transports record it."""
    receive = frame["receive"] if "receive" in frame.columns else [None] * len(frame)
    return [
        role(t, m, r) for t, m, r in zip(frame["transport"], frame["method"], receive, strict=True)
    ]


@dataclass
class _Test:
    """One worker-level test of the table: the winner's cell against another cell."""

    winner: dict
    other: dict
    decision: stats.Decision | None = None  # set once the whole table is tested

    @property
    def pair(self) -> tuple[list[float], list[float]]:
        return list(self.winner["worker_medians"]), list(self.other["worker_medians"])

    @property
    def difference(self) -> stats.Difference:
        return self.decision.difference

    @property
    def q_value(self) -> float | None:
        return self.decision.q_value

    @property
    def verdict(self) -> str:
        # Ratio of the other cell to the winner: "slower" = the winner is really ahead.
        return self.decision.verdict


@dataclass
class _Ranking:
    """One group's ranking before the correction: the winner, the tests, the comparisons."""

    machine: str
    pattern: str
    size_bytes: int
    kind: str
    placement: str
    role: str
    cells: list[dict]  # sorted by median
    reference: list[dict]  # in-process cells of the group
    method_tests: list[_Test] = field(default_factory=list)
    subject_tests: list[_Test] = field(default_factory=list)


def _subject(cell: dict) -> tuple:
    """What is being chosen apart from the start method: transport, processes, chunksize."""
    return (cell["transport"], cell["procs"], cell["chunksize"])


def answer_rows(frame, labels: list[str]) -> list[dict]:
    """The rows of the answer table, in machine, pattern, size, kind, placement order."""
    # Patterns whose cells answer "which way is fastest" (a counter's fastest variant is the
    # wrong one: it loses updates), and not the variants that start processes without moving
    # data (a bare process, a pool's start); each has a section of its own.
    declared = benches.patterns().values()
    ranked = [pattern.name for pattern in declared if pattern.ranked]
    not_data = [v.name for pattern in declared for v in pattern.variants if not v.moves_data]
    frame = frame[frame["pattern"].isin(ranked) & ~frame["transport"].isin(not_data)].assign(
        role=lambda f: roles(f)
    )
    rankings = []
    axes = ["machine", "pattern", "size_bytes", "kind", "placement"]
    # Records once, grouped in Python: a to_dict per group cost seconds on a full sweep.
    groups: dict[tuple, list[dict]] = {}
    for record in frame.sort_values("median").to_dict("records"):
        groups.setdefault(tuple(record[axis] for axis in axes), []).append(record)
    for (machine, pattern, size, kind, placement), records in groups.items():
        reference = [c for c in records if c["role"] == "in-process"]
        for role_name in ("copy", "in-place"):
            cells = [c for c in records if c["role"] == role_name]
            if cells:
                rankings.append(
                    _rank(machine, pattern, int(size), kind, placement, role_name, cells, reference)
                )
            elif role_name == "copy" and reference:  # only the floor measured
                rankings.append(
                    _Ranking(machine, pattern, int(size), kind, placement, "copy", [], reference)
                )
    tests = [t for r in rankings for t in (*r.method_tests, *r.subject_tests)]
    for test, decision in zip(tests, stats.decide([t.pair for t in tests]), strict=True):
        test.decision = decision
    order = {pattern: index for index, pattern in enumerate(benches.PATTERNS)}
    kinds = {kind: index for index, kind in enumerate(KINDS)}
    rows = [_row(r) for r in rankings]
    return sorted(
        rows,
        key=lambda r: (
            labels.index(r["machine"]) if r["machine"] in labels else len(labels),
            order.get(r["pattern"], 99),
            r["size_bytes"],
            kinds.get(r["kind"], len(kinds)),
            PLACEMENTS.index(r["placement"]) if r["placement"] in PLACEMENTS else len(PLACEMENTS),
            r["role"] != "copy",
        ),
    )


def _rank(machine, pattern, size, kind, placement, role_name, cells, reference) -> _Ranking:
    """The winner is the cell with the lowest median; it is tested against the same subject
    under every other start method, and against every other subject's best cell."""
    ranking = _Ranking(machine, pattern, size, kind, placement, role_name, cells, reference)
    winner = cells[0]
    best_of: dict[tuple, dict] = {}
    for cell in cells:
        best_of.setdefault(_subject(cell), cell)  # cells are sorted: the first is the best
    for cell in cells[1:]:
        if _subject(cell) == _subject(winner):
            ranking.method_tests.append(_test(winner, cell))
    for subject, best in best_of.items():
        if subject != _subject(winner):
            ranking.subject_tests.append(_test(winner, best))
    return ranking


def _test(winner: dict, other: dict) -> _Test:
    return _Test(winner, other)


def _row(ranking: _Ranking) -> dict:
    row = {
        "machine": ranking.machine,
        "pattern": ranking.pattern,
        "size": format_size(ranking.size_bytes),
        "size_bytes": ranking.size_bytes,
        "kind": ranking.kind,
        "placement": ranking.placement,
        "role": ranking.role,
        "role_title": ROLE_TITLES[ranking.role],
        "reference": "; ".join(
            f"{_who(c, ranking.reference)} {_figure(c)}" for c in ranking.reference
        )
        or "—",
    }
    if not ranking.cells:
        return {
            **row,
            "fastest": "—",
            "winner": None,
            "methods": "",
            "figure": "—",
            "decided": False,
            "tied": "no inter-process transport measured",
            "vs_slowest": "—",
            "vs_popular": "—",
        }
    cells, winner = ranking.cells, ranking.cells[0]
    methods = _methods_text(winner["method"], ranking.method_tests)
    tied = [t.other for t in ranking.subject_tests if t.verdict == "same"]
    untested = [t.other for t in ranking.subject_tests if t.verdict == "too few runs"]
    tied_text = ", ".join(f"{_who(c, cells)} {_figure(c)}" for c in tied)
    if untested:
        # One worker per cell (the quick profile): no spread to test with, so no claim either way.
        tied_text += ("; " if tied else "") + (
            f"{len(untested)} other{'s' if len(untested) > 1 else ''} untested "
            "(one worker per cell: run the default profile for a verdict)"
        )
    # Against the slowest other transport: a start method of the winner's own is in `methods`.
    others = [cell for cell in cells if _subject(cell) != _subject(winner)]
    return {
        **row,
        "fastest": f"{_subject_text(winner, cells)} ({methods})",
        "decided": not tied and not untested,
        "winner": winner["transport"],
        "methods": methods,
        "figure": _figure(winner) + _interval(winner),
        "tied": tied_text or "—",
        "vs_slowest": f"{_times(others[-1], winner)} than {_who(others[-1], cells)}"
        if others
        else "only one transport measured",
        # mp_queue copies: against an in-place row that would be a ranking across the two.
        "vs_popular": _vs_popular(winner, cells, tied)
        if _declaration(ranking.pattern).on_transports and ranking.role == "copy"
        else "—",
    }


def _methods_text(winner_method: str, tests: list[_Test]) -> str:
    """`fork` when it beats every other method measured; `any method` when none can be told
    apart; else the tied ones: `fork or spawn`; `fork, untested` with one worker per cell."""
    tied = [t.other["method"] for t in tests if t.verdict == "same"]
    untested = any(t.verdict == "too few runs" for t in tests)
    if tied and len(tied) == len(tests):
        text = "any method"
    else:
        text = " or ".join([winner_method, *tied])
    return text + (", untested" if untested else "")


def _subject_text(cell: dict, cells: list[dict]) -> str:
    """`os_pipe`, with the producers or workers and the chunksize where they vary."""
    extra = []
    pattern = _declaration(cell["pattern"])
    if len({c["procs"] for c in cells}) > 1:
        noun = pattern.procs_noun
        extra.append(f"{cell['procs']} {noun}{'s' if cell['procs'] > 1 else ''}")
    if pattern.chunksize_applies(cell["transport"]):
        extra.append(f"chunksize {cell['chunksize']}")
    return cell["transport"] + (f", {', '.join(extra)}" if extra else "")


def _who(cell: dict, cells: list[dict]) -> str:
    """`os_pipe (fork)`, or `pool map (fork, 2 workers, chunksize 4)`."""
    subject = _subject_text(cell, cells)
    name, _, extra = subject.partition(", ")
    return f"{name} ({', '.join([cell['method'], *([extra] if extra else [])])})"


def _declaration(pattern: str):
    return benches.pattern_or_plain(pattern)


def _figure(cell: dict) -> str:
    unit = _declaration(cell["pattern"]).unit
    return str(figure(unit, cell["median"], int(cell["size_bytes"])))


def _interval(cell: dict) -> str:
    unit = _declaration(cell["pattern"]).unit
    text = interval(unit, int(cell["size_bytes"]), cell["ci_low"], cell["ci_high"])
    return "" if text == "—" else f" [{text}]"


def _times(slower: dict, faster: dict) -> str:
    return f"{slower['median'] / faster['median']:.1f}× faster"


def _vs_popular(winner: dict, cells: list[dict], tied: list[dict]) -> str:
    """Against mp_queue of the same group, same start method and processes where measured."""
    popular = [c for c in cells if c["transport"] == POPULAR]
    if not popular:
        return f"{POPULAR} not measured"
    for axis in ("method", "procs"):  # like for like, where measured
        alike = [c for c in popular if c[axis] == winner[axis]]
        popular = alike or popular
    best = popular[0]  # cells are sorted by median
    if winner["transport"] == POPULAR:
        return f"it is {POPULAR}"
    text = f"{_times(best, winner)} than {_who(best, cells)} ({_figure(best)})"
    for cell in tied:
        if cell["transport"] == POPULAR:
            text += f"; {_who(cell, cells)} is not significantly slower"
    return text
