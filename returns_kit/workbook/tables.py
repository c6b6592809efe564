"""Find each sheet's header row and columns, and cut out its data rows with their sheet rows.

Implements the spec's layout rules: headings matched case-insensitively after
folding spaces and hyphens; extra columns warned about and ignored; blank rows at
the end ignored and blank rows in the middle reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from returns_kit.cells import WHITESPACE, fold
from returns_kit.findings import Finding
from returns_kit.privacy import shown
from returns_kit.rules.catalogue import finding
from returns_kit.schema import SheetSpec
from returns_kit.workbook.reader import RawSheet, column_letter

#: How far down a sheet the header row is looked for (title rows above it are allowed).
HEADER_SEARCH_ROWS = 30
ROW = "_row"


@dataclass
class Table:
    """A sheet's data rows: one text column per field found, plus ``_row`` (the sheet row)."""

    spec: SheetSpec
    sheet_name: str
    frame: pl.DataFrame
    #: field -> column letter, for table sheets
    letters: dict[str, str] = field(default_factory=dict)
    #: field -> (sheet row, column letter of its value), for the About sheet
    field_cells: dict[str, tuple[int, str]] = field(default_factory=dict)

    def locate(self, name: str, index: int) -> tuple[int, str]:
        """The sheet row and A1 cell of field ``name`` in data row ``index``."""
        if self.field_cells:
            row, letter = self.field_cells[name]
        else:
            row, letter = int(self.frame[ROW][index]), self.letters[name]
        return row, f"{letter}{row}"

    def has(self, *names: str) -> bool:
        return all(name in self.frame.columns for name in names)


def _folded_rows(raw: RawSheet, limit: int) -> list[dict[int, str]]:
    head = raw.frame.head(limit)
    rows: list[dict[int, str]] = [{} for _ in range(head.height)]
    for name in head.columns:
        for index, value in enumerate(head[name].to_list()):
            if value is not None and value.strip():
                rows[index][int(name)] = fold(value)
    return rows


def _header_row(
    raw: RawSheet, spec: SheetSpec, wanted: Iterable[str], required: set[str]
) -> int | None:
    """Index of the header row: the first with every required heading, else the best match."""
    best, best_matches = None, 1
    wanted = set(wanted)
    for index, cells in enumerate(_folded_rows(raw, HEADER_SEARCH_ROWS)):
        found = set(cells.values()) & wanted
        if required <= found:
            return index
        if len(found) > best_matches:
            best, best_matches = index, len(found)
    return best


#: Sheets up to this many rows find their blank rows in Python, cheaper than a polars pass.
SMALL_SHEET_ROWS = 200


def _non_blank(frame: pl.DataFrame) -> pl.Series:
    """Whether each row has any cell that is not empty or white space."""
    if not frame.columns:
        return pl.Series([], dtype=pl.Boolean)
    if frame.height <= SMALL_SHEET_ROWS:
        return pl.Series(
            [
                any(cell is not None and cell.strip(WHITESPACE) for cell in row)
                for row in frame.iter_rows()
            ],
            dtype=pl.Boolean,
        )
    return frame.select(
        pl.any_horizontal(
            (pl.col(name).str.strip_chars().str.len_chars() > 0).fill_null(False)
            for name in frame.columns
        )
    ).to_series()


def _data_rows(
    raw: RawSheet, header: int, sheet: str, first_letter: str
) -> tuple[pl.DataFrame, list[Finding]]:
    """The rows from the first to the last non-blank one below the header, less blank rows
    (each run reported).

    Blank rows between the header and the first data row are not in the middle of the
    table: they are what a header merged down over two rows leaves, and a spacer under a
    heading loses nothing.
    """
    body = raw.frame.slice(header + 1).with_row_index(ROW, offset=header + 2)
    filled = _non_blank(raw.frame.slice(header + 1))
    body = body.with_columns(filled.alias("_filled"))
    rows = body.filter(pl.col("_filled"))[ROW]
    first, last = rows.min(), rows.max()
    if last is None:
        return body.clear().drop("_filled"), []
    body = body.filter(pl.col(ROW).is_between(first, last))
    blank_rows = body.filter(~pl.col("_filled"))[ROW].to_list()
    findings = []
    for start, end in _runs(blank_rows):
        if start == end:
            run, variant = {"row": start}, "row"
        else:
            run, variant = {"first_row": start, "last_row": end}, "rows"
        findings.append(
            finding(
                "F008", run, variant=variant, sheet=sheet, cell=f"{first_letter}{start}", row=start
            )
        )
    body = body.filter(pl.col("_filled")).drop("_filled")
    return body.with_columns(pl.col(ROW).cast(pl.Int64)), findings


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][1] == row - 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


