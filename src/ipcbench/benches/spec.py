"""What a pattern declares about itself, so that the rest asks it instead of naming it.

Each pattern module (benches/) ends in a Pattern: its name and unit, the axes that apply, how its
figure reads, what the report says about it, and the bench that times a cell of it. The matrix,
the frame, `show`, `compare` and the report read these declarations; none of them spells out a
pattern's name.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from ipcbench.transports.base import MP_METHODS
from ipcbench.units import Unit


@dataclass(frozen=True)
class Variant:
    """Something a pattern measures that is not a transport: a Pool call, a counter's guard."""

    name: str
    summary: str
    bench: Callable  # bench(cell) -> the Bench that times a cell of this variant
    methods: tuple[str, ...] = MP_METHODS
    sized: bool = True  # whether the payload size axis applies
    chunked: bool = False  # whether the chunksize axis applies
    # Whether the procs axis applies to this variant even where its pattern has none
    # (startup of a Pool of P workers).
    multi_process: bool = False
    # Whether it moves data between processes, so that the report's answer may rank it
    # (startup's bare process and pools start processes without a channel).
    moves_data: bool = True


@dataclass(frozen=True)
class Section:
    """The report's section of a pattern beyond the message loop: its tables and figures."""

    title: str
    short_title: str  # in the line stating its finding at the top of the page
    intro: str
    # Whether its finding is a warning (a correctness finding), not a plain statement.
    warning: bool = False
    # Whether its finding is also stated at the top of the page, beside the answer.
    headline: bool = False


@dataclass(frozen=True)
class Pattern:
    name: str
    summary: str  # `list`'s line
    unit: Unit  # how its figure reads (see units.py)
    legend: str  # what the figure means, under `show`'s table
    per: str  # what one value is, in the report's table legend: `one round trip`
    # The bench of a cell that measures a transport: bench(cell, transport_class).
    bench: Callable | None = None
    on_transports: bool = True  # measures the transports that list it in `Transport.patterns`
    variants: tuple[Variant, ...] = ()
    default: bool = False  # whether a plain `run` selects it
    multi_process: bool = False  # whether the procs axis applies
    procs_noun: str = "process"  # what the procs axis counts
    # The first message's size hardly matters: one cell per transport, not one per size.
    smallest_size_only: bool = False
    # What it times depends on the worker process itself (forking copies the worker's memory;
    # a first start pays for imports), so each of its cells runs in a worker of its own, never
    # after other cells in a batch (see worker.py).
    fresh_worker: bool = False
    # One channel's timed message loop: payload kinds apply, CPU time per message is measured,
    # the size sweeps and the start-method and cross-machine heatmaps show it.
    message_loop: bool = False
    one_way: bool = False  # payloads flow one way: size / time is a data rate (MB/s)
    # Whether the report's answer table ranks its cells (a counter's fastest variant is wrong).
    ranked: bool = True
    answer_note: str = ""  # what its rows in the answer table mean
    section: Section | None = None
    # Why a transport takes smaller messages in this pattern than its max_size (a matrix note).
    size_limit_note: str = "takes messages only up to"
    # Payload copies a cell holds besides the base ones (limits.estimated_bytes).
    payload_copies: Callable = field(default=lambda cell: 0)

    def variant(self, name: str) -> Variant | None:
        return next((variant for variant in self.variants if variant.name == name), None)

    def procs_apply(self, subject: str) -> bool:
        """Whether the procs axis means something for `subject` (a transport or a variant)."""
        variant = self.variant(subject)
        return self.multi_process or (variant is not None and variant.multi_process)

    def chunksize_applies(self, subject: str) -> bool:
        variant = self.variant(subject)
        return variant is not None and variant.chunked
