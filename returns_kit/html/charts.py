"""Charts for the HTML reports: matplotlib figures rendered to static SVG, inline in the page.

Every chart is a string of SVG that needs nothing from outside the page: text stays text
(``svg.fonttype: none``) in the reader's own sans-serif font, nothing is fetched, and it
prints as it shows. The output is byte-for-byte repeatable (a fixed hash salt, no date),
so an aggregate's report.html is as deterministic as its tables.

Text in a chart is council, region and period names. matplotlib escapes it as XML; its
``$...$`` maths parsing is switched off so a name can never be read as markup of any kind.
"""

from __future__ import annotations

import html
import io
import re
import textwrap
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

#: Settings for every chart, applied only while it is drawn (the caller's matplotlib is left
#: as it was).
STYLE: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "returns_kit",
    "text.parse_math": False,
    "text.usetex": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    # Sizes in points; the page shows every chart at about its drawn size or larger, so text
    # is at least 11 px on screen (tests/test_browser.py measures it).
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.edgecolor": "#555555",
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "legend.frameon": False,
    "legend.fontsize": 9,
    "savefig.transparent": False,
}

ENGLAND_COLOUR = "#000000"
#: Okabe-Ito and Tableau tones: distinguishable by most colour-blind readers, and paired
#: with markers and labels, never colour alone.
REGION_COLOURS = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#8C564B",
    "#7F7F7F",
    "#BCBD22",
    "#17BECF",
)
REGION_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


@dataclass(frozen=True)
class Series:
    """One line: a label and a value (or None, a gap) for each period of the chart."""

    label: str
    values: Sequence[float | None]
    colour: str = ENGLAND_COLOUR
    width: float = 1.2
    dashes: str = "-"
    marker: str | None = None


@dataclass(frozen=True)
class Point:
    """One council in a spread chart: its period's position, value and region."""

    period_index: int
    value: float
    group: int  #: index into the chart's groups (regions)
    key: str  #: stable key for the jitter, so the same council sits in the same place


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        yield


def percent_axis(axes: Any, top: float | None = None) -> None:
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0%}"))
    axes.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    axes.set_ylim(0, top if top is not None else None)


def _period_axis(axes: Any, periods: Sequence[str], breaks: Sequence[str] = ()) -> None:
    axes.set_xticks(range(len(periods)), list(periods))
    axes.set_xlim(-0.5, len(periods) - 0.5)
    if len(periods) > 6:
        axes.tick_params(axis="x", labelrotation=45)
    for name in breaks:
        if name in periods and periods.index(name) > 0:
            position = periods.index(name) - 0.5
            axes.axvline(position, color="#888888", linewidth=0.8, linestyle=":")
            axes.annotate(
                "series break",
                (position, 1),
                xycoords=("data", "axes fraction"),
                xytext=(2, -2),
                textcoords="offset points",
                fontsize=8.5,
                color="#555555",
                va="top",
            )


def _margins(figure: Figure, *, rotated: bool, title_lines: int = 1) -> None:
    """Fixed margins in inches: matplotlib's tight_layout would draw every chart twice."""
    width, height = figure.get_size_inches()
    if title_lines > 1:  # the chart grows to keep its plot the same height
        height += 0.18 * (title_lines - 1)
        figure.set_size_inches(width, height)
    right = 0.15
    below = 0.75 if rotated else 0.4
    figure.subplots_adjust(
        left=0.55 / width,
        right=1 - right / width,
        bottom=below / height,
        top=1 - (0.3 + 0.18 * (title_lines - 1)) / height,
    )


def _title(axes: Any, figure: Figure, title: str) -> int:
    """Set the chart's title, wrapped to the chart's width; the number of lines it takes."""
    width = figure.get_size_inches()[0]
    # A bold character is about 0.62 of the font size wide; the title starts 0.55 in from
    # the left edge (the axes), and must end before the right one.
    per_line = int((width - 0.6) * 72 / (0.62 * matplotlib.rcParams["axes.titlesize"]))
    lines = textwrap.wrap(title, max(per_line, 20)) or [""]
    axes.set_title("\n".join(lines), loc="left")
    return len(lines)


def _top(values: Sequence[float | None], floor: float = 0.1) -> float:
    present = [v for v in values if v is not None]
    highest = max(present, default=floor)
    return min(1.0, max(floor, highest * 1.15))


