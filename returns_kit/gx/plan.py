"""The expectations a sheet's JSON Schema implies, as plain data (GX is not needed here).

Each schema keyword becomes one Great Expectations expectation, carrying the returns_kit
rule a failure of it corresponds to:

============================  ===============================================  =========
schema                        expectation                                      rule
============================  ===============================================  =========
``required`` (a column)       ``expect_column_to_exist``                       F005
``required`` (a value)        ``expect_column_values_to_not_be_null``          V004
``enum`` (with ``x-labels``)  ``expect_column_values_to_be_in_set``            V002
``type`` integer / number,    ``expect_column_values_to_match_regex`` (the     V001
``x-cell`` money              cell grammar's spelling of a number or money)
``type`` integer              ``<field>__value`` not null where the cell is    V001
                              filled (the number is whole)
``format`` date               ``expect_column_values_to_match_regex_list``     V001
                              (ISO, dd/mm/yyyy, serial), and ``__value`` not
                              null where filled (a real calendar date)
``minimum``                   ``expect_column_values_to_be_between`` on        V003
                              ``<field>__value``
``pattern``                   ``expect_column_values_to_match_regex``          V001
``x-key``                     ``expect_compound_columns_to_be_unique``         B001/S001
``additionalProperties``      ``expect_table_columns_to_match_set`` (exact),   F007/A006
                              severity warning
============================  ===============================================  =========

A field's ``x-rule`` replaces V001/V002, as in :mod:`returns_kit.compile`. Keywords with no
GX counterpart are listed in :attr:`SheetPlan.not_covered`, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from returns_kit import cells
from returns_kit.errors import ReturnsKitError
from returns_kit.schema import FieldSpec, SheetSpec, load_schemas, sheet_specs

#: Suffix of the column holding the value the cell grammar reads from a number or date cell.
VALUE = "__value"
#: Field kinds whose cells are read into a ``__value`` column.
VALUED = ("integer", "number", "money", "date")
#: The rule of a repeated key, by sheet: the schemas' ``x-key`` names the key, not the rule.
KEY_RULES = {"Budgets": "B001", "Services": "S001"}

#: Schema keywords this module maps (the others are reported as not covered).
PROPERTY_KEYWORDS = frozenset(
    {
        "$ref",
        "title",
        "description",
        "type",
        "enum",
        "x-labels",
        "x-rule",
        "x-cell",
        "x-identifier",
        "format",
        "minimum",
        "pattern",
    }
)
SHEET_KEYWORDS = frozenset(
    {
        "$schema",
        "$id",
        "title",
        "description",
        "type",
        "x-sheet",
        "x-required-sheet",
        "x-layout",
        "x-key",
        "properties",
        "required",
        "additionalProperties",
    }
)
_TYPES = frozenset({"string", "integer", "number"})
_FORMATS = frozenset({"date"})
_SPELLING = {"integer": cells.NUMBER, "number": cells.NUMBER, "money": cells.MONEY}
_DATE_SPELLINGS = (cells.ISO_DATE, cells.UK_DATE, cells.SERIAL_DATE)


@dataclass(frozen=True, slots=True)
class Planned:
    """One expectation: its GX class, its arguments, and what a failure of it means here."""

    #: the class in ``great_expectations.expectations``, e.g. "ExpectColumnValuesToNotBeNull"
    expectation: str
    kwargs: Mapping[str, Any]
    #: the returns_kit rule a failure corresponds to
    rule: str
    #: the sheet column (or table column) it is about; None for several columns
    column: str | None
    #: the schema keyword (or table check) it comes from
    check: str
    #: GX severity: "critical" fails the sheet, "warning" (F007, A006) does not
    severity: str = "critical"
    #: a pseudonymous reference (``x-identifier``): report pass or fail, never values
    private: bool = False
    #: check only the rows where this column is filled (a GX row condition)
    where_filled: str | None = None


@dataclass(frozen=True, slots=True)
class NotCovered:
    """A check of the sheet that GX does not make, and why."""

    check: str
    rule: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class SheetPlan:
    sheet: str
    schema_id: str
    #: every column of the frame the expectations apply to, in order
    columns: tuple[str, ...]
    expectations: tuple[Planned, ...]
    not_covered: tuple[NotCovered, ...]


class UnknownSheet(ReturnsKitError, ValueError):
    """Not a sheet of the return."""


def canonical_sheet(name: str) -> str:
    """The sheet's canonical name, matched as the spec matches sheet names.

    >>> canonical_sheet(" budgets ")
    'Budgets'
    """
    wanted = {sheet.casefold(): sheet for sheet in sheet_specs()}
    found = wanted.get(name.strip().casefold())
    if found is None:
        sheets = ", ".join(wanted.values())
        raise UnknownSheet(f'"{name}" is not a sheet of the return; use one of {sheets}.')
    return found


def value_column(name: str) -> str:
    return name + VALUE


def frame_columns(spec: SheetSpec) -> tuple[str, ...]:
    """The columns of a sheet's frame: each field, then its ``__value`` where it has one."""
    columns: list[str] = []
    for field in spec.fields:
        columns.append(field.name)
        if field.kind in VALUED:
            columns.append(value_column(field.name))
    return tuple(columns)


