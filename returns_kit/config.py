"""What a run can be set to: the rules' thresholds (the spec's defaults, which a TOML file may
change) and the size limits past which a file is refused before it is parsed (F003)."""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from returns_kit.errors import ReturnsKitError
from returns_kit.periods import Period


class ConfigError(ReturnsKitError):
    """The configuration file cannot be used."""


@dataclass(frozen=True)
class Thresholds:
    #: S005: spend per person a year below this is queried (£)
    spend_per_person_min: float = 100.0
    #: S005: spend per person a year above this is queried (£)
    spend_per_person_max: float = 500_000.0
    #: C007: share of council-managed budgets that are nominal above which it is queried
    nominal_share_max: float = 0.20
    #: explanations shorter than this do not count
    explanation_min_chars: int = 20
    #: P001: a rise in the personal budget rate of at least this (0.10 = 10 points)
    pb_rate_jump: float = 0.10
    #: P002: the choice rate moved by less than this
    choice_rate_stable: float = 0.02
    #: P002: the service x arrangement mix moved by less than this total variation distance
    service_shift_max: float = 0.05
    #: P002: the block-contract share moved by less than this
    block_share_stable: float = 0.03
    #: P003: at least this many clients relabelled
    relabelled_clients_min: int = 50
    #: P003: weekly cost within this share of the previous period's
    relabel_cost_tolerance: float = 0.05
    #: P004: people_total changed by more than this share
    people_total_change_max: float = 0.25
    #: P005: periods whose figures are not comparable with the period before
    series_breaks: tuple[str, ...] = ("2014-15", "2024-25")
    #: P010: Hidiroglou-Berthelot C, quartile distances from the median to the cut-offs
    hb_c: float = 7.0
    #: P010: Hidiroglou-Berthelot U, the size effect's exponent (0 ignores council size)
    hb_u: float = 0.5
    #: P010: Hidiroglou-Berthelot A, the least quartile distance, a share of the median effect
    hb_a: float = 0.05
    #: P011: a count changed by at least this factor (2: doubled or halved)
    count_move_ratio: float = 2.0
    #: P011: while the related count moved the other way by at least this factor
    count_related_ratio: float = 1.25
    #: P011, P012: counts whose larger value is below this are not screened (noise)
    count_screen_min: int = 50
    #: P012: a count at least this factor away from the council's own previous years
    out_of_line_ratio: float = 2.0


#: Thresholds that are shares or rates: 0.15 means 15%, or 15 points of a rate.
SHARES = frozenset(
    {
        "nominal_share_max",
        "pb_rate_jump",
        "choice_rate_stable",
        "service_shift_max",
        "block_share_stable",
        "relabel_cost_tolerance",
        "people_total_change_max",
        "hb_a",
    }
)
#: Thresholds that are factors, more than 1 (2 means doubled or halved).
FACTORS = frozenset({"count_move_ratio", "out_of_line_ratio"})


def load_thresholds(path: Path | None) -> Thresholds:
    """Thresholds from a TOML file's ``[thresholds]`` table, the spec's defaults elsewhere.

    Every value is checked, so that a slip (``pb_rate_jump = 15`` meant as 15 points)
    is a usage error rather than a rule silently switched off.

    >>> load_thresholds(None).pb_rate_jump
    0.1
    """
    if path is None:
        return Thresholds()
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; --config takes a TOML file.")
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as problem:
        raise ConfigError(f"{path} is not a readable TOML file: {problem}") from problem
    return thresholds_from(document, str(path))


def thresholds_from(document: dict[str, Any], source: str = "config") -> Thresholds:
    """Thresholds from a parsed TOML document; :class:`ConfigError` names the first bad entry.

    >>> thresholds_from({"thresholds": {"nominal_share_max": 0.25}}).nominal_share_max
    0.25
    >>> try:
    ...     thresholds_from({"thresholds": {"pb_rate_jump": 15}})
    ... except ConfigError as problem:
    ...     print(problem)
    config: pb_rate_jump = 15 is a share, between 0 and 1 (0.15 means 15%)
    """
    for key in document:
        if key != "thresholds":
            close = difflib.get_close_matches(key, ["thresholds"], n=1, cutoff=0.6)
            hint = "did you mean [thresholds]?" if close else "only [thresholds] is read."
            raise ConfigError(f"{source}: unknown table or key {key!r}; {hint}")
    table = document.get("thresholds", {})
    if not isinstance(table, dict):
        raise ConfigError(
            f"{source}: thresholds = {_shown(table)} must be a table: write [thresholds] and "
            "one setting a line under it."
        )
    names = [item.name for item in fields(Thresholds)]
    for key in table:
        if key not in names:
            raise ConfigError(f"{source}: unknown setting {key!r}{_nearest(key, names)}")
    defaults = Thresholds()
    values = {
        name: _checked(name, table[name], getattr(defaults, name), source)
        for name in names
        if name in table
    }
    loaded = replace(defaults, **values)
    if loaded.spend_per_person_min > loaded.spend_per_person_max:
        raise ConfigError(
            f"{source}: spend_per_person_min = {_shown(loaded.spend_per_person_min)} is above "
            f"spend_per_person_max = {_shown(loaded.spend_per_person_max)}"
        )
    return loaded


def _checked(name: str, value: Any, default: Any, source: str) -> Any:
    where = f"{source}: {name} = {_shown(value)}"
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f'{where} must be a list of periods, e.g. ["2014-15"]')
        periods = []
        for text in value:
            period = Period.parse(text)
            if period is None:
                raise ConfigError(f'{where}: "{text}" is not a period; write it as 2014-15')
            periods.append(str(period))
        return tuple(periods)
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number, e.g. {default}")
        if value < 0:
            raise ConfigError(f"{where} must not be negative")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ConfigError(f"{where} must be a number, e.g. {default}")
    if name in SHARES and not 0 <= value <= 1:
        raise ConfigError(f"{where} is a share, between 0 and 1 (0.15 means 15%)")
    if name == "hb_u" and not 0 <= value <= 1:
        raise ConfigError(f"{where} is an exponent between 0 and 1 (0 ignores council size)")
    if name in FACTORS and not value > 1:
        raise ConfigError(f"{where} is a factor, more than 1 (2 means doubled or halved)")
    if name == "count_related_ratio" and not value >= 1:
        raise ConfigError(f"{where} is a factor, at least 1 (1.25 means a quarter up)")
    if value < 0 or value == float("inf"):
        raise ConfigError(f"{where} must be a finite number, not negative")
    return float(value)


def _shown(value: Any) -> str:
    """A value as it would be written in TOML, cut short: the line names what was given."""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, str):
        text = f'"{value}"'
    elif isinstance(value, list):
        text = "[" + ", ".join(_shown(v) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{...}"
    else:
        text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _nearest(key: str, names: list[str]) -> str:
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; the settings are {', '.join(names)}"


@dataclass(frozen=True)
class Limits:
    """How big a file may be before it is refused (rule F003)."""

    max_file_bytes: int = 50 * 1024 * 1024  #: "50 MB on disk"
    max_uncompressed_bytes: int = 500 * 1024 * 1024  #: "500 MB uncompressed", all members
    max_members: int = 10_000  #: files inside the zip
    #: cells in the rectangle from a sheet's first to its last cell: calamine allocates it
    #: whole, and aborts the process (no exception) when it cannot. An .ods's sheets count
    #: together, repeated rows and columns included: calamine builds them all as it opens it.
    max_sheet_cells: int = 20_000_000
    #: rows in a sheet as calamine reads it (Excel's own maximum), checked once it is read
    max_rows: int = 1_048_576
