"""One memory-allocator policy for every process of a run (glibc's malloc).

glibc serves a large allocation (from 128 KiB at first) with a fresh mmap, which the kernel
zeroes page by page, and it moves that threshold up as such blocks are freed. So whether a
process allocates a 1 MiB block from its heap or maps a new one depends on what it did before.
Receivers that allocate per message (multiprocessing's Connection, queues, pickle) then time
one loop at very different speeds: a 1 MiB round trip through `mp_pipe` took 1.0 ms with its
blocks from the heap and 1.5-2.4 ms with fresh maps, and bench/fidelity.py's 1 MiB queue and
Connection cells came out 0.48-1.04 against a raw loop. With the policy fixed, 0.98-1.08.

The workers start with GLIBC_TUNABLES fixing the state a long-running process settles in:
blocks up to 32 MiB (the ceiling of glibc's moving threshold) from the heap, and the heap
trimmed only beyond 64 MiB free. Every process a worker starts has it: forked ones inherit the
allocator's state, started ones the variable. Other C libraries ignore it. Each run records it
(`malloc` in its metadata).
"""

import os
import sys

VARIABLE = "GLIBC_TUNABLES"
POLICY = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=67108864"


def with_policy(environ: dict) -> dict:
    """`environ` for a process that must run under the policy (tunables given already come
    after ours: glibc takes the last)."""
    given = environ.get(VARIABLE)
    return {**environ, VARIABLE: f"{POLICY}:{given}" if given else POLICY}


def policy() -> str:
    """The policy this process started under ("" when none was set)."""
    return os.environ.get(VARIABLE, "")


def rerun_under_policy() -> None:
    """Re-run this program (same interpreter and arguments) under the policy, unless it already
    runs under it: for the bench scripts that time a raw loop beside the harness's workers."""
    if not policy():
        os.execve(sys.executable, [sys.executable, *sys.argv], with_policy(dict(os.environ)))
