"""What one run may ask of the machine: how many cells, how many processes, how much memory.

The command line, suite files and result files (`--resume`, `--append`) all pass through these
checks, so no file can start more processes or use more memory than the command line allows.
Each refusal names the limit and, where a flag raises it, the flag.
"""

from ipcbench.errors import UsageError

# The biggest committed suite has 840 cells; a typo in a sweep (1024 procs x 1024 chunksizes)
# would otherwise plan a million.
DEFAULT_MAX_CELLS = 5000
# fanin producers, pool workers, counter incrementers; and pool chunksizes.
MAX_COUNT = 1024
# Copies of one payload that a cell holds at once, besides the pattern's own: the 8 verified
# payloads and their echoes, the parent's and the child's receive buffers, the transport's own.
BASE_COPIES = 24
# A pickled payload is rebuilt as Python objects (dicts, strs, floats) several times its size.
PICKLE_FACTOR = 4
# A cell may use at most this share of the memory available when the run starts.
MEMORY_SHARE = 0.5


class LimitError(UsageError, ValueError):
    """A request beyond a limit; the message names the limit and how to raise it if one can."""


def check_count(key: str, value: int) -> None:
    """procs and chunksizes: whole numbers from 1 to MAX_COUNT."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise LimitError(f"{key} must be whole numbers from 1 to {MAX_COUNT}, got {value!r}")


def max_cells_flag(text: str) -> int:
    """argparse type of --max-cells: a whole number of at least 1."""
    if not text.strip().isdigit() or int(text) < 1:
        import argparse

        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def check_cell_count(count: int, max_cells: int) -> None:
    if count > max_cells:
        raise LimitError(
            f"the selection has more than {max_cells} cell{'s' if max_cells > 1 else ''} "
            f"(--max-cells {max_cells}); "
            "select fewer, or raise the limit with --max-cells N"
        )


def estimated_bytes(cell) -> int:
    """A generous estimate of the memory one cell's processes hold at once."""
    from ipcbench import benches

    # A pattern's own copies: pool's results and chunks in flight, fanin's producers' payloads.
    copies = BASE_COPIES + benches.pattern(cell.pattern).payload_copies(cell)
    if cell.kind == "pickle":
        copies *= PICKLE_FACTOR
    return cell.size * copies


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), or None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(cells, available: int | None = None) -> None:
    """Refuse the plan if its hungriest cell would need more than MEMORY_SHARE of free memory."""
    if not cells:
        return
    available = available_bytes() if available is None else available
    if available is None:
        return
    hungriest = max(cells, key=estimated_bytes)
    need = estimated_bytes(hungriest)
    if need > available * MEMORY_SHARE:
        raise LimitError(
            f"cell {hungriest.name} needs about {need >> 20} MiB, more than "
            f"{MEMORY_SHARE:.0%} of the {available >> 20} MiB of memory available: choose "
            "smaller sizes, procs or chunksizes"
        )