def line_chart(
    title: str,
    periods: Sequence[str],
    series: Sequence[Series],
    *,
    breaks: Sequence[str] = (),
    size: tuple[float, float] = (6.4, 2.8),
) -> str:
    """Rates over time, one line a series; None values leave a gap.

    No legend inside the chart: the page shows one key in HTML for all charts that share
    their colours, which is quicker to draw and easier to read than a legend on each.
    """
    with _style():
        figure = Figure(figsize=size)
        axes = figure.add_subplot()
        for line in series:
            xs = range(len(periods))
            ys = [float("nan") if v is None else v for v in line.values]
            axes.plot(
                xs,
                ys,
                color=line.colour,
                linewidth=line.width,
                linestyle=line.dashes,
                marker=line.marker,
                markersize=4.5,
                label=line.label,
            )
        _period_axis(axes, periods, breaks)
        percent_axis(axes, _top([v for line in series for v in line.values]))
        lines = _title(axes, figure, title)
        _margins(figure, rotated=len(periods) > 6, title_lines=lines)
        return to_svg(figure, title)


def spread_chart(
    title: str,
    periods: Sequence[str],
    groups: Sequence[str],
    points: Sequence[Point],
    medians: Sequence[float | None],
    *,
    breaks: Sequence[str] = (),
    size: tuple[float, float] = (6.4, 3.2),
) -> str:
    """Every council as a point in its period's column, coloured by region, with the median.

    Its key (region colours and markers) is the page's, in HTML, as for :func:`line_chart`.
    """
    with _style():
        figure = Figure(figsize=size)
        axes = figure.add_subplot()
        for index, group in enumerate(groups):
            mine = [point for point in points if point.group == index]
            if not mine:
                continue
            axes.scatter(
                [point.period_index + _jitter(point.key) for point in mine],
                [point.value for point in mine],
                s=9,
                color=REGION_COLOURS[index % len(REGION_COLOURS)],
                marker=REGION_MARKERS[index % len(REGION_MARKERS)],
                alpha=0.8,
                linewidths=0,
                label=group,
            )
        for index, median in enumerate(medians):
            if median is not None:
                axes.hlines(median, index - 0.4, index + 0.4, color=ENGLAND_COLOUR, linewidth=1.4)
        _period_axis(axes, periods, breaks)
        percent_axis(axes, _top([point.value for point in points]))
        lines = _title(axes, figure, title)
        _margins(figure, rotated=len(periods) > 6, title_lines=lines)
        return to_svg(figure, title)


def _jitter(key: str) -> float:
    """A spread of ±0.3 within the column, fixed by the key (no random state)."""
    return (zlib.crc32(key.encode("utf-8")) % 1000) / 1000 * 0.6 - 0.3


def stacked_bars(
    title: str,
    bars: Sequence[str],
    parts: Sequence[str],
    shares: Sequence[Sequence[float]],
    *,
    size: tuple[float, float] = (6.4, 1.6),
) -> str:
    """Horizontal bars of 100%, one a return, split into its parts (budget types), with the
    key beside the bars."""
    with _style():
        figure = Figure(figsize=(size[0], max(size[1], 0.6 + 0.4 * len(bars))))
        axes = figure.add_subplot()
        left = [0.0] * len(bars)
        for index, part in enumerate(parts):
            widths = [row[index] for row in shares]
            axes.barh(
                range(len(bars)),
                widths,
                left=left,
                color=REGION_COLOURS[index % len(REGION_COLOURS)],
                label=part,
                height=0.6,
            )
            left = [a + b for a, b in zip(left, widths, strict=True)]
        axes.set_yticks(range(len(bars)), list(bars))
        axes.invert_yaxis()
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0%}"))
        axes.set_xlim(0, 1)
        axes.grid(False)
        axes.set_title(title, loc="left")
        width, height = figure.get_size_inches()
        axes.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), ncol=1)
        figure.subplots_adjust(
            left=0.8 / width, right=1 - 2.75 / width, top=1 - 0.35 / height, bottom=0.35 / height
        )
        return to_svg(figure, title)


_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
_IDS = re.compile(r'(\bid="|url\(#|href="#)([A-Za-z_][\w.:-]*)')
_SIZE = re.compile(r'<svg([^>]*?) width="([\d.]+)pt" height="[^"]*"')


