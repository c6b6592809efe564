"""Identifiers are recognised the same way everywhere and never reach any output."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from returns_kit.cli import cli
from returns_kit.privacy import (
    identifier_kind,
    identifier_kind_expr,
    identifier_rows,
    nhs_number_valid,
    shown,
)

from .conftest import FIXTURES, examples

NHS_NUMBER = "9434765919"  # planted as a client_ref in fixtures/invalid/C001.xlsx


def test_c001_never_repeats_the_identifier() -> None:
    path = FIXTURES / "invalid" / "C001.xlsx"
    for output_format in ("text", "json"):
        result = CliRunner().invoke(cli, ["validate", str(path), "--format", output_format])
        assert "C001" in result.output
        assert NHS_NUMBER not in result.output
        assert "943 476 5919" not in result.output


def test_known_identifiers() -> None:
    assert nhs_number_valid(NHS_NUMBER)
    assert identifier_kind("943 476 5919") == "an NHS number"
    assert identifier_kind("jo.bloggs@example.com") == "an email address"
    assert identifier_kind("SW1A 1AA") == identifier_kind("sw1a1aa") == "a postcode"
    assert identifier_kind("CL00012345") is None
    assert identifier_kind("PRV0123") is None


def test_shown_withholds_anything_identifying() -> None:
    assert shown("twelve") == '"twelve"'
    assert shown("CL00012345", identifier=True) == "(value not shown)"
    assert shown("jo@example.com") == "(value not shown)"
    assert shown("SW1A 1AA") == "(value not shown)"
    assert shown("0123 456 789") == "(value not shown)"
    assert len(shown("x" * 500)) < 50


refs = st.one_of(
    st.text(st.sampled_from("0123456789 -\u00a0\x1f\t"), min_size=8, max_size=14),
    st.from_regex(r"\A[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\Z"),
    st.emails(),
    st.text(max_size=20),
)


# Each example costs a few polars calls whatever its length, and Hypothesis keeps lists
# short (300 lists of up to 30 held about 1,700 values): 70 examples, a third of them short
# lists and the rest of 25 to 60 values, check as many values in a quarter of the time.
@pytest.mark.full_examples
@settings(max_examples=examples(70), deadline=None)
@given(st.one_of(st.lists(refs, min_size=1, max_size=5), st.lists(refs, min_size=25, max_size=60)))
def test_vectorised_detection_agrees_with_scalar(values: list[str]) -> None:
    frame = pl.DataFrame({"ref": values}).with_row_index("_row")
    vectorised = frame.select(identifier_kind_expr("ref")).to_series().to_list()
    assert vectorised == [identifier_kind(value) for value in values]
    # The rule runs the full check only on values passing a cheap filter: it must lose none.
    found = identifier_rows(frame, "ref")
    assert dict(zip(found["_row"], found["_kind"], strict=True)) == {
        i: kind for i, value in enumerate(values) if (kind := identifier_kind(value))
    }


def test_json_output_of_every_fixture_holds_no_identifier(tmp_path: Path) -> None:
    for path in sorted([*FIXTURES.glob("valid/*.xls*"), *FIXTURES.glob("invalid/*.xls*")]):
        output = CliRunner().invoke(cli, ["validate", str(path), "--format", "json"]).output
        for item in json.loads(output)["files"][0]["findings"]:
            assert identifier_kind(item["message"]) is None
            assert NHS_NUMBER not in item["message"]


def test_control_characters_in_a_quoted_value_are_made_visible() -> None:
    from returns_kit.privacy import shown

    assert shown("a\x01b\x1b[2Jc\nd") == '"a\\x01b\\x1b[2Jc\\x0ad"'


def test_invisible_characters_in_a_quoted_value_are_named() -> None:
    from returns_kit.privacy import shown

    # A zero-width space pasted after a code makes it wrong, and the officer must see why.
    assert shown("E0600003\u200b") == '"E0600003\\u200b"'
    assert shown("\ufeffabc") == '"\\ufeffabc"'
