"""`ipcbench list`: transports (available or why not), start methods, patterns, default sizes."""

SUMMARY = "transports, start methods, patterns, default sizes"


def add_arguments(parser) -> None:
    parser.description = (
        "List the transports (with their start methods, message size limit and mechanism, or "
        "why one is unavailable here and how to install it), the start methods, the default "
        "payload sizes, CPU placements, process counts and chunksizes, and the patterns with "
        "what each measures."
    )


def run(args) -> int:
    import os

    from ipcbench import benches
    from ipcbench.cell import METHODS, PLACEMENTS
    from ipcbench.matrix import (
        DEFAULT_CHUNKSIZES,
        DEFAULT_PROCS,
        DEFAULT_SIZES,
        default_placements,
    )
    from ipcbench.payloads import KINDS
    from ipcbench.sizes import format_size
    from ipcbench.tables import render
    from ipcbench.transports import registry

    rows, transports = [], list(registry())
    for transport in transports:
        reason = transport.unavailable_reason()
        limit = format_size(transport.max_size) if transport.max_size else "-"
        rows.append(
            [
                transport.name,
                ",".join(transport.methods),
                limit,
                f"unavailable: {reason}" if reason else transport.summary,
            ]
        )
    print(render(["transport", "start methods", "max size", "mechanism"], rows))
    patterns = benches.patterns().values()
    multi = ", ".join(p.name for p in patterns if p.multi_process)
    chunked = "; ".join(
        f"{p.name} {', '.join(v.name for v in p.variants if v.chunked)}"
        for p in patterns
        if any(v.chunked for v in p.variants)
    )
    cpus = len(os.sched_getaffinity(0))
    print()
    print(
        f"start methods: {', '.join(METHODS)}  (exec: a fresh interpreter via subprocess; "
        "none: no child process)"
    )
    print(f"default sizes: {', '.join(format_size(s) for s in DEFAULT_SIZES)}")
    print(
        f"placements:    {', '.join(PLACEMENTS)}  (default here: "
        f"{','.join(default_placements(cpus))}, {cpus} CPUs available)"
    )
    print(f"procs:         {','.join(map(str, DEFAULT_PROCS))} ({multi})")
    print(f"chunksizes:    {','.join(map(str, DEFAULT_CHUNKSIZES))} ({chunked})")
    kinds = []
    for kind in KINDS:
        carriers = [t.name for t in transports if kind in t.kinds]
        few = len(carriers) <= 2  # torch: only torch_mp carries it
        kinds.append(f"{kind} ({', '.join(carriers)} only)" if few else kind)
    loops = " and ".join(benches.message_loops())
    print(f"kinds:         {', '.join(kinds)} ({loops}; the run says what it skips)")
    print()
    rows = []
    for pattern in patterns:
        measures = ["transports"] if pattern.on_transports else []
        measures += [variant.name for variant in pattern.variants]
        default = "yes" if pattern.default else "-p " + pattern.name
        rows.append([pattern.name, default, ", ".join(measures), pattern.summary])
    print(render(["pattern", "default", "measures", "what"], rows))
    return 0
