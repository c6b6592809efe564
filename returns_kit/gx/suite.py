"""Planned expectations as GX objects, and a sheet's suite as JSON (``returns gx-suite``)."""

from __future__ import annotations

import json
from typing import Any

from returns_kit import __version__
from returns_kit.gx import engine
from returns_kit.gx.plan import FRAME_NOTES, Planned, sheet_plan


def expectation(planned: Planned) -> Any:
    """The GX expectation for one planned check, its rule and column in ``meta``."""
    classes = engine.expectations()
    kwargs: dict[str, Any] = dict(planned.kwargs)
    with engine.quiet():
        if planned.where_filled is not None:
            from great_expectations.expectations.row_conditions import Column

            kwargs["row_condition"] = Column(planned.where_filled).is_not_null()
        if planned.private:
            kwargs["result_format"] = "BOOLEAN_ONLY"
        meta: dict[str, Any] = {
            "rule": planned.rule,
            "column": planned.column,
            "check": planned.check,
        }
        if planned.private:
            meta["identifier"] = True
        return getattr(classes, planned.expectation)(**kwargs, meta=meta, severity=planned.severity)


def build_suite(sheet: str, context: Any = None) -> Any:
    """The ExpectationSuite of one sheet, built from its JSON Schema.

    GX builds suites only within a context: a new ephemeral one unless ``context`` is given.
    """
    gx = engine.gx()
    if context is None:
        context = engine.context()
    plan = sheet_plan(sheet)
    meta = {
        "returns_kit": {"version": __version__, "sheet": plan.sheet, "schema": plan.schema_id},
        "frame": {"columns": list(plan.columns), "notes": list(FRAME_NOTES)},
        "not_covered": [
            {"check": item.check, "rule": item.rule, "reason": item.reason}
            for item in plan.not_covered
        ],
    }
    with engine.quiet():
        suite = gx.ExpectationSuite(name=f"returns_kit.{plan.sheet.lower()}", meta=meta)
        for planned in plan.expectations:
            suite.add_expectation(expectation(planned))
    return suite


def _without_ids(value: Any) -> Any:
    """GX gives the suite and each expectation a random id; leave them out so that the
    export is the same on every run."""
    if isinstance(value, dict):
        return {key: _without_ids(item) for key, item in value.items() if key != "id"}
    if isinstance(value, list):
        return [_without_ids(item) for item in value]
    return value


def suite_document(sheet: str) -> dict[str, Any]:
    """The sheet's suite as GX serialises it (JSON-ready)."""
    suite = build_suite(sheet)
    with engine.quiet():
        document: dict[str, Any] = _without_ids(suite.to_json_dict())
    return document


def suite_json(sheet: str) -> str:
    return json.dumps(suite_document(sheet), indent=2, ensure_ascii=False) + "\n"
