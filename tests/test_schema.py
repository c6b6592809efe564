"""The JSON Schemas are valid 2020-12 documents and say what the spec says."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from returns_kit.schema import SCHEMA_FILES, load_schemas, sheet_specs
from tools.oracle import validator


@pytest.mark.parametrize("stem", SCHEMA_FILES)
def test_schema_is_valid_against_its_meta_schema(stem: str) -> None:
    Draft202012Validator.check_schema(load_schemas()[stem])


def test_refs_resolve_offline() -> None:
    row = {
        "age_band": "65+",
        "support_reason": "UNKNOWN",
        **{name: 0 for name in sheet_specs()["Budgets"].field_names[2:]},
    }
    assert list(validator("budgets").iter_errors(row)) == []
    assert [e.validator for e in validator("budgets").iter_errors({**row, "age_band": "x"})] == [
        "enum"
    ]


def test_sheets_and_code_lists_match_the_spec() -> None:
    specs = sheet_specs()
    assert list(specs) == ["About", "Budgets", "Services", "Clients", "Explanations"]
    assert [s.name for s in specs.values() if s.required] == ["About", "Budgets", "Services"]
    budgets = specs["Budgets"]
    ages, reasons = budgets.field("age_band"), budgets.field("support_reason")
    assert len(ages.codes) * len(reasons.codes) == 26
    assert dict(ages.codes) == {"18-64": "18 to 64", "65+": "65 and over"}
    assert specs["Services"].field("arrangement").code_list == (
        "BLOCK_CONTRACT",
        "SPOT_CONTRACT",
        "ISF",
        "DIRECT_PAYMENT",
    )
    assert specs["Clients"].field("budget_type").code_list == (
        "DP_SELF_MANAGED",
        "DP_PART",
        "THIRD_PARTY_MANAGED",
        "ISF",
        "COUNCIL_MANAGED",
        "NO_PERSONAL_BUDGET",
    )
    assert specs["Services"].field("gross_spend_gbp").kind == "money"
    assert specs["Clients"].field("client_ref").identifier