def to_svg(figure: Figure, title: str) -> str:
    """The figure as an inline <svg> element: titled for screen readers, ids made unique."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = _PROLOGUE.sub("", buffer.getvalue(), count=1)
    svg = _METADATA.sub("", svg, count=1)  # matplotlib's RDF: of no use inside a page
    # Several charts share one page: prefix every id (and reference to one) with a key of
    # this chart's own content, so no two charts' clip paths can collide.
    prefix = f"c{zlib.crc32(svg.encode('utf-8')):08x}-"
    svg = _IDS.sub(lambda match: f"{match.group(1)}{prefix}{match.group(2)}", svg)
    # The page may scale a chart up, but never below the size it was drawn at (points as
    # CSS pixels, 4/3 a point) while the screen has room: its text stays readable (9 pt,
    # 12 px), on a narrow screen too.
    svg = _SIZE.sub(
        lambda match: (
            f'<svg{match.group(1)} class="chart" role="img" '
            f'style="min-width: min(100%, {float(match.group(2)) * 4 / 3:.0f}px)"'
        ),
        svg,
        count=1,
    )
    opening_end = svg.index(">") + 1
    return f"{svg[:opening_end]}<title>{html.escape(title)}</title>{svg[opening_end:]}"


@dataclass(frozen=True)
class FunnelPoint:
    """One council in a funnel chart: its size (the x), its value, how far out it is."""

    size: float
    value: float
    #: 0 inside the 95% limits, 1 outside them, 2 outside the 99.8% limits too
    outside: int
    #: drawn beside the point (the flagged councils); None: not labelled
    label: str | None = None


#: Where a flagged council's name goes, in points from it: the four corners in turn.
LABEL_OFFSETS = ((4, 3), (4, -4), (-4, 3), (-4, -4))
#: A funnel's points by how far out they are: colour, marker and size, never colour alone.
FUNNEL_POINTS = (
    ("#7F7F7F", "o", 10),
    ("#E69F00", "^", 22),
    ("#B00020", "D", 22),
)


def funnel_chart(
    title: str,
    points: Sequence[FunnelPoint],
    target: float,
    curves: Sequence[tuple[float, float, float, float, float]],
    *,
    x_label: str,
    change: bool = False,
    size: tuple[float, float] = (6.4, 3.6),
) -> str:
    """Councils as points against their size, the target as a black line, the 95% limits
    dashed and the 99.8% limits solid; ``curves`` are rows of (size, lower 95%, upper 95%,
    lower 99.8%, upper 99.8%), ascending in size. ``change``: the values are changes
    between two rates (an axis in points), else rates (an axis in per cent)."""
    with _style():
        figure = Figure(figsize=size)
        axes = figure.add_subplot()
        axes.grid(True, axis="both")
        xs = [row[0] for row in curves]
        for column, style in ((1, "--"), (2, "--"), (3, "-"), (4, "-")):
            axes.plot(
                xs, [row[column] for row in curves], color="#555555", linewidth=0.9, linestyle=style
            )
        if xs:
            axes.hlines(target, xs[0], xs[-1], color=ENGLAND_COLOUR, linewidth=1.4)
        for level, (colour, marker, area) in enumerate(FUNNEL_POINTS):
            mine = [point for point in points if point.outside == level]
            if mine:
                axes.scatter(
                    [point.size for point in mine],
                    [point.value for point in mine],
                    s=area,
                    color=colour,
                    marker=marker,
                    linewidths=0,
                    zorder=3,
                )
        labelled = sorted(
            ((p.label, p) for p in points if p.label is not None), key=lambda item: item[1].size
        )
        for index, (label, point) in enumerate(labelled):
            # Neighbours in size take turns at the four corners of their points, so that the
            # names of councils close together overlap less.
            dx, dy = LABEL_OFFSETS[index % len(LABEL_OFFSETS)]
            axes.annotate(
                label,
                (point.size, point.value),
                xytext=(dx, dy),
                textcoords="offset points",
                ha="left" if dx > 0 else "right",
                va="bottom" if dy > 0 else "top",
                fontsize=8,
                color="#1b1b1b",
            )
        sizes = [point.size for point in points] + xs
        if sizes and max(sizes) > 20 * max(min(sizes), 1e-9):
            axes.set_xscale("log")
            # 1, 2 and 5 in each decade, labelled: a funnel's councils span one or two.
            axes.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            axes.xaxis.set_minor_formatter(NullFormatter())
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        axes.set_xlabel(x_label)
        # Steps of 1, 2 or 5 (points or per cent): a tick never falls between two labels.
        axes.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
        if change:
            axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value * 100:+.0f}"))
            axes.set_ylabel("change (points)")
        else:
            axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0%}"))
        # The y range takes in every point and the limits where most councils are: the limits
        # of the smallest few councils (two islands of 50 people) are let run off the chart.
        ordered = sorted(point.size for point in points)
        from_size = ordered[len(ordered) // 4] if ordered else 0.0
        values = [point.value for point in points] + [
            row[c] for row in curves if row[0] >= from_size for c in (3, 4)
        ]
        if values:
            low, high = min(values), max(values)
            pad = max(high - low, 0.01) * 0.1
            low, high = low - pad, high + pad
            if not change:  # a rate: a little room past 0% and 100% for the markers
                low, high = max(low, -0.03), min(high, 1.03)
            axes.set_ylim(low, high)
        lines = _title(axes, figure, title)
        width, height = figure.get_size_inches()
        height += 0.18 * (lines - 1)
        figure.set_size_inches(width, height)
        figure.subplots_adjust(
            left=0.75 / width,
            right=1 - 0.2 / width,
            bottom=0.6 / height,
            top=1 - (0.3 + 0.18 * (lines - 1)) / height,
        )
        return to_svg(figure, title)
