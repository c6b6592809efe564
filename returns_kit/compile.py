"""Checks compiled from the JSON Schemas into vectorised polars expressions.

Each field's type (with the cell grammar of :mod:`returns_kit.cells`), code list
with labels, minimum, pattern and required-ness become one expression for the
typed value and one for the kind of failure, evaluated in a single pass over the
table. Only failing cells come back to Python, to be made into findings. The
tests hold these checks to jsonschema's verdicts on the same cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from functools import lru_cache
from typing import Any

import polars as pl

from returns_kit import cells
from returns_kit.findings import Finding
from returns_kit.privacy import shown
from returns_kit.rules.catalogue import finding
from returns_kit.schema import FieldSpec
from returns_kit.workbook.tables import ROW, Table


class Failure(IntEnum):
    OK = 0
    TYPE = 1  # not of the field's type (V001)
    CODE = 2  # not in the code list (V002)
    RANGE = 3  # below the minimum (V003)
    BLANK = 4  # required and blank (V004)
    FORM = 5  # text not in the required form (V001)


_RULE = {
    Failure.TYPE: "V001",
    Failure.CODE: "V002",
    Failure.RANGE: "V003",
    Failure.BLANK: "V004",
    Failure.FORM: "V001",
}
_FAILURE_SUFFIX = "__failure"


def _number(text: pl.Expr, pattern: str) -> pl.Expr:
    value = text.str.replace_all(",", "", literal=True)
    value = value.str.replace_all("£", "", literal=True).str.replace_all(" ", "", literal=True)
    return pl.when(text.str.contains(pattern)).then(value.cast(pl.Float64, strict=False))


def _date(text: pl.Expr) -> pl.Expr:
    iso = text.str.extract(cells.ISO_DATE_PART, 1).str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    uk = text.str.strptime(pl.Date, "%d/%m/%Y", strict=False)
    serial = text.cast(pl.Float64, strict=False).floor().cast(pl.Int64, strict=False)
    from_serial = pl.lit(cells.SERIAL_EPOCH) + pl.duration(days=serial)
    found = pl.coalesce(
        pl.when(text.str.contains(cells.ISO_DATE)).then(iso),
        pl.when(text.str.contains(cells.UK_DATE)).then(uk),
        pl.when(
            text.str.contains(cells.SERIAL_DATE)
            & serial.is_between(cells.SERIAL_MIN, cells.SERIAL_MAX)
        ).then(from_serial),
    )
    return pl.when(found.dt.year().is_between(cells.YEAR_MIN, cells.YEAR_MAX)).then(found)


def _parsed(spec: FieldSpec, text: pl.Expr) -> pl.Expr:
    """The typed value of a non-blank cell, or null when it is not of the field's type."""
    if spec.kind == "integer":
        value = _number(text, cells.NUMBER)
        whole = ((value - value.round(0)).abs() < cells.WHOLE_TOLERANCE) & (
            value.abs() < cells.WHOLE_LIMIT
        )
        return pl.when(whole).then(value.round(0).cast(pl.Int64, strict=False))
    if spec.kind == "number":
        return _number(text, cells.NUMBER)
    if spec.kind == "money":
        return _number(text, cells.MONEY)
    if spec.kind == "date":
        return _date(text)
    if spec.kind == "code":
        folded = text.str.to_lowercase().str.replace_all(cells.FOLD_RUN, "_")
        return folded.replace_strict(cells.code_lookup(spec), default=None, return_dtype=pl.String)
    return text


_PARSED_SUFFIX = "__parsed"


_TEXT_SUFFIX = "__text"


def parse_expression(spec: FieldSpec) -> pl.Expr:
    """The typed value of each non-blank cell (null when not of the field's type)."""
    text = pl.col(spec.name + _TEXT_SUFFIX)
    return _parsed(spec, text).alias(spec.name + _PARSED_SUFFIX)


