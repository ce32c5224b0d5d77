"""The figures of the pattern sections (start-up, fan-in, pool): each gets its pattern's cells
(report/figures.py filters them) and returns a matplotlib Figure, or None."""

from matplotlib.figure import Figure

from ipcbench.findings.pool import pool_lines
from ipcbench.findings.startup import BARE_PROCESS
from ipcbench.report.plot_kit import (
    METHOD_COLOURS,
    METHOD_STYLES,
    figure_legend,
    legend_width,
    methods_in,
    one_placement,
    panels,
    plain_log_ticks,
    short,
)
from ipcbench.sizes import format_size


def startup_bars(cells, title: str) -> Figure | None:
    """Start-up time per start method (bars, log scale): the bare process first, then each
    transport's channel opened, used for one round trip and closed, with a tick at the time of
    the first message alone."""
    if cells.empty:
        return None
    # All None where no cell has a first message (the bare process only): make that NaN.
    cells = one_placement(cells).astype({"first_message_us": float})
    transports = sorted(set(cells["transport"]) - {BARE_PROCESS})
    subjects = ([BARE_PROCESS] if BARE_PROCESS in set(cells["transport"]) else []) + transports
    methods = methods_in(cells)
    figure, axes, _ = panels(
        1,
        panel=(max(3.0, 0.35 + 0.22 * len(methods) * len(subjects)), 2.8),
        left=0.8,
        right=legend_width([*methods, "first message alone"]),
    )
    ax = axes[0]
    width = 0.8 / len(methods)
    for number, method in enumerate(methods):
        by_subject = cells[cells["method"] == method].groupby("transport")
        medians = by_subject["median"].median()
        firsts = by_subject["first_message_us"].median()
        places = [i for i, subject in enumerate(subjects) if subject in medians]
        x = [i - 0.4 + width * (number + 0.5) for i in places]
        ax.bar(
            x,
            [medians[subjects[i]] * 1e3 for i in places],
            width * 0.9,
            color=METHOD_COLOURS.get(method, "C9"),
            label=method,
        )
        ticks = [(xi, firsts[subjects[i]] / 1e3) for xi, i in zip(x, places, strict=True)]
        ticks = [(xi, ms) for xi, ms in ticks if ms == ms]  # NaN: the bare process has none
        if ticks:
            ax.scatter(
                *zip(*ticks, strict=True),
                marker="_",
                s=(width * 60) ** 2 / 4,
                color="black",
                linewidths=1.5,
                label="first message alone",
                zorder=3,
            )
    ax.set_yscale("log")
    plain_log_ticks(ax)
    names = ["do-nothing\nprocess" if s == BARE_PROCESS else s for s in subjects]
    ax.set_xticks(range(len(subjects)), names, fontsize=8, rotation=20)
    ax.set_ylabel("ms (lower is better)")
    ax.grid(True, axis="y", which="major", alpha=0.3)
    figure_legend(figure, axes)
    figure.suptitle(title, fontsize=11)
    return figure


def fanin_scaling(cells, colours: dict[str, str], title: str) -> Figure | None:
    """Messages/s into one consumer vs the number of producers, one line per transport (one
    line style per start method), one panel per payload size."""
    if cells.empty:
        return None
    cells = one_placement(cells)
    sizes = sorted(cells["size_bytes"].unique())
    several_methods = cells["method"].nunique() > 1
    labels = {
        f"{transport} ({method})" if several_methods else transport
        for transport, method in zip(cells["transport"], cells["method"], strict=True)
    }
    figure, axes, _ = panels(
        len(sizes), panel=(3.0, 2.6), left=0.9, right=legend_width(labels), wspace=0.3
    )
    for ax in axes[1:]:
        ax.sharey(axes[0])
        ax.tick_params(labelleft=False)
    procs = sorted(cells["procs"].unique())
    for ax, size in zip(axes, sizes, strict=True):
        subset = cells[cells["size_bytes"] == size]
        for (transport, method), line in subset.groupby(["transport", "method"]):
            rates = line.groupby("procs")["per_second"].median()
            ax.plot(
                rates.index,
                rates.to_numpy(),
                METHOD_STYLES.get(method, "-") if several_methods else "-",
                marker="o",
                markersize=3,
                color=colours[transport],
                label=f"{transport} ({method})" if several_methods else transport,
            )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        plain_log_ticks(ax, short)
        ax.set_xticks(procs, [str(p) for p in procs])
        ax.minorticks_off()
        ax.set_title(f"payload {format_size(int(size))}", fontsize=10)
        ax.set_xlabel("producer processes")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("messages/s into one consumer\n(higher is better)")
    figure_legend(figure, axes)
    figure.suptitle(title, fontsize=11)
    return figure


def pool_sweep(cells, title: str) -> Figure | None:
    """Time per task vs payload size (log-log): a line per call (apply; map and imap by
    chunksize), a panel per start method, a row per number of pool workers."""
    if cells.empty:
        return None
    cells = one_placement(cells)
    methods = methods_in(cells)
    workers = sorted(cells["procs"].unique())
    lines = pool_lines(cells)
    line_colours = {label: f"C{i % 10}" for i, (label, _v, _c) in enumerate(lines)}
    figure, axes, _ = panels(
        len(methods),
        panel=(3.0, 2.2),
        left=1.05,  # two-line label beside five-digit ticks
        right=legend_width([label for label, _v, _c in lines]),
        wspace=0.15,
        rows=len(workers),
    )
    for ax in axes[1:]:
        ax.sharey(axes[0])
    sizes = sorted(cells["size_bytes"].unique())
    for number, ax in enumerate(axes):
        procs, method = workers[number // len(methods)], methods[number % len(methods)]
        subset = cells[(cells["procs"] == procs) & (cells["method"] == method)]
        for label, variant, chunksize in lines:
            line = subset[(subset["transport"] == variant) & (subset["chunksize"] == chunksize)]
            line = line.groupby("size_bytes")["median"].median()
            if not line.empty:
                ax.plot(
                    line.index,
                    line.to_numpy() * 1e6,
                    marker="o",
                    markersize=3,
                    color=line_colours[label],
                    label=label,
                )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        plain_log_ticks(ax)
        ax.set_xticks(sizes, [format_size(int(s)) for s in sizes], fontsize=8)
        ax.grid(True, which="major", alpha=0.3)
        ax.set_title(f"{method}, {procs} worker{'s' if procs > 1 else ''}", fontsize=10)
        if number % len(methods):
            ax.tick_params(labelleft=False)
        else:
            ax.set_ylabel("µs per task\n(lower is better)")
        if number >= len(axes) - len(methods):
            ax.set_xlabel("payload size")
    figure_legend(figure, axes)
    figure.suptitle(title, fontsize=11)
    return figure