def _resolved(prop: Mapping[str, Any]) -> dict[str, Any]:
    """A property with its ``$ref`` (into codes.json's $defs) merged in, keeping the $ref key."""
    ref = prop.get("$ref")
    if ref is None:
        return dict(prop)
    target = load_schemas()["codes"]["$defs"][ref.rsplit("/", 1)[-1]]
    return {**target, **prop}


def _field_plan(field: FieldSpec) -> list[Planned]:
    name = field.name
    private = field.identifier
    planned: list[Planned] = []

    def add(expectation: str, rule: str, check: str, **kwargs: Any) -> None:
        where = kwargs.pop("where_filled", None)
        planned.append(
            Planned(expectation, kwargs, rule, name, check, private=private, where_filled=where)
        )

    if field.required:
        add("ExpectColumnValuesToNotBeNull", "V004", "required", column=name)
    if field.kind == "code":
        add(
            "ExpectColumnValuesToBeInSet",
            field.rule or "V002",
            "enum",
            column=name,
            value_set=list(field.code_list),
        )
    if field.kind in _SPELLING:
        add(
            "ExpectColumnValuesToMatchRegex",
            field.rule or "V001",
            "type",
            column=name,
            regex=_SPELLING[field.kind],
        )
    if field.kind == "integer":
        add(
            "ExpectColumnValuesToNotBeNull",
            field.rule or "V001",
            "type",
            column=value_column(name),
            where_filled=name,
        )
    if field.kind == "date":
        add(
            "ExpectColumnValuesToMatchRegexList",
            field.rule or "V001",
            "format",
            column=name,
            regex_list=list(_DATE_SPELLINGS),
            match_on="any",
        )
        add(
            "ExpectColumnValuesToNotBeNull",
            field.rule or "V001",
            "format",
            column=value_column(name),
            where_filled=name,
        )
    if field.minimum is not None:
        add(
            "ExpectColumnValuesToBeBetween",
            "V003",
            "minimum",
            column=value_column(name),
            min_value=field.minimum,
        )
    if field.pattern is not None:
        add(
            "ExpectColumnValuesToMatchRegex",
            field.rule or "V001",
            "pattern",
            column=name,
            regex=field.pattern,
        )
    return planned


def _unmapped(doc: Mapping[str, Any]) -> list[NotCovered]:
    """Schema keywords (or type and format values) this module has no expectation for."""
    missing = [
        NotCovered(f"schema keyword {keyword}", None, "returns_kit has no GX mapping for it yet")
        for keyword in sorted(set(doc) - SHEET_KEYWORDS)
    ]
    for name, prop in doc["properties"].items():
        resolved = _resolved(prop)
        for keyword in sorted(set(resolved) - PROPERTY_KEYWORDS):
            missing.append(
                NotCovered(
                    f"{name}: schema keyword {keyword}",
                    None,
                    "returns_kit has no GX mapping for it yet",
                )
            )
        if resolved.get("type", "string") not in _TYPES:
            missing.append(
                NotCovered(f"{name}: type {resolved['type']}", None, "no GX mapping for the type")
            )
        if "format" in resolved and resolved["format"] not in _FORMATS:
            missing.append(
                NotCovered(
                    f"{name}: format {resolved['format']}", None, "no GX mapping for the format"
                )
            )
    return missing