def check_expressions(spec: FieldSpec) -> tuple[pl.Expr, pl.Expr]:
    """(typed value, failure kind) for one field, from its text and its parsed value.

    Separate from :func:`parse_expression` so that each parse runs once: polars'
    eager API does not share the parse between the checks and the typed value.
    """
    text = pl.col(spec.name + _TEXT_SUFFIX)
    blank = text.is_null() | (text == "")
    parsed = pl.col(spec.name + _PARSED_SUFFIX)
    # Any: polars types each link of a when/then chain differently.
    failure: Any = pl.when(blank).then(pl.lit(Failure.BLANK if spec.required else Failure.OK))
    failure = failure.when(parsed.is_null()).then(
        pl.lit(Failure.CODE if spec.kind == "code" else Failure.TYPE)
    )
    if spec.minimum is not None:
        failure = failure.when(parsed < spec.minimum).then(pl.lit(Failure.RANGE))
    if spec.pattern is not None:
        failure = failure.when(~text.str.contains(spec.pattern)).then(pl.lit(Failure.FORM))
    failure = failure.otherwise(pl.lit(Failure.OK)).cast(pl.UInt8)
    typed = pl.when((failure == Failure.OK) & ~blank).then(parsed)
    return typed.alias(spec.name + "__typed"), failure.alias(spec.name + _FAILURE_SUFFIX)


#: A column with no more distinct texts than this share of its cells is parsed once per
#: distinct text and mapped back to its cells: down a Clients sheet of tens of thousands of
#: rows the codes and dates repeat, and their parse (a case fold and a regular expression,
#: or three regular expressions and two date parses) costs more than hashing each cell.
#: A column of mostly different texts (amounts of money) is parsed cell by cell.
DISTINCT_SHARE = 0.5


def _parsed_column(stripped: pl.DataFrame, spec: FieldSpec) -> pl.Expr | pl.Series:
    """The parse of one field (:func:`parse_expression`), as an expression or computed."""
    if spec.kind == "text" or stripped.height == 0:
        return parse_expression(spec)
    text = stripped.get_column(spec.name + _TEXT_SUFFIX)
    distinct = text.unique()  # a null among them too: each kind's parse maps it to null
    if len(distinct) > DISTINCT_SHARE * stripped.height:
        return parse_expression(spec)
    # The parse takes each cell on its own, so parsing each distinct text once is the same.
    parsed = distinct.to_frame().select(parse_expression(spec)).to_series()
    return text.replace_strict(distinct, parsed, default=None, return_dtype=parsed.dtype).alias(
        parsed.name
    )


def evaluate(frame: pl.DataFrame, specs: list[FieldSpec]) -> pl.DataFrame:
    """``frame`` with, per field, its typed value (``<name>__typed``) and failure kind."""
    if not specs:
        return frame
    # Three passes, so that stripping and parsing each run once per cell.
    stripped = frame.with_columns(
        pl.col(spec.name).str.strip_chars().alias(spec.name + _TEXT_SUFFIX) for spec in specs
    )
    parsed = stripped.with_columns(_parsed_column(stripped, spec) for spec in specs)
    return parsed.with_columns(expr for spec in specs for expr in check_expressions(spec))


def _failures(evaluated: pl.DataFrame, specs: list[FieldSpec]) -> list[tuple[int, str, int]]:
    """(data row index, field, failure kind) of every failing cell, in row then field order."""
    if not specs:
        return []
    kinds = [pl.col(spec.name + _FAILURE_SUFFIX).alias(spec.name) for spec in specs]
    failing = (
        evaluated.select(pl.int_range(pl.len()).alias("index"), *kinds)
        # Most rows pass: keep the rows with a failure before making one row per cell.
        .filter(pl.any_horizontal(pl.col(spec.name) != Failure.OK for spec in specs))
        .unpivot(index="index", variable_name="field", value_name="kind")
        .filter(pl.col("kind") != Failure.OK)
    )
    return list(failing.iter_rows())


