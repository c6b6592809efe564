"""The thresholds rules use; defaults are the spec's, and a user may change them."""

from __future__ import annotations

from dataclasses import dataclass


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
