"""``DIR/collection.toml``: what a collection is (name, periods, councils, deadlines, thresholds).

Plain Python (no Django), so a collection's settings can be read and checked anywhere.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from returns_kit.config import ConfigError, Thresholds, thresholds_from
from returns_kit.errors import ReturnsKitError
from returns_kit.periods import Period
from returns_kit.reference import Reference

FILE = "collection.toml"


class CollectionError(ReturnsKitError):
    """The collection folder or its settings cannot be used (a usage problem)."""


@dataclass(frozen=True)
class CollectionConfig:
    name: str
    periods: tuple[str, ...]
    #: the councils expected in every period; empty means every council active in the period
    councils: tuple[str, ...] = ()
    soft_deadline: date | None = None
    #: the hard close: submissions received after this day (UTC) are refused unless reopened
    close: date | None = None
    #: publication uses signed-off returns only
    publish_needs_signoff: bool = False
    #: "sqlite" or "postgresql": where the ledger is, so that a command run without the
    #: database URL does not start an empty SQLite ledger beside a PostgreSQL one
    database: str = "sqlite"
    thresholds: Thresholds = field(default_factory=Thresholds)
    thresholds_table: dict[str, Any] = field(default_factory=dict)

    def expected(self, period: str, reference: Reference) -> list[str]:
        """The GSS codes expected to send a return for ``period``."""
        parsed = Period.parse(period)
        assert parsed is not None
        if self.councils:
            return sorted(self.councils)
        return sorted(council.gss_code for council in reference.active(parsed))

    def to_toml(self) -> str:
        lines = [
            "# A returns_kit collection. `returns collect --help` lists its commands;",
            "# docs/collections.md explains them. The ledger itself is a database:",
            "# ledger.sqlite3 beside this file, or the PostgreSQL named by --database-url.",
            "",
            "[collection]",
            f"name = {_string(self.name)}",
            f"periods = [{', '.join(_string(p) for p in self.periods)}]",
        ]
        if self.councils:
            lines.append(f"councils = [{', '.join(_string(c) for c in self.councils)}]")
        else:
            lines.append("# councils: every council active in each period (the reference list)")
        if self.soft_deadline:
            lines.append(f"soft_deadline = {self.soft_deadline.isoformat()}")
        if self.close:
            lines.append(f"close = {self.close.isoformat()}")
        lines.append(f"publish_needs_signoff = {'true' if self.publish_needs_signoff else 'false'}")
        lines.append(f"database = {_string(self.database)}")
        lines += ["", "# Thresholds the rules use (docs/configuration.md); empty: the spec's.", ""]
        lines.append("[thresholds]")
        for key, value in sorted(self.thresholds_table.items()):
            lines.append(f"{key} = {json.dumps(value)}")
        return "\n".join(lines) + "\n"


def _string(text: str) -> str:
    # A JSON string is a valid TOML basic string (the same escapes).
    return json.dumps(text, ensure_ascii=False)


def parse_periods(text: str) -> tuple[str, ...]:
    periods = []
    for item in text.split(","):
        parsed = Period.parse(item.strip())
        if parsed is None:
            raise CollectionError(f"{item.strip()!r} is not a period like 2013-14.")
        periods.append(str(parsed))
    if len(set(periods)) != len(periods):
        raise CollectionError("a period is named twice in --periods.")
    return tuple(sorted(periods))


def parse_councils(text: str, reference: Reference) -> tuple[str, ...]:
    codes = []
    for item in text.split(","):
        council = reference.lookup(item.strip())
        if council is None:
            raise CollectionError(f"{item.strip()!r} is not a council on the reference list.")
        codes.append(council.gss_code)
    return tuple(sorted(set(codes)))


def load(folder: Path) -> CollectionConfig:
    path = folder / FILE
    if not path.is_file():
        raise CollectionError(
            f"{folder} is not a collection (no {FILE}); start one with `returns collect init`."
        )
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as problem:
        raise CollectionError(f"{path}: {problem}") from problem
    table = document.get("collection", {})
    known = {
        "name", "periods", "councils", "soft_deadline", "close", "publish_needs_signoff",
        "database",
    }  # fmt: skip
    unknown = set(document) - {"collection", "thresholds"} | set(table) - known
    if unknown:
        raise CollectionError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    try:
        name = table["name"]
        periods = parse_periods(",".join(table["periods"]))
    except (KeyError, TypeError) as problem:
        raise CollectionError(f"{path}: [collection] needs name and periods") from problem
    for key in ("soft_deadline", "close"):
        if key in table and not isinstance(table[key], date):
            raise CollectionError(f"{path}: {key} must be a date like 2026-06-30")
    try:
        thresholds = thresholds_from({"thresholds": document.get("thresholds", {})}, str(path))
    except ConfigError as problem:
        raise CollectionError(str(problem)) from problem
    return CollectionConfig(
        name=str(name),
        periods=periods,
        councils=tuple(table.get("councils", ())),
        soft_deadline=table.get("soft_deadline"),
        close=table.get("close"),
        publish_needs_signoff=bool(table.get("publish_needs_signoff", False)),
        database=str(table.get("database", "sqlite")),
        thresholds=thresholds,
        thresholds_table=dict(document.get("thresholds", {})),
    )
