"""What every report figure is made with: panels with margins in inches, one legend, one colour
per transport and per start method, PNG bytes.

Figures are built with `matplotlib.figure.Figure` directly, never pyplot: no global state and
no display. `savefig` renders them with the Agg canvas (PNG) or the SVG one, anywhere (CI, a
server without X), without switching the backend of a notebook that imports this module.
"""

import base64
import io

from matplotlib.figure import Figure

from ipcbench.cell import METHODS

DPI = 96


def transport_colours(transports) -> dict[str, str]:
    """One colour per transport, the same in every figure of a report."""
    palette = [f"C{index}" for index in range(10)]
    return {name: palette[i % len(palette)] for i, name in enumerate(sorted(set(transports)))}


def methods_in(frame) -> list[str]:
    present = set(frame["method"])
    return [m for m in METHODS if m in present] + sorted(present - set(METHODS))


METHOD_COLOURS = {"fork": "C0", "spawn": "C1", "forkserver": "C2", "exec": "C3", "none": "C7"}


METHOD_STYLES = {"fork": "-", "spawn": "--", "forkserver": ":", "exec": "-."}


def one_placement(cells):
    """Cells at one CPU placement (split where measured): two placements are two costs."""
    placement = "split" if "split" in set(cells["placement"]) else cells["placement"].iloc[0]
    return cells[cells["placement"] == placement]


def figure_legend(figure: Figure, axes) -> None:
    """One legend for all panels, each label once, in the order first drawn; in the right
    margin from the panels' top down, clear of the title above."""
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    right = max(ax.get_position().x1 for ax in axes)
    top = max(ax.get_position().y1 for ax in axes)
    figure.legend(
        list(handles.values()),
        list(handles),
        loc="upper left",
        bbox_to_anchor=(right + 0.1 / figure.get_figwidth(), top),
        fontsize=9,
        frameon=False,
    )


def short(value: float) -> str:
    """A tick label: `500k`, `1M`, `20`."""
    for factor, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= factor:
            return f"{value / factor:g}{suffix}"
    return f"{value:g}"


def legend_width(labels) -> float:
    """Inches for a figure legend of these labels (marker, gap and text at 9 pt)."""
    return 0.7 + label_width(labels, fontsize=9)


def plain_log_ticks(ax, text=lambda value: f"{value:g}") -> None:
    """Log-scale y ticks at 1, 2 and 5 per decade, written out (`20`, `500k`), not 2×10¹."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _position: text(value)))
    ax.yaxis.set_minor_locator(NullLocator())


def panels(
    count: int,
    panel: tuple[float, float],
    left: float,
    right: float,
    wspace: float | None = None,
    bottom: float = 0.65,
    top: float = 0.6,
    colorbar: bool = False,
    rows: int = 1,
):
    """`rows` rows of `count` axes with margins fixed in inches (the axes listed row by row),
    and the colour bar's axes if asked.

    matplotlib's constrained layout measures every tick label again and again; with a dozen
    figures per report that was most of the report's time. Fixed margins sized from the longest
    label are good enough for these few, regular figures.
    """
    panel_width, panel_height = panel
    panel_height = max(panel_height, 1.0)
    gap = left if wspace is None else wspace  # each panel carries its own row labels
    row_gap = 0.75  # room for the x labels and the next row's panel titles
    width = left + count * panel_width + (count - 1) * gap + right
    height = bottom + rows * panel_height + (rows - 1) * row_gap + top
    figure = Figure(figsize=(width, height), dpi=DPI)
    axes = figure.subplots(
        rows,
        count,
        squeeze=False,
        gridspec_kw={
            "left": left / width,
            "right": 1 - right / width,
            "bottom": bottom / height,
            "top": 1 - top / height,
            "wspace": gap / panel_width,
            "hspace": row_gap / panel_height,
        },
    ).ravel()
    colorbar_axes = None
    if colorbar:
        colorbar_axes = figure.add_axes(
            (1 - (right - 0.25) / width, bottom / height, 0.18 / width, 1 - (bottom + top) / height)
        )
    return figure, list(axes), colorbar_axes


def label_width(labels, fontsize: float = 10) -> float:
    """Inches taken by the longest tick label (a rough average glyph width is plenty)."""
    longest = max((len(str(label)) for label in labels), default=4)
    return 0.25 + longest * fontsize * 0.6 / 72


def png_data_uri(figure: Figure) -> str:
    """The figure as a `data:image/png;base64,...` URI, so the HTML needs no other file."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(figure)).decode("ascii")


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # zlib's fastest level: a fifth of the encoding time for a page about 8% larger, which
    # keeps a report of three full files within its 10 s.
    figure.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()