def _not_covered(doc: Mapping[str, Any], spec: SheetSpec) -> list[NotCovered]:
    found: list[NotCovered] = []
    if spec.required:
        found.append(
            NotCovered(
                "x-required-sheet",
                "F004",
                "GX validates a sheet it is given; a missing sheet is no batch to validate.",
            )
        )
    found.append(
        NotCovered(
            "formula with no saved result, or a spreadsheet error",
            "V005",
            "the frame holds values, not formulas: GX sees a formula with no saved result as a "
            "blank cell (a required one fails the not-null expectation, V004; an optional one "
            "passes) and an error such as #DIV/0! as its text (failing the type or value set).",
        )
    )
    if spec.layout == "fields":
        layout = (
            "reading the field/value rows into one row: a missing field row is a blank value "
            "(V004), a repeated field (F009) and a row for no field (A006) are found while "
            "reading, before GX sees the frame."
        )
        found.append(NotCovered("field/value layout", "F009/A006", layout))
    else:
        layout = (
            "finding the header row (F005 when there is none), blank rows in the middle (F008) "
            "and repeated headings (F009) happen while the sheet is read into the frame, before "
            "GX sees it."
        )
        found.append(NotCovered("header row and layout", "F005/F008/F009", layout))
    if any(field.identifier for field in spec.fields):
        found.append(
            NotCovered(
                "x-identifier",
                None,
                "GX cannot be told never to show a column's values; the expectations on "
                "identifier columns default to result_format BOOLEAN_ONLY, which a run-time "
                "result_format overrides: run this suite with BOOLEAN_ONLY (returns_kit does).",
            )
        )
    return found + _unmapped(doc)


def sheet_plan(sheet: str) -> SheetPlan:
    """Every expectation the sheet's schema implies, and what GX cannot check of it."""
    spec = sheet_specs()[canonical_sheet(sheet)]
    doc = load_schemas()[spec.stem]
    columns = frame_columns(spec)
    planned: list[Planned] = []
    if spec.layout == "table":
        planned += [
            Planned(
                "ExpectColumnToExist",
                {"column": name},
                "F005",
                name,
                "required",
                private=spec.field(name).identifier,
            )
            for name in spec.required_fields
        ]
    for field in spec.fields:
        planned += _field_plan(field)
    if spec.key:
        planned.append(
            Planned(
                "ExpectCompoundColumnsToBeUnique",
                {"column_list": list(spec.key), "ignore_row_if": "any_value_is_missing"},
                KEY_RULES.get(spec.name, "x-key"),
                None,
                "x-key",
            )
        )
    if doc.get("additionalProperties") is False:
        planned.append(
            Planned(
                "ExpectTableColumnsToMatchSet",
                {"column_set": list(columns), "exact_match": True},
                "A006" if spec.layout == "fields" else "F007",
                None,
                "additionalProperties",
                severity="warning",
            )
        )
    return SheetPlan(
        sheet=spec.name,
        schema_id=doc["$id"],
        columns=columns,
        expectations=tuple(planned),
        not_covered=tuple(_not_covered(doc, spec)),
    )


#: How to build the frame a sheet's suite applies to (returns_kit.gx.frames does this).
FRAME_NOTES = (
    "One row per data row of the sheet; the About sheet is one row with a column per field.",
    "Each field's column holds the cell's text with white space trimmed; a blank cell is null.",
    "A code cell holding a code or its label, in any case, with spaces and hyphens folded to "
    "_, holds its code; other text is left as it is (and fails the value set).",
    "<field>__value holds the number or date the cell grammar (returns_kit/cells.py) reads from "
    "the cell: null when the cell is blank or not of its type (not whole, not a real date).",
    "An optional column that is not in the sheet is present and blank; so is every About field "
    "without a row.",
)
