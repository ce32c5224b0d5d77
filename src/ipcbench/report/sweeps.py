"""The message loop's figures: latency and throughput against payload size, CPU against wall
time per message (a tidy frame in, a matplotlib Figure out)."""

from matplotlib.figure import Figure

from ipcbench import benches
from ipcbench.report.plot_kit import methods_in, panels
from ipcbench.sizes import format_size
from ipcbench.units import THROUGHPUT


def size_sweep(cells, ylabel: str, colours: dict[str, str], title: str) -> Figure | None:
    """A pattern's median vs payload size (log-log), a line per transport, a panel per start
    method: in µs (a latency: lower is better), or in MB/s where the pattern's unit is a
    throughput (higher is better); the shaded band is the 5th-95th percentile of the values.
    """
    if cells.empty:
        return None
    throughput = benches.pattern(cells["pattern"].iloc[0]).unit.reading == THROUGHPUT
    methods = methods_in(cells)
    figure, axes, _ = panels(len(methods), panel=(3.2, 2.6), left=0.8, right=1.8, wspace=0.12)
    for ax in axes[1:]:
        ax.sharey(axes[0])
        ax.tick_params(labelleft=False)
    several_placements = cells["placement"].nunique() > 1
    for ax, method in zip(axes, methods, strict=True):
        for (transport, placement), line in cells[cells["method"] == method].groupby(
            ["transport", "placement"]
        ):
            line = line.sort_values("size_bytes")
            x = line["size_bytes"].to_numpy()
            if throughput:
                y = (line["size_bytes"] / line["median"] / 1e6).to_numpy()
                low = (line["size_bytes"] / line["p95"] / 1e6).to_numpy()
                high = (line["size_bytes"] / line["p5"] / 1e6).to_numpy()
            else:
                y = (line["median"] * 1e6).to_numpy()
                low, high = (line["p5"] * 1e6).to_numpy(), (line["p95"] * 1e6).to_numpy()
            label = f"{transport} ({placement})" if several_placements else transport
            style = "--" if several_placements and placement != "split" else "-"
            ax.plot(x, y, style, marker="o", markersize=3, color=colours[transport], label=label)
            ax.fill_between(x, low, high, color=colours[transport], alpha=0.12, linewidth=0)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(f"start method: {method}", fontsize=10)
        ax.set_xlabel("payload size")
        sizes = sorted(cells["size_bytes"].unique())
        ax.set_xticks(sizes, [format_size(int(s)) for s in sizes], fontsize=8)
        ax.minorticks_off()
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel(ylabel)
    handles, labels = {}, []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    figure.legend(
        [handles[label] for label in labels], labels, loc="upper right", fontsize=9, frameon=False
    )
    figure.suptitle(title, fontsize=11)
    return figure


def cpu_vs_wall(frame, colours: dict[str, str], title: str) -> Figure | None:
    """CPU time per message against wall time per message, a point per cell, a panel per pattern.

    On the dotted line y = x the two processes together are busy for as long as the message
    takes; a transport far above it burns CPU (spinning, extra threads) that its latency hides.
    """
    cells = frame[frame["cpu_us_per_message"].notna()]
    patterns = [p for p in benches.PATTERNS if p in set(cells["pattern"])]
    if not patterns:
        return None
    figure, axes, _ = panels(len(patterns), panel=(3.4, 2.8), left=0.8, right=1.8, wspace=0.7)
    for ax, pattern in zip(axes, patterns, strict=True):
        subset = cells[cells["pattern"] == pattern]
        for transport, points in subset.groupby("transport"):
            ax.scatter(
                points["median"] * 1e6,
                points["cpu_us_per_message"],
                s=12,
                color=colours[transport],
                label=transport,
            )
        low = min(subset["median"].min() * 1e6, subset["cpu_us_per_message"].min())
        high = max(subset["median"].max() * 1e6, subset["cpu_us_per_message"].max())
        ax.plot([low, high], [low, high], ":", color="grey", linewidth=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(pattern, fontsize=10)
        ax.set_xlabel("wall time per message (µs)")
        ax.set_ylabel("CPU time per message (µs)")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper right", fontsize=9, frameon=False)
    figure.suptitle(title, fontsize=11)
    return figure
