"""A sheet as the frame its GX suite applies to (see :data:`returns_kit.gx.plan.FRAME_NOTES`).

The sheets are read and located exactly as ``validate`` reads them; the frame then holds
each cell's trimmed text (codes in canonical form) and, for number and date fields, the
value the cell grammar reads. GX is not needed here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from returns_kit import cells
from returns_kit.gx.plan import VALUED, value_column
from returns_kit.schema import FieldSpec, sheet_specs
from returns_kit.workbook.container import inspect_container
from returns_kit.workbook.reader import RawSheet, WorkbookReader
from returns_kit.workbook.tables import Table, locate_table

_VALUE_TYPES: dict[str, type[pl.DataType]] = {
    "integer": pl.Int64,
    "number": pl.Float64,
    "money": pl.Float64,
    "date": pl.String,  # ISO text: no schema bound applies to dates
}


def _text(value: str | None) -> str | None:
    text = value.strip(cells.WHITESPACE) if value is not None else ""
    return text or None


def _canonical(text: str | None, field: FieldSpec) -> str | None:
    """A code or its label (any case, folded) as its code; any other text as it is."""
    if text is None:
        return None
    return cells.code_lookup(field).get(cells.fold(text), text)


def _value(text: str | None, field: FieldSpec) -> Any:
    if text is None:
        return None
    try:
        return cells.coerce(text, field)
    except cells.Invalid:
        return None


def sheet_frame(table: Table) -> pl.DataFrame:
    """The located table as the frame of its sheet's suite.

    A required column missing from a table sheet stays missing (GX's F005 expectation
    fails); an optional one is added blank, as returns_kit treats it.
    """
    spec = table.spec
    height = table.frame.height if spec.layout == "table" else 1
    data: dict[str, list[Any]] = {}
    schema: dict[str, type[pl.DataType]] = {}
    for field in spec.fields:
        if field.name in table.frame.columns:
            texts = [_text(value) for value in table.frame[field.name].to_list()]
        elif spec.layout == "table" and field.required:
            continue
        else:
            texts = [None] * height
        shown = [_canonical(text, field) for text in texts] if field.kind == "code" else texts
        data[field.name], schema[field.name] = shown, pl.String
        if field.kind in VALUED:
            name = value_column(field.name)
            data[name] = [_value(text, field) for text in texts]
            schema[name] = _VALUE_TYPES[field.kind]
    return pl.DataFrame(data, schema=schema)


def located_tables(path: Path) -> dict[str, Table]:
    """Each sheet of the return in the workbook, located as ``validate`` locates it.

    A file refused by the container check, a sheet that cannot be read or has no header
    row, and an optional sheet with no rows are left out: GX has nothing to check there.
    """
    container = inspect_container(Path(path))
    if container.findings:
        return {}
    reader = WorkbookReader.open(Path(path), container.kind)
    if not isinstance(reader, WorkbookReader):
        return {}
    specs = sheet_specs()
    wanted = {name.casefold(): name for name in specs}
    matched: dict[str, str] = {}
    for written in reader.sheet_names:
        canonical = wanted.get(written.strip().casefold())
        if canonical is not None and canonical not in matched:
            matched[canonical] = written  # the first of repeated sheets is read (F009)
    tables: dict[str, Table] = {}
    for canonical, written in matched.items():
        raw = reader.read(written)
        if not isinstance(raw, RawSheet):
            continue
        spec = specs[canonical]
        table, _ = locate_table(raw, spec)
        if table is None or (not spec.required and table.frame.height == 0):
            continue
        tables[canonical] = table
    return tables
