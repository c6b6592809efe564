"""The page renderer: Jinja2 templates that escape every value unless we marked it safe.

Autoescaping is on for every template, so nothing that came from a workbook (a sheet
name, a value quoted in a finding, a file name) can become HTML. Only the charts are
marked safe: they are SVG that returns_kit drew, with their text escaped by matplotlib.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from returns_kit import __version__
from returns_kit.atomic import write_atomically


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}%}"


def points(change: float | None) -> str:
    """A change between two rates, in percentage points with its sign."""
    return "–" if change is None else f"{change * 100:+.1f} points"


def number(value: int | float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("returns_kit.html", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(percent=percent, points=points, number=number)
    env.globals["version"] = __version__
    return env


def chart(svg: str) -> Markup:
    """An SVG string from :mod:`returns_kit.html.charts`, trusted as drawn by us."""
    return Markup(svg)


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def write_page(page: str, path: Path) -> None:
    """Write beside the destination, then rename: a reader never sees half a page."""
    write_atomically(Path(path), lambda temporary: _write_text(temporary, page))


def _write_text(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(text)
