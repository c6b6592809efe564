"""The compiled polars checks agree with jsonschema, cell by cell, on generated rows.

The reference reading of a row is the plain-Python cell grammar
(:func:`returns_kit.cells.coerce`) followed by jsonschema with the shipped
schemas; the compiled checks must fail exactly the same cells and give the same
typed values for the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from returns_kit import compile as compile_module
from returns_kit.cells import Invalid, coerce
from returns_kit.compile import check_table
from returns_kit.rules.catalogue import templates
from returns_kit.rules.messages import fields, render
from returns_kit.schema import FieldSpec, SheetSpec, sheet_specs
from returns_kit.workbook.reader import column_letter
from returns_kit.workbook.tables import ROW, Table
from tools.oracle import validator

from .conftest import examples

# Printable ASCII, some Latin-1 and the white space spreadsheets leave behind.
ALPHABET = st.characters(codec="latin-1", exclude_categories=["Cc"]) | st.sampled_from(
    [" ", "\t", "\u00a0", "£", ",", ".", "-", "/"]
)

junk = st.text(ALPHABET, max_size=12)
blank = st.sampled_from([None, "", "  ", "\t", "\u00a0"])


def _whole() -> st.SearchStrategy[str]:
    n = st.integers(-(10**6), 10**12)
    return st.one_of(
        n.map(str),
        n.map(lambda v: f"{v:,}"),
        n.map(lambda v: f"{v}.0"),
        st.floats(-1e6, 1e6, allow_nan=False).map(repr),
        st.sampled_from(
            [
                "12.000000000000002",
                "1e3",
                "1,23",
                "1,2345",
                "+5",
                ".5",
                "1.",
                "9" * 25,
                "1e400",
                "-0",
            ]
        ),
    )


def _number(money: bool) -> st.SearchStrategy[str]:
    x = st.floats(-1e7, 1e9, allow_nan=False, allow_infinity=False)
    forms = [x.map(repr), x.map(lambda v: f"{v:,.2f}"), _whole()]
    if money:
        forms += [
            x.map(lambda v: f"£{v:,.2f}"),
            x.map(lambda v: f"-£{abs(v):.2f}"),
            st.just("£ 12"),
            st.just("££5"),
        ]
    return st.one_of(*forms)


def _date() -> st.SearchStrategy[str]:
    d = st.dates(dt.date(1890, 1, 1), dt.date(3010, 12, 31))
    return st.one_of(
        d.map(lambda v: v.isoformat()),
        d.map(lambda v: f"{v.isoformat()} 00:00:00"),
        d.map(lambda v: f"{v.day}/{v.month}/{v.year}"),
        d.map(lambda v: v.strftime("%d/%m/%Y")),
        st.integers(10_000, 99_999).map(str),
        st.integers(10_000, 99_999).map(lambda v: f"{v}.5"),
        st.sampled_from(
            [
                "2014-02-30",
                "31/02/2014",
                "0000-01-01",
                "2014-13-01",
                "2014/03/31",
                "2014-03-31T10:00",
                "1899-12-31",
            ]
        ),
    )


def _code(spec: FieldSpec) -> st.SearchStrategy[str]:
    choices = [c for pair in spec.codes for c in pair]
    variants = st.sampled_from(choices).flatmap(
        lambda c: st.sampled_from(
            [
                c,
                c.lower(),
                c.upper(),
                f"  {c} ",
                c.replace("_", " "),
                c.replace("_", "-"),
                c.replace(" ", "_"),
                c + "x",
            ]
        )
    )
    return variants


def _text(spec: FieldSpec) -> st.SearchStrategy[str]:
    samples = {
        "client_ref": ["CL00012345", "ab_-9", "abc", "a" * 65, "a b c d", "9434765919"],
        "council_code": ["E06000001", "E10000027", "E07000001", "e06000001", "E0600000"],
        "period": ["2013-14", "2013/14", "13-14", "2013-15"],
        "contact_email": ["a@b.gov.uk", "a@b", "a b@c.uk", "@x.uk", "x@y.z"],
        "rule": ["S005", "s005", "S05", "XX01"],
    }.get(spec.name, ["PRV001", "Somerset"])
    return st.sampled_from(samples)


def cell_strategy(spec: FieldSpec) -> st.SearchStrategy[str | None]:
    kinds: dict[str, Callable[[], st.SearchStrategy[str]]] = {
        "integer": _whole,
        "number": lambda: _number(False),
        "money": lambda: _number(True),
        "date": _date,
        "code": lambda: _code(spec),
        "text": lambda: _text(spec),
    }
    typed = kinds[spec.kind]()
    return st.one_of(typed, typed, blank, junk)


def rows_strategy(sheet: SheetSpec) -> st.SearchStrategy[list[dict[str, str | None]]]:
    row = st.fixed_dictionaries({spec.name: cell_strategy(spec) for spec in sheet.fields})
    return st.lists(row, min_size=1, max_size=25)


def reference_verdict(
    sheet: SheetSpec, row: dict[str, str | None]
) -> tuple[set[str], dict[str, Any]]:
    """Fields jsonschema (after the plain-Python grammar) rejects, and the accepted values."""
    failing: set[str] = set()
    values: dict[str, Any] = {}
    for spec in sheet.fields:
        try:
            value = coerce(row[spec.name], spec)
        except Invalid:
            failing.add(spec.name)
            continue
        if value is not None:
            values[spec.name] = value
    for error in validator(sheet.stem).iter_errors(values):
        if error.validator == "required":
            failing.update(name for name in sheet.required_fields if name not in values)
        else:
            failing.add(error.absolute_path[0])
    return failing, {k: v for k, v in values.items() if k not in failing}


def _table(sheet: SheetSpec, rows: list[dict[str, str | None]]) -> Table:
    """``rows`` (one for an About sheet) as the table the reader would give, headed in order."""
    frame = pl.DataFrame(rows, schema={name: pl.String for name in sheet.field_names})
    frame = frame.with_columns(pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias(ROW))
    if sheet.layout == "fields":
        return Table(
            sheet,
            sheet.name,
            frame.drop(ROW),
            field_cells={name: (2 + i, "B") for i, name in enumerate(sheet.field_names)},
        )
    letters = {name: column_letter(i) for i, name in enumerate(sheet.field_names)}
    return Table(sheet, sheet.name, frame, letters=letters)


def compiled_verdict(
    sheet: SheetSpec, rows: list[dict[str, str | None]], vectorised: bool = True
) -> tuple[list[set[str]], list[dict[str, Any]]]:
    table = _table(sheet, rows)
    checked = check_table(table, vectorised=vectorised)
    failing: list[set[str]] = [set() for _ in rows]
    cell_to_index = {}
    for index in range(len(rows)):
        for name in sheet.field_names:
            cell_to_index[table.locate(name, index)[1]] = (index, name)
    for item in checked.findings:
        assert item.cell is not None, item  # a cell check always names its cell
        index, name = cell_to_index[item.cell]
        failing[index].add(name)
    values = []
    for index, typed in enumerate(checked.frame.drop(ROW, strict=False).iter_rows(named=True)):
        values.append(
            {
                k: v.isoformat() if isinstance(v, dt.date) else v
                for k, v in typed.items()
                if v is not None and k not in failing[index]
            }
        )
    return failing, values


@pytest.mark.full_examples
@pytest.mark.parametrize("sheet_name", list(sheet_specs()))
def test_compiled_checks_agree_with_jsonschema(sheet_name: str) -> None:
    sheet = sheet_specs()[sheet_name]

    @settings(
        max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(
        rows_strategy(sheet)
        if sheet.layout == "table"
        else rows_strategy(sheet).map(lambda rows: rows[:1])
    )
    def check(rows: list[dict[str, str | None]]) -> None:
        failing, values = compiled_verdict(sheet, rows)
        small_failing, small_values = compiled_verdict(sheet, rows, vectorised=False)
        for index, row in enumerate(rows):
            expected_failing, expected_values = reference_verdict(sheet, row)
            assert failing[index] == expected_failing, row
            assert values[index] == pytest.approx(expected_values), row
            assert small_failing[index] == expected_failing, row
            assert small_values[index] == pytest.approx(expected_values), row

    check()


def test_generated_rows_include_both_verdicts() -> None:
    """Guard against a generator that only ever makes valid (or only invalid) cells."""
    sheet = sheet_specs()["Budgets"]
    good: dict[str, str | None] = {
        "age_band": "18 to 64",
        "support_reason": "unknown",
        "people_total": "1,234.0",
        "dp_self_managed": "1",
        "dp_part": "0",
        "third_party_managed": "0",
        "isf": "0",
        "council_managed": "0",
        "no_personal_budget": "1233",
    }
    bad = {**good, "people_total": "lots", "age_band": "18-65", "isf": "-1", "dp_part": None}
    failing, _ = compiled_verdict(sheet, [good, bad])
    assert failing == [set(), {"people_total", "age_band", "isf", "dp_part"}]
    assert reference_verdict(sheet, bad)[0] == failing[1]


#: Cells that fail every field they can: not a number, date, code or form; below a minimum
#: (and no date); blank.
WRONG_CELLS = ("lots", "-1", None)


@pytest.mark.parametrize("vectorised", [True, False])
@pytest.mark.parametrize("sheet_name", list(sheet_specs()))
def test_each_way_a_cell_can_fail_has_its_rules_template(sheet_name: str, vectorised: bool) -> None:
    """A failing cell's finding is its rule's template filled with its params, for every way
    each field can fail: a field with an x-rule (A001, A004) takes that rule's templates."""
    sheet = sheet_specs()[sheet_name]
    made = []
    for text in WRONG_CELLS:
        rows = [{name: text for name in sheet.field_names}]
        made.extend(check_table(_table(sheet, rows), vectorised=vectorised).findings)
    assert made
    for item in made:
        assert item.params is not None and item.column is not None
        assert item.message in [
            render(item.rule, variant, item.params)
            for variant, template in templates(item.rule).items()
            if fields(template) == item.params.keys()
        ], item
        spec = sheet.field(item.column)
        assert item.rule == spec.rule or item.rule.startswith("V"), item
    if sheet_name == "About":
        assert {"A001", "A004"} <= {item.rule for item in made}


@pytest.mark.slow
@pytest.mark.parametrize("sheet_name", ["Budgets", "Clients"])
def test_parsing_each_distinct_text_once_changes_nothing(
    sheet_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A column of repeated texts is parsed once per distinct text (compile.DISTINCT_SHARE):
    its verdicts and typed values are those of the parse of every cell, blanks included."""
    sheet = sheet_specs()[sheet_name]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(rows_strategy(sheet).map(lambda rows: rows * 3))  # every text at least thrice
    def check(rows: list[dict[str, str | None]]) -> None:
        monkeypatch.setattr(compile_module, "DISTINCT_SHARE", 1.0)  # always by distinct text
        by_distinct = compiled_verdict(sheet, rows)
        monkeypatch.setattr(compile_module, "DISTINCT_SHARE", 0.0)  # never
        by_cell = compiled_verdict(sheet, rows)
        assert by_distinct == by_cell

    check()