#: Column of a checked table's typed frame listing, per row, the fields whose cell holds a
#: formula with no saved value or a spreadsheet error (V005). Present only when there are any:
#: such a cell reads as blank, and rules must not take it for a value left blank.
UNREADABLE = "_unreadable"


@dataclass
class Checked:
    """A table's typed values (failing cells null) and the findings of its compiled checks."""

    frame: pl.DataFrame
    findings: list[Finding]


#: Tables up to this many rows are checked cell by cell in Python, with the same grammar:
#: on a sheet of a few dozen rows polars' cost per operation outweighs its speed per cell.
SMALL_TABLE_ROWS = 200

_DTYPES: dict[str, type[pl.DataType]] = {
    "integer": pl.Int64,
    "number": pl.Float64,
    "money": pl.Float64,
    "date": pl.Date,
    "code": pl.String,
    "text": pl.String,
}


def check_cell(spec: FieldSpec, text: str | None) -> tuple[Failure, Any]:
    """One cell's failure kind and typed value, in the order the compiled checks apply."""
    stripped = text.strip(cells.WHITESPACE) if text is not None else ""
    if not stripped:
        return (Failure.BLANK if spec.required else Failure.OK), None
    try:
        value = cells.coerce(stripped, spec)
    except cells.Invalid:
        return (Failure.CODE if spec.kind == "code" else Failure.TYPE), None
    if spec.minimum is not None and value < spec.minimum:
        return Failure.RANGE, None
    if spec.pattern is not None and not _pattern(spec.pattern).search(stripped):
        return Failure.FORM, None
    if spec.kind == "date":
        value = date.fromisoformat(value)
    return Failure.OK, value


@lru_cache(maxsize=64)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _evaluate_small(
    frame: pl.DataFrame, specs: list[FieldSpec]
) -> tuple[pl.DataFrame, list[tuple[int, str, int]]]:
    typed: dict[str, list[Any]] = {}
    failures: list[tuple[int, str, int]] = []
    for spec in specs:
        values = []
        for index, text in enumerate(frame[spec.name].to_list()):
            kind, value = check_cell(spec, text)
            values.append(value)
            if kind is not Failure.OK:
                failures.append((index, spec.name, int(kind)))
        typed[spec.name + "__typed"] = values
    schema = {spec.name + "__typed": _DTYPES[spec.kind] for spec in specs}
    evaluated = pl.DataFrame(typed, schema=schema)
    if ROW in frame.columns:
        evaluated = evaluated.with_columns(frame[ROW])
    return evaluated, failures


def check_table(
    table: Table, unreadable: dict[str, str] | None = None, *, vectorised: bool | None = None
) -> Checked:
    """Type and check every cell of ``table``; ``unreadable`` maps A1 cells to a V005 reason.

    ``vectorised`` chooses polars expressions or the cell-by-cell path; by default a table
    of more than :data:`SMALL_TABLE_ROWS` rows is vectorised. Both give the same result.
    """
    specs = [spec for spec in table.spec.fields if spec.name in table.frame.columns]
    if vectorised is None:
        vectorised = table.frame.height > SMALL_TABLE_ROWS
    if vectorised:
        evaluated = evaluate(table.frame, specs)
        failures = _failures(evaluated, specs)
    else:
        evaluated, failures = _evaluate_small(table.frame, specs)
    findings: list[Finding] = []
    unreadable = unreadable or {}
    for index, name, kind in failures:
        spec = table.spec.field(name)
        row, cell = table.locate(name, index)
        if cell in unreadable:
            continue  # reported as V005 below, not as a blank or mistyped value
        text = table.frame[name][index]
        findings.append(_finding(table, spec, Failure(kind), text, row, cell))
    if unreadable:
        findings.extend(_unreadable_findings(table, specs, unreadable))
        evaluated = _null_unreadable(table, evaluated, specs, unreadable)
    keep = [pl.col(spec.name + "__typed").alias(spec.name) for spec in specs]
    typed = evaluated.select(ROW, *keep) if ROW in evaluated.columns else evaluated.select(keep)
    if unreadable and ROW in typed.columns:
        typed = _mark_unreadable(table, typed, specs, unreadable)
    return Checked(typed, findings)


