"""The page renderer: Jinja2 templates that escape every value unless we marked it safe.

Autoescaping is on for every template, so nothing that came from a workbook (a sheet
name, a value quoted in a finding, a file name) can become HTML. Only the charts are
marked safe: they are SVG that returns_kit drew, with their text escaped by matplotlib.
"""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from returns_kit import __version__


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
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.resolve().parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(page)
        # mkstemp makes the file private; a report is an ordinary file, as open() would make it.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
