"""Draw report.html in a second process, so the page costs an aggregate little wall time.

The process starts with the aggregate and imports matplotlib while the main process
validates (a rerun validates in one process, leaving the second core idle). When the
tables are ready it draws the page while the main process writes the tables, and hands
back the HTML. If the process cannot start or dies, the page is drawn here instead:
the report is never silently missing.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import polars as pl

from returns_kit.errors import ReturnsKitError

#: The tables the page is drawn from (the breakdowns are not shown; the findings are, on the
#: flagged councils' cards, and the client-level transitions, when the run has them).
PAGE_TABLES = (
    "manifest",
    "councils",
    "regions",
    "england",
    "flags",
    "findings",
    "transitions",
    "label_only",
)


class ReportError(ReturnsKitError):
    """report.html could not be drawn."""


def _serve(connection: Connection) -> None:
    """The second process: import the page's modules, then draw the one page asked for."""
    try:
        from returns_kit.html.aggregate_page import aggregate_page
    except BaseException:  # pragma: no cover - reported to the parent, which draws it itself
        connection.send(("failed", traceback.format_exc(limit=3)))
        return
    try:
        request = connection.recv()
    except EOFError:
        return  # the aggregate stopped before its tables were ready
    if request is None:
        return
    tables, series_breaks = request
    try:
        connection.send(("page", aggregate_page(tables, series_breaks=series_breaks)))
    except BaseException as problem:
        connection.send(("error", f"{type(problem).__name__}: {problem}"))


class BackgroundReport:
    """Start early with :meth:`start`; give it the tables with :meth:`draw`; take :meth:`page`."""

    def __init__(self) -> None:
        self._connection: Connection | None = None
        self._process: Any = None
        self._request: tuple[dict[str, pl.DataFrame], tuple[str, ...]] | None = None

    def start(self) -> BackgroundReport:
        try:
            # spawn, not fork (polars' threads) nor the validators' fork server (its
            # preload is set when the pool first starts it).
            context = get_context("spawn")
            parent, child = context.Pipe()
            process = context.Process(target=_serve, args=(child,), daemon=True)
            process.start()
            child.close()
        except OSError:
            return self  # no second process: the page is drawn in this one
        self._connection, self._process = parent, process
        return self

    def draw(self, tables: dict[str, pl.DataFrame], series_breaks: Sequence[str]) -> None:
        # With --publish there is no findings table (its messages quote counts): the cards
        # then show the flags alone.
        request = (
            {name: tables[name] for name in PAGE_TABLES if name in tables},
            tuple(series_breaks),
        )
        self._request = request
        if self._connection is not None:
            try:
                self._connection.send(request)
            except (OSError, ValueError):
                self._abandon()

    def page(self) -> str:
        """The drawn page: from the second process, or drawn here if that failed."""
        if self._request is None:
            raise ReportError("no tables were given to draw the report from")
        if self._connection is not None:
            try:
                kind, payload = self._connection.recv()
            except (EOFError, OSError):
                kind, payload = "failed", "the report process stopped"
            self._abandon()
            if kind == "page":
                return str(payload)
            if kind == "error":
                raise ReportError(str(payload))
        from returns_kit.html.aggregate_page import aggregate_page

        tables, series_breaks = self._request
        try:
            return aggregate_page(tables, series_breaks=series_breaks)
        except Exception as problem:
            raise ReportError(f"{type(problem).__name__}: {problem}") from problem

    def writer(self) -> Callable[[Path], None]:
        """An extra output for :func:`returns_kit.aggregate.write.write_outputs`."""
        from returns_kit.html.aggregate_page import REPORT_NAME
        from returns_kit.html.render import write_page

        def write(folder: Path) -> None:
            write_page(self.page(), folder / REPORT_NAME)

        return write

    def close(self) -> None:
        """Stop the process if it is still there (the aggregate failed before drawing)."""
        if self._connection is not None:
            try:
                self._connection.send(None)
            except (OSError, ValueError):
                pass
        self._abandon()

    def _abandon(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._process is not None:
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.kill()
            self._process = None