def _mark_unreadable(
    table: Table, typed: pl.DataFrame, specs: list[FieldSpec], unreadable: dict[str, str]
) -> pl.DataFrame:
    positions = _positions(table, specs)
    by_row: dict[int, list[str]] = {}
    for cell in unreadable:
        if cell in positions:
            name, row = positions[cell]
            by_row.setdefault(row, []).append(name)
    if not by_row:
        return typed
    marks = [by_row.get(row) for row in typed[ROW].to_list()]
    return typed.with_columns(pl.Series(UNREADABLE, marks, dtype=pl.List(pl.String)))


def _unreadable_findings(
    table: Table, specs: list[FieldSpec], unreadable: dict[str, str]
) -> list[Finding]:
    findings = []
    positions = _positions(table, specs)
    for cell, reason in unreadable.items():
        if cell not in positions:
            continue
        name, row = positions[cell]
        if reason.startswith("error:"):
            variant, params = "spreadsheet_error", {"column": name, "spreadsheet_error": reason[6:]}
        else:
            variant, params = "no_saved_result", {"column": name}
        findings.append(
            finding(
                "V005",
                params,
                variant=variant,
                sheet=table.spec.name,
                cell=cell,
                row=row,
                column=name,
            )
        )
    return findings


def _positions(table: Table, specs: list[FieldSpec]) -> dict[str, tuple[str, int]]:
    """A1 cell -> (field, sheet row) for every cell of the table's fields."""
    if table.field_cells:
        return {f"{letter}{row}": (name, row) for name, (row, letter) in table.field_cells.items()}
    rows = table.frame[ROW].to_list()
    return {f"{table.letters[spec.name]}{row}": (spec.name, row) for spec in specs for row in rows}


def _null_unreadable(
    table: Table, frame: pl.DataFrame, specs: list[FieldSpec], unreadable: dict[str, str]
) -> pl.DataFrame:
    positions = _positions(table, specs)
    for cell in unreadable:
        if cell in positions:
            name, row = positions[cell]
            mask = pl.col(ROW) == row if ROW in frame.columns else pl.lit(True)
            typed = name + "__typed"
            frame = frame.with_columns(
                pl.when(mask).then(None).otherwise(pl.col(typed)).alias(typed)
            )
    return frame


def _finding(
    table: Table, spec: FieldSpec, kind: Failure, text: str | None, row: int, cell: str
) -> Finding:
    name = spec.name
    # About holds the council's own details, not a client's: its contact address is shown.
    value = shown(text, identifier=spec.identifier, work_email=table.spec.layout == "fields")
    params: dict[str, Any]
    if kind is Failure.BLANK:
        variant, params = "blank", {"column": name}
    elif kind is Failure.RANGE:
        variant, params = "", {"column": name, "value": value, "minimum": spec.minimum}
    elif kind is Failure.CODE:
        variant, params = "", {"column": name, "value": value, "codes": list(spec.code_list)}
    elif kind is Failure.FORM:
        variant = "wrong_form"
        params = {"column": name, "value": value, "column_description": spec.description}
    else:
        # A number, an amount or a date not read as one (a code that cannot be read is a CODE
        # failure, and any text is text): the template says what was expected.
        variant, params = f"not_{spec.kind}", {"column": name, "value": value}
    rule = (
        spec.rule
        if spec.rule and kind in (Failure.CODE, Failure.FORM, Failure.TYPE)
        else _RULE[kind]
    )
    return finding(
        rule, params, variant=variant, sheet=table.spec.name, cell=cell, row=row, column=name
    )
