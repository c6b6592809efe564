"""Rules on the About sheet: who sent the return and for which period (A002-A005).

A001 and the malformed-period half of A004 are declared in the About schema
(``x-rule``) and so come from the compiled checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from returns_kit.findings import Finding
from returns_kit.privacy import shown
from returns_kit.reference import FIRST_PERIOD, names_match
from returns_kit.rules.catalogue import finding
from returns_kit.rules.context import ReturnContext


def _at(context: ReturnContext, name: str) -> dict[str, Any]:
    about = context.sheet("About")
    where = about.about_cell(name) if about else None
    if where is None:
        return {"sheet": "About", "column": name}
    row, cell = where
    return {"sheet": "About", "cell": cell, "row": row, "column": name}


def council_in_period(context: ReturnContext) -> Iterator[Finding]:
    code = context.about.get("council_code")
    if code is None:
        return
    council = context.reference.lookup(code)
    period = context.period
    if council is None:
        yield finding(
            "A002", {"council_code": code}, variant="unknown", **_at(context, "council_code")
        )
    elif period is not None and period >= FIRST_PERIOD and not council.active_in(period):
        yield finding(
            "A002",
            {"council_code": code, "council_name": council.name, "period": str(period)},
            variant="inactive",
            **_at(context, "council_code"),
        )


def council_name_matches(context: ReturnContext) -> Iterator[Finding]:
    name = context.about.get("council_name")
    council = context.council
    if name is None or council is None or names_match(name, council.name):
        return
    yield finding(
        "A003",
        {
            "council_name": shown(name),
            "reference_name": council.name,
            "council_code": council.gss_code,
        },
        **_at(context, "council_name"),
    )


def period_ended(context: ReturnContext) -> Iterator[Finding]:
    written = context.about.get("period")
    if written is not None and context.period is None:
        # The schema's pattern checks the form YYYY-YY; the years must also be consecutive.
        yield finding(
            "A004",
            {"period": written},
            variant="not_a_financial_year",
            **_at(context, "period"),
        )
    submitted = context.about.get("submitted_on")
    if context.period is None or submitted is None:
        return
    if submitted <= context.period.snapshot:
        yield finding(
            "A004",
            {
                "submitted_on": submitted.isoformat(),
                "period": str(context.period),
                "snapshot": context.period.snapshot.isoformat(),
            },
            variant="submitted_before_end",
            **_at(context, "submitted_on"),
        )


def period_in_reference(context: ReturnContext) -> Iterator[Finding]:
    if context.period is not None and context.period < FIRST_PERIOD:
        yield finding(
            "A005",
            {"period": str(context.period), "first_period": str(FIRST_PERIOD)},
            **_at(context, "period"),
        )
