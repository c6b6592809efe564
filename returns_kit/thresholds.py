"""The thresholds rules use: defaults are the spec's, and a TOML file may change them."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any


class ConfigError(Exception):
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


def load_thresholds(path: Path | None) -> Thresholds:
    """Thresholds from a TOML file's ``[thresholds]`` table, the spec's defaults elsewhere.

    >>> load_thresholds(None).pb_rate_jump
    0.1
    """
    if path is None:
        return Thresholds()
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as problem:
        raise ConfigError(f"{path}: {problem}") from problem
    unknown = set(document) - {"thresholds"}
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    return thresholds_from_table(document.get("thresholds", {}), str(path))


def thresholds_from_table(table: dict[str, Any], path: str) -> Thresholds:
    """Thresholds from an already parsed ``[thresholds]`` table (also a collection.toml's);
    ``path`` names the file in the errors."""
    unknown = set(table) - {f.name for f in fields(Thresholds)}
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for item in fields(Thresholds):
        if item.name not in table:
            continue
        value = table[item.name]
        default = getattr(Thresholds(), item.name)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{path}: {item.name} must be a list of periods")
            value = tuple(value)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}: {item.name} must be a number")
        elif value < 0:
            raise ConfigError(f"{path}: {item.name} must not be negative")
        values[item.name] = type(default)(value)
    return replace(Thresholds(), **values)
