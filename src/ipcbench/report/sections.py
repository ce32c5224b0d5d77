"""The page's sections of the patterns beyond the message loop, as their declarations describe
them (benches/): per file the pattern's table and finding (findings/), then its figures."""

from dataclasses import dataclass

from ipcbench import benches
from ipcbench.findings import Table, presenter
from ipcbench.report.figures import CHARTS, Drawing, Plot, plot


@dataclass
class Block:
    """One file's part of a pattern's section: the finding in a sentence, and the table."""

    machine: str
    finding: str | None
    table: Table


@dataclass
class Section:
    anchor: str
    title: str
    intro: str
    warning: bool  # its finding is a correctness warning
    blocks: list[Block]
    plots: list[Plot]


def pattern_sections(inputs, command_paths: list[str], colours: dict) -> list[Section]:
    """A section per pattern with one (its declaration's `section`) that the files hold."""
    present = set(inputs.frame["pattern"])
    sections = []
    for pattern in benches.patterns().values():
        if pattern.section is None or pattern.name not in present:
            continue
        findings = presenter(pattern.name)
        charts = [c for c in CHARTS.values() if c.in_section and c.pattern == pattern.name]
        declared = pattern.section
        section = Section(pattern.name, declared.title, declared.intro, declared.warning, [], [])
        for label, path in zip(inputs.labels, command_paths, strict=True):
            cells = inputs.frame[inputs.frame["machine"] == label]
            table = findings.table(cells)
            if table is None:
                continue
            section.blocks.append(Block(label, findings.finding(cells), table))
            suffix = f" — {label}" if len(inputs.labels) > 1 else ""
            for chart in charts:
                drawn = plot(chart, cells, Drawing(colours, chart.title + suffix), label, [path])
                if drawn is not None:
                    section.plots.append(drawn)
        sections.append(section)
    return sections


def headlines(inputs) -> list[tuple[str, str, bool, str, str]]:
    """(anchor, short title, warning?, machine, sentence): the findings the page states at the
    top beside the answer (the start-up ratio; the counter's lost updates, a warning)."""
    found = []
    for pattern in benches.patterns().values():
        if pattern.section is None or not pattern.section.headline:
            continue
        declared = pattern.section
        for label in inputs.labels:
            sentence = presenter(pattern.name).finding(
                inputs.frame[inputs.frame["machine"] == label]
            )
            if sentence:
                found.append(
                    (pattern.name, declared.short_title, declared.warning, label, sentence)
                )
    return found
