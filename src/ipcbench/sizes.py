"""Payload sizes: one spelling to parse and to print them everywhere (`64`, `4KiB`, `16MiB`)."""

import re

UNITS = {"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}

# The payload generator (random.randbytes) stops below 256 MiB, and a cell holds tens of copies
# of its payload (see limits.py): beyond this no machine this tool targets runs a cell.
MAX_SIZE = 128 << 20

_SIZE_RE = re.compile(r"(\d{1,12})\s*(B|KiB|MiB|GiB)?")
# Decimal or unclear units (`10MB`, `4kb`, `1G`): refused, with what was likely meant.
_DECIMAL_RE = re.compile(r"(\d{1,12})\s*([kKmMgG])(?:i?[bB])?")
_DECIMAL = {"k": 10**3, "m": 10**6, "g": 10**9}


def parse_size(text: str) -> int:
    """Parse `64`, `64B`, `4KiB`, `1MiB`, `1GiB` into bytes; ValueError with a clear reason."""
    match = _SIZE_RE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"bad size {text!r}: {_suggestion(text.strip())}")
    number, unit = int(match.group(1)), match.group(2) or ""
    size = number * UNITS[unit]
    if size <= 0:
        raise ValueError(f"bad size {text!r}: a payload must be at least 1 byte")
    if size > MAX_SIZE:
        raise ValueError(f"bad size {text!r}: at most {format_size(MAX_SIZE)} per message")
    return size


def _suggestion(text: str) -> str:
    decimal = _DECIMAL_RE.fullmatch(text)
    if decimal:
        number, unit = int(decimal.group(1)), decimal.group(2).lower()
        binary = f"{number}{unit.upper()}iB"
        return f"did you mean {binary} (or {number * _DECIMAL[unit]})?"
    return (
        "write a whole number of bytes with an optional unit B, KiB, MiB or GiB "
        "(e.g. 64, 4KiB, 1MiB)"
    )


def format_size(size: int) -> str:
    """The inverse of parse_size: the largest unit dividing the size exactly (65536 -> `64KiB`)."""
    for unit in ("GiB", "MiB", "KiB"):
        if size >= UNITS[unit] and size % UNITS[unit] == 0:
            return f"{size // UNITS[unit]}{unit}"
    return f"{size}B"


def parse_sizes(text: str) -> list[int]:
    """A comma-separated list of sizes, in the order given, duplicates dropped."""
    items = [item for item in text.split(",") if item.strip()]
    if not items:
        raise ValueError("no sizes given")
    return list(dict.fromkeys(parse_size(item) for item in items))
