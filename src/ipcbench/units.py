"""How a value reads, and how it is written: formatting chosen by unit, one spelling everywhere.

Every value pyperf stores is seconds per operation (a round trip, a message, a start, a task, an
increment). Each pattern declares the Unit its figure is read in (benches/): a latency (a round
trip) or another time, scaled to µs or ms (lower is better), a throughput in MB/s = 10^6 payload
bytes per second, or a rate in operations per second (higher is better). `figure()` turns a
median (and its spread) into a Figure: numbers in the unit, written by str(). Standard library
only: the run's manager prints figures too.
"""

import math
from dataclasses import dataclass

LATENCY, TIME, THROUGHPUT, RATE = "latency", "time", "throughput", "rate"


@dataclass(frozen=True)
class Unit:
    """What a figure is in: `symbol` as printed, `reading` one of LATENCY, TIME, THROUGHPUT,
    RATE, and for a latency or time the display units per second (1e6: µs)."""

    symbol: str
    reading: str
    scale: float = 1.0

    @property
    def higher_is_better(self) -> bool:
        return self.reading in (THROUGHPUT, RATE)

    def value(self, seconds: float, size_bytes: int) -> float:
        """The figure of `seconds` per operation, in this unit."""
        if self.reading == THROUGHPUT:
            return size_bytes / seconds / 1e6
        if self.reading == RATE:
            return 1 / seconds
        return seconds * self.scale

    def text(self, value: float) -> str:
        """A number of this unit, short: rates as counts (`845k`), the rest to 3 figures."""
        return count(value) if self.reading == RATE else number(value)


ROUND_TRIP_MICROSECONDS = Unit("µs", LATENCY, 1e6)
MILLISECONDS = Unit("ms", TIME, 1e3)
MEGABYTES_PER_SECOND = Unit("MB/s", THROUGHPUT)


@dataclass(frozen=True)
class Figure:
    """A figure in its unit, with its spread (the MAD, in the same unit) where known."""

    value: float
    unit: Unit
    spread: float | None = None

    @property
    def number(self) -> str:
        return self.unit.text(self.value)

    def __str__(self) -> str:
        text = f"{self.number} {self.unit.symbol}"
        return text if self.spread is None else f"{text} ± {self.unit.text(self.spread)}"


def figure(unit: Unit, seconds: float, size_bytes: int, mad: float | None = None) -> Figure:
    """The figure of a median of `seconds` per operation (and of its MAD, in seconds).

    Rates and throughputs are inverses of the time, so their spread is figure x MAD / median.
    """
    value = unit.value(seconds, size_bytes)
    if mad is None:
        return Figure(value, unit)
    spread = value * mad / seconds if unit.higher_is_better else mad * unit.scale
    return Figure(value, unit, spread)


def interval(unit: Unit, size_bytes: int, low, high) -> str:
    """The 95% interval of a figure in its unit, without the unit: `19.5–20.8`; `—` where there
    is none (one worker). A rate inverts the times: the slow end is the rate's low end."""
    if missing(low) or missing(high):
        return "—"
    ends = sorted(unit.value(seconds, size_bytes) for seconds in (low, high))
    return "–".join(unit.text(end) for end in ends)


def number(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def count(value: float) -> str:
    """A rate or a count, short: `845k`, `7.18M`, `4103`."""
    if value >= 1e6:
        return f"{number(value / 1e6)}M"
    if value >= 1e4:
        return f"{number(value / 1e3)}k"
    return number(value) if value < 100 else f"{value:.0f}"


def milliseconds(seconds: float) -> str:
    return f"{number(seconds * 1e3)} ms"


def missing(value) -> bool:
    """None, NaN or pandas' NA: a figure this cell does not have (a column of the frame is all
    None where no cell of the file has that figure)."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == "<NA>"