def _map_headings(
    raw: RawSheet,
    header: int,
    sheet: str,
    wanted: tuple[str, ...],
    body: pl.DataFrame,
) -> tuple[dict[str, int], list[Finding]]:
    """heading -> absolute column index, reporting duplicates and columns not in the return."""
    found: dict[str, int] = {}
    findings = []
    header_cells = {
        int(name): value
        for name, value in zip(raw.frame.columns, raw.frame.row(header), strict=True)
    }
    for column in raw.columns:
        text = header_cells.get(column)
        cell = f"{column_letter(column)}{header + 1}"
        name = fold(text) if text is not None and text.strip() else ""
        if name in wanted:
            if name in found:
                findings.append(
                    finding(
                        "F009",
                        {"column": name, "read_column_letter": column_letter(found[name])},
                        variant="column",
                        sheet=sheet,
                        cell=cell,
                        row=header + 1,
                        column=name,
                    )
                )
            else:
                found[name] = column
        elif name:
            # The heading as typed, not as folded for matching ("Notes 2", not "notes_2"),
            # unless it looks like personal data.
            quoted = shown(text)
            if quoted.startswith('"'):
                named, variant = {"heading": quoted}, "heading"
            else:
                named, variant = {"column_letter": column_letter(column)}, "letter"
            findings.append(
                finding(
                    "F007",
                    named,
                    variant=variant,
                    sheet=sheet,
                    cell=cell,
                    row=header + 1,
                )
            )
        elif body.height and body[str(column)].str.strip_chars().str.len_chars().fill_null(0).sum():
            findings.append(
                finding(
                    "F007",
                    {"column_letter": column_letter(column)},
                    variant="no_heading",
                    sheet=sheet,
                    cell=cell,
                    row=header + 1,
                )
            )
    return found, findings


def locate_table(raw: RawSheet, spec: SheetSpec) -> tuple[Table | None, list[Finding]]:
    """The sheet's table per ``spec``, or None (with F005) when its header row is not found."""
    if spec.layout == "fields":
        return _locate_fields(raw, spec)
    sheet = spec.name
    header = _header_row(raw, spec, spec.field_names, set(spec.required_fields))
    if header is None:
        return None, [
            finding(
                "F005",
                {"search_rows": HEADER_SEARCH_ROWS, "column_names": list(spec.field_names)},
                variant="no_header",
                sheet=sheet,
            )
        ]
    first_letter = column_letter(min(raw.columns))
    body, findings = _data_rows(raw, header, sheet, first_letter)
    columns, heading_findings = _map_headings(raw, header, sheet, spec.field_names, body)
    findings = heading_findings + findings
    for name in spec.required_fields:
        if name not in columns:
            findings.append(
                finding(
                    "F005",
                    {"column": name, "header_row": header + 1},
                    variant="missing_column",
                    sheet=sheet,
                    row=header + 1,
                    column=name,
                )
            )
    frame = body.select(
        pl.col(ROW), *(pl.col(str(index)).alias(name) for name, index in columns.items())
    )
    letters = {name: column_letter(index) for name, index in columns.items()}
    return Table(spec, raw.name, frame, letters=letters), findings


def _locate_fields(raw: RawSheet, spec: SheetSpec) -> tuple[Table | None, list[Finding]]:
    """The About sheet: a ``field`` and a ``value`` column, one row per field."""
    sheet = spec.name
    header = _header_row(raw, spec, ("field", "value"), {"field", "value"})
    if (
        header is None
        or len(set(_folded_rows(raw, header + 1)[header].values()) & {"field", "value"}) < 2
    ):
        return None, [finding("F005", variant="no_about_header", sheet=sheet)]
    body, findings = _data_rows(raw, header, sheet, column_letter(min(raw.columns)))
    columns, heading_findings = _map_headings(raw, header, sheet, ("field", "value"), body)
    findings = heading_findings + findings
    field_column, value_column = str(columns["field"]), str(columns["value"])
    value_letter = column_letter(columns["value"])
    values: dict[str, str | None] = {}
    cells: dict[str, tuple[int, str]] = {}
    for row, name_text, value in zip(
        body[ROW].to_list(),
        body[field_column].to_list(),
        body[value_column].to_list(),
        strict=True,
    ):
        name = fold(name_text) if name_text else ""
        cell = f"{column_letter(columns['field'])}{row}"
        if name in spec.field_names:
            if name in cells:
                findings.append(
                    finding(
                        "F009",
                        {"field": name, "read_row": cells[name][0]},
                        variant="field",
                        sheet=sheet,
                        cell=cell,
                        row=row,
                        column=name,
                    )
                )
                continue
            values[name] = value
            cells[name] = (row, value_letter)
        else:
            if name:
                unknown, variant = {"field": name}, "unknown"
            else:
                unknown, variant = {}, "no_name"
            findings.append(
                finding(
                    "A006",
                    unknown,
                    variant=variant,
                    sheet=sheet,
                    cell=cell,
                    row=row,
                )
            )
    for name in spec.required_fields:
        if name not in cells:
            findings.append(
                finding(
                    "V004",
                    {"field": name},
                    variant="no_about_row",
                    sheet=sheet,
                    column=name,
                )
            )
    frame = pl.DataFrame(
        {name: [values[name]] for name in cells}, schema={name: pl.String for name in cells}
    )
    return Table(spec, raw.name, frame, field_cells=cells), findings
