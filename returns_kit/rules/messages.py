"""Every finding's message, as a template its parameters fill (as frictionless errors do).

A rule's finding carries its numbers and names as ``params``; the message is the rule's
template filled with them. So a flag, a page, the ledger or a reader of the JSON report takes
a number from the data, never by reading it back out of the text, and the wording of every
message can be read (and documented) in one place.

Templates are keyed by rule id, then by variant: most rules say one thing (variant ``""``);
some say one of a few (A002 for a code that is no council, or a council not active in the
period). A template uses :meth:`str.format` fields, with a few additions of our own:

- ``{columns!j}`` joins a list with ", ";
- ``{label!c}`` gives text with its first letter a capital (a label starting a sentence);
- ``{councils:counted council}`` is a count with its noun, singular for one ("1 council",
  "152 councils"; ``{n:counted person/people}`` names an irregular plural);
- ``{file_bytes:size}`` shows a count of bytes in binary units, as a file's size is read
  ("1.5 MB");
- a parameter that is None shows as "unknown" (a rate with no people to divide by).

A parameter holds what the message shows and nothing more: a cell's value only as
:func:`returns_kit.privacy.shown` lets it be quoted.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from typing import Any

from returns_kit.wording import counted

#: What every refusal of a file asks for, and what one refused for its size asks first.
_SAVE_AS_XLSX = "save it as an Excel Workbook (.xlsx) and send the new file"
_SHRINK = (
    "Remove sheets, images and data that are not part of the return, save it as .xlsx and "
    "send the new file."
)

#: rule id -> variant -> template. Grouped as the rules are: the file and its structure
#: (F), cells (V), About (A), Budgets (B), Services (S), Clients (C), Explanations (E),
#: periods (P) and the internal error (X).
TEMPLATES: dict[str, dict[str, str]] = {
    # -- the file and its structure (workbook/, validate.py) --
    "F001": {
        "unreadable": "The file could not be opened: it is not an ordinary file or it cannot be "
        f"read. Open the return in a spreadsheet program, {_SAVE_AS_XLSX}.",
        "empty": "The file is empty (0 bytes). Open the return in a spreadsheet program, "
        f"{_SAVE_AS_XLSX}.",
        "not_workbook": "The file is not a workbook: it is neither an Excel workbook (.xlsx) nor "
        "an OpenDocument spreadsheet (.ods). Open the return in a spreadsheet program, "
        f"{_SAVE_AS_XLSX}.",
        "corrupt": "The workbook is corrupt and cannot be read (it may be incomplete, for "
        "example after an interrupted download or copy). Open it in a spreadsheet program, "
        f"{_SAVE_AS_XLSX}.",
        "password": "The workbook is password-protected, so it cannot be checked. Open it, "
        "remove the password and save as .xlsx, then send the new file.",
        "default_password": "The workbook is encrypted with Excel's built-in default password "
        "(Excel opens such a file without asking, for example one marked read-only or with its "
        "structure protected), so it cannot be checked. Open it in Excel, remove the protection "
        "and save it as .xlsx without a password, then send the new file.",
        "no_workbook_part": "The file is an Office document but holds no workbook (it may be a "
        "Word or PowerPoint file, or corrupt). Open the return in a spreadsheet program, "
        f"{_SAVE_AS_XLSX}.",
        "not_spreadsheet": "The file is a zip archive, not a spreadsheet. Open the return in a "
        f"spreadsheet program, {_SAVE_AS_XLSX}.",
        "dtd": "The workbook contains an XML document type declaration, which spreadsheet "
        "programs do not write in a workbook's data and which can hide an attack; refused for "
        f"safety. Open it in a spreadsheet program, {_SAVE_AS_XLSX}.",
        "long_prolog": "The workbook has an internal part that starts with over 1 MB of padding "
        "before its content, which spreadsheet programs never write; refused for safety. Open "
        f"it in a spreadsheet program, {_SAVE_AS_XLSX}.",
        "duplicate_part": "The workbook holds two internal parts with the same name (ignoring "
        "case), which spreadsheet programs never write, so it is unclear what it contains. Open "
        f"it in a spreadsheet program, {_SAVE_AS_XLSX}.",
        # Past the container's checks, calamine could still not open the file or a sheet.
        "damaged": "The workbook is damaged and cannot be read. Open it in a spreadsheet program "
        "and save it again as .xlsx.",
        "sheet_damaged": 'Sheet "{sheet_name}" cannot be read: the workbook is damaged. Open it '
        "in a spreadsheet program and save it again as .xlsx.",
    },
    "F002": {
        "legacy_xls": "The file is an old-style Excel 97-2003 workbook (.xls), which is not "
        f"accepted. Open it in a spreadsheet program, {_SAVE_AS_XLSX}.",
        "old_excel": "The file is an old-style Excel 2.x to 4.0 workbook (a legacy binary "
        "workbook), which is not accepted. Open it in a spreadsheet program, "
        f"{_SAVE_AS_XLSX}.",
        "binary": "The workbook is an Excel Binary Workbook (.xlsb), which is not accepted. Open "
        f"it in a spreadsheet program, {_SAVE_AS_XLSX}.",
        "macro": "The workbook is macro-enabled (.xlsm), which is not accepted. Open it in a "
        f"spreadsheet program, {_SAVE_AS_XLSX} (this removes the macros).",
        "ods_macro": "The spreadsheet contains macros (LibreOffice Basic or scripts), which are "
        f"not accepted. Open it in a spreadsheet program, {_SAVE_AS_XLSX} (this removes the "
        "macros).",
    },
    "F003": {
        "file_size": "The file is {file_bytes:size}, over the {max_file_bytes:size} limit for a "
        "return. " + _SHRINK,
        "parts": "The workbook is made of more than {max_members:,} internal parts, too many to "
        "check safely. " + _SHRINK,
        # Declared: the sizes the zip's directory gives its parts, before any is inflated.
        "declared_size": "The workbook would take up {declared_bytes:size} once opened, over the "
        "{max_uncompressed_bytes:size} limit. " + _SHRINK,
        # Inflated: parts that declared less than they hold, stopped at the limit.
        "inflated_size": "The workbook would take up more than {max_uncompressed_bytes:size} "
        "once opened. " + _SHRINK,
        "sheet_extent": 'Sheet "{sheet_name}" spans {row_count:,} rows by {column_count:,} '
        "columns, {cell_count:,} cells: over the limit of {max_sheet_cells:,}. Delete the "
        "stray cells far from the table (or the rows and columns around them) and save the "
        "workbook again.",
        "ods_extent": "The spreadsheet's sheets span {cell_count:,} cells together, counting "
        "repeated rows and columns, over the limit of {max_sheet_cells:,}; the largest, "
        '"{largest_sheet_name}", spans {largest_row_count:,} rows by {largest_column_count:,} '
        "columns. Delete the rows and columns far from the table (a value or formula filled "
        "down or across far beyond it) and save the spreadsheet again.",
        "sheet_rows": 'Sheet "{sheet_name}" has {row_count:,} rows, more than the limit of '
        "{max_rows:,}.",
        # calamine's own cap on the cells it builds, which the checks above should pre-empt;
        # it names the sheet only when one sheet was being read.
        "reader_cap": "A sheet of the workbook spans {cell_count:,} cells, counting repeated "
        "rows and columns: over the reader's limit of {reader_max_cells:,}. Delete the rows "
        "and columns far from the table and save the workbook again.",
        "sheet_reader_cap": 'Sheet "{sheet_name}" spans {cell_count:,} cells, counting repeated '
        "rows and columns: over the reader's limit of {reader_max_cells:,}. Delete the rows "
        "and columns far from the table and save the workbook again.",
    },
    "F004": {"": "The required sheet {sheet_name} is missing."},
    "F005": {
        "no_header": "No header row found: the first {search_rows} rows hold none of the column "
        "names {column_names!j}.",
        "no_about_header": 'No header row with the columns "field" and "value" was found.',
        "missing_column": 'Required column "{column}" is missing from the header row (row '
        "{header_row}).",
    },
    "F006": {"": 'Sheet "{sheet_name}" is not part of the return and is ignored.'},
    "F007": {
        # The heading as privacy.shown quotes it (as typed, quotes inside made '); one that
        # looks like personal data is withheld and the column named by its letter instead.
        "heading": "Column {heading} is not part of the return and is ignored.",
        "letter": "Column {column_letter} is not part of the return and is ignored.",
        "no_heading": "Column {column_letter} has values but no heading; it is ignored.",
    },
    "F008": {
        "row": "Row {row} is blank in the middle of the table; delete it or fill it in.",
        "rows": "Rows {first_row} to {last_row} are blank in the middle of the table; delete "
        "them or fill them in.",
    },
    "F009": {
        # validate.py's, matching the workbook's sheets
        "repeated_sheet": 'Sheets "{read_sheet}" and "{ignored_sheet}" are both the '
        '{sheet_name} sheet; only "{read_sheet}" is read.',
        "column": 'The column "{column}" appears twice; only the first (column {read_column_letter}'
        ") is read. Delete or rename the other.",
        "field": 'The field "{field}" appears twice; only the first (row {read_row}) is read.',
    },
    # -- cells (compile.py) --
    # A cell's value is the {value} :func:`returns_kit.privacy.shown` gives: quoted, or withheld.
    "V001": {
        "not_integer": "{column} {value} is not a whole number (such as 1234 or 1,234).",
        "not_number": "{column} {value} is not a number (such as 12.5).",
        "not_money": "{column} {value} is not an amount of money (such as 1234.50 or £1,234.50).",
        "not_date": "{column} {value} is not a date (a date cell, 2014-03-31 or 31/03/2014).",
        "wrong_form": "{column} {value} is not in the required form. {column_description}",
    },
    "V002": {"": "{column} {value} is not in its list; use one of {codes!j} (or its label)."},
    "V003": {"": "{column} is {value}, below the minimum of {minimum:g}."},
    "V004": {
        "blank": "{column} is blank; it is required.",
        # A required About field with no row at all (workbook/tables.py), not a blank value.
        "no_about_row": 'The About sheet has no "{field}" row; add one with its value.',
    },
    "V005": {
        "spreadsheet_error": "{column} holds the spreadsheet error {spreadsheet_error}; correct "
        "it, recalculate and save the workbook in a spreadsheet program.",
        "no_saved_result": "{column} holds a formula with no saved result; correct it, "
        "recalculate and save the workbook in a spreadsheet program.",
    },
    # -- About, Budgets, Services, Clients, Explanations (rules/) --
    # A001 and the malformed form of A004 come from the About schema's x-rule (compile.py),
    # in V002's and V001's words.
    "A001": {"": "{column} {value} is not in its list; use one of {codes!j} (or its label)."},
    "A002": {
        "unknown": "council_code {council_code} is not a council with adult social services "
        "responsibilities in the reference list.",
        "inactive": "council_code {council_code} ({council_name}) was not a council with adult "
        "social services responsibilities in {period}.",
    },
    "A003": {
        "": 'council_name {council_name} differs from the reference name "{reference_name}" '
        "for {council_code}."
    },
    "A004": {
        "wrong_form": "{column} {value} is not in the required form. {column_description}",
        "not_a_financial_year": "period {period} is not a financial year: write it as YYYY-YY "
        "with consecutive years, such as 2013-14.",
        "submitted_before_end": "submitted_on {submitted_on} is not after the end of period "
        "{period} (snapshot {snapshot}); a return is signed off once its period has ended.",
    },
    "A005": {
        "": "period {period} is before {first_period}, the first year the reference list of "
        "councils covers."
    },
    # A006 is made where the About sheet's rows are read (workbook/tables.py).
    "A006": {
        "unknown": '"{field}" is not a field of the return; the row is ignored.',
        "no_name": "A value has no field name; the row is ignored.",
    },
    "B001": {
        "": "This row repeats {age_band}/{support_reason}, already given in row {first_row}; "
        "keep one row for it."
    },
    "B002": {"": "No row for {age_band}/{support_reason}; add it, with zeros if nobody is in it."},
    "B003": {
        "": "people_total is {people_total:,} but the six budget types add up to {types_sum:,}."
    },
    "S001": {
        "": "This row repeats {service_type}/{arrangement}, already given in row {first_row}; "
        "keep one row for it."
    },
    "S002": {
        "": "planned_hours_per_week is blank on a {service_type} row; it is required for home "
        "care and personal assistant services."
    },
    "S003": {
        "budgets_only": "Budgets shows {budget_holders:counted person/people} with an ISF but "
        "no Services row with arrangement ISF has people in it.",
        "services_only": "Services shows {people_served:counted person/people} served through "
        "ISF but Budgets shows nobody with an ISF.",
    },
    "S004": {
        "budgets_only": "Budgets shows {budget_holders:counted person/people} with a direct "
        "payment (self-managed, part or third-party) but no Services row with arrangement "
        "DIRECT_PAYMENT has people in it.",
        "services_only": "Services shows {people_served:counted person/people} served through "
        "DIRECT_PAYMENT but Budgets shows nobody with a direct payment (self-managed, part or "
        "third-party).",
    },
    "S005": {
        "below_minimum": "Spend per person is £{spend_per_person:,.2f} a year (below "
        "£{spend_per_person_min:,.0f}): £{gross_spend_gbp:,.2f} for "
        "{people:counted person/people}. Check it, or explain it on the Explanations sheet.",
        "above_maximum": "Spend per person is £{spend_per_person:,.2f} a year (above "
        "£{spend_per_person_max:,.0f}): £{gross_spend_gbp:,.2f} for "
        "{people:counted person/people}. Check it, or explain it on the Explanations sheet.",
    },
    # C001 names the kind of identifier ("an NHS number"), never the value.
    "C001": {
        "": "This {column} looks like {identifier_kind}, a direct identifier; replace it with "
        "the council's pseudonymous reference. The value is not repeated here."
    },
    "C002": {
        "": "{column} is {value} here but {first_value} on this client's first row (row "
        "{first_row}); a client has one {column} on every row."
    },
    "C003": {
        "": "{column} is {budgets_count:,} here but the Clients sheet has "
        "{clients_count:counted such person/such people} for {age_band}/{support_reason}."
    },
    "C004": {
        "row_differs": "people is {people:,} here but the Clients sheet has "
        "{clients_count:counted person/people} receiving {service_type}/{arrangement}.",
        "no_services_row": "The Clients sheet has {clients_count:counted person/people} receiving "
        "{service_type}/{arrangement} but Services has no row for it.",
    },
    "C005": {
        "": "provider_ref is blank on a {arrangement} row; only services bought by direct "
        "payment may leave it blank."
    },
    "C006": {
        "blank": "allocation_notified_on is blank for a {budget_type} budget; a personal budget "
        "starts with telling the person their allocation.",
        "after_snapshot": "allocation_notified_on {allocation_notified_on} is after the snapshot "
        "date {snapshot}.",
    },
    # "at_least" when some budgets cannot be read: counted against the query, so the figures
    # are bounds.
    "C007": {
        "sure": "{nominal:,} of {council_managed:,} council-managed budgets ({nominal_share:.0%}) "
        "are nominal: the person was not told an allocation, has no agreed support plan, or "
        "does not direct their support. Above {nominal_share_max:.0%} this must be explained.",
        "at_least": "at least {nominal:,} of up to {council_managed:,} council-managed budgets "
        "(at least {nominal_share:.0%}) are nominal: the person was not told an allocation, has "
        "no agreed support plan, or does not direct their support. Above "
        "{nominal_share_max:.0%} this must be explained.",
    },
    "E001": {
        "": "This explanation has {characters} characters; at least {explanation_min_chars} are "
        "needed for it to count."
    },
    "E002": {
        "not_a_rule": "{rule} is not a rule; only query findings can be explained.",
        "not_a_query": "{rule} is not a query ({severity}); only query findings can be explained.",
    },
    # -- periods (rules/periods.py, aggregate/screens.py, ledger) --
    "P001": {
        "": "The personal budget rate rose from {pb_rate_before:.1%} in {previous_period} to "
        "{pb_rate_after:.1%} ({pb_rate_change_points:+.1f} points). Explain what changed for "
        "these people."
    },
    "P002": {
        "": "Suspected relabelling: the personal budget rate rose {pb_rate_change_points:.1f} "
        "points, but the choice rate moved only {choice_rate_change_points:+.1f} points and "
        "the services did not change (service shift {service_shift:.3f}, block-contract share "
        "{block_share_before:.1%} to {block_share_after:.1%})."
    },
    "P003": {
        "": "{clients:,} clients in both periods moved from no personal budget to a "
        "council-managed budget with the same services, arrangements, providers and cost."
    },
    "P004": {
        "": "people_total changed from {people_total_before:,} in {previous_period} to "
        "{people_total_after:,} ({people_total_change:+.0%})."
    },
    "P005": {
        "series_break": "No comparison with {previous_period}: {period} is a national series "
        "break (councils' own recording changed).",
        "formed": "No comparison with {previous_period}: {council_name} was formed in {period} "
        "by a reorganisation of {predecessors!j}.",
        "predecessor": "No comparison with {previous_period}: the previous return is a "
        "predecessor's in a council reorganisation (a merger or split).",
    },
    "P010": {
        # a rate as a percentage, a count of people as a whole number
        "rate": "The {measure_label} moved from {previous:.1%} in {previous_period} to "
        "{current:.1%} (x{ratio:.2f}, against a median of x{median_ratio:.2f} over the "
        "{councils_compared:counted council} compared): an unusual {direction} for the period, "
        "with a Hidiroglou-Berthelot score of {score:.2f} outside {lower:.2f} to {upper:.2f}. "
        "Explain what changed.",
        "count": "The {measure_label} moved from {previous:,.0f} in {previous_period} to "
        "{current:,.0f} (x{ratio:.2f}, against a median of x{median_ratio:.2f} over the "
        "{councils_compared:counted council} compared): an unusual {direction} for the period, "
        "with a Hidiroglou-Berthelot score of {score:.2f} outside {lower:.2f} to {upper:.2f}. "
        "Explain what changed.",
    },
    "P011": {
        "": "{measure_label!c} went from {previous:,} in {previous_period} to {current:,} while "
        "{related_label} went the other way, from {related_previous:,} to {related_current:,}: "
        "people may be reported on the wrong line. Check both counts."
    },
    "P012": {
        # series_listed: the council's counts as the message lists them ("2012-13 1,195,
        # 2013-14 480"); the same numbers are the finding's evidence "series", as data
        "spike": "{measure_label!c} numbered {current:,} in {period}, back near "
        "{reference:,.0f} in {period_before_spike}, so {spike:,} in {previous_period} looks "
        "out of line with the council's own years (series: {series_listed}). Check the "
        "earlier figure.",
        "level": "{measure_label!c} numbered {current:,} in {period}, a factor of {factor:.1f} "
        "from the council's own median of {reference:,.0f} over "
        "{history_periods:counted earlier period} and far from {previous_count:,} in "
        "{previous_period} (series: {series_listed}). Check the figure.",
    },
    "P006": {
        **{
            f"{reason}{suffix}": f"No comparison with {previous}: {why}, so the "
            "period-to-period rules were not run."
            for reason, why in {
                "missing": "no return for it was received",
                "errors": "its return has errors",
                "conflict": "{returns} different returns for it are in conflict",
                "unusable": "its return could not be used",
                "this-return-errors": "this return has errors",
            }.items()
            # the previous period by name, or (not known) in words
            for suffix, previous in (("", "{previous_period}"), ("-unnamed", "the previous period"))
        },
        # the collection ledger: why the collection has no current return for the period
        "collection": "No comparison with the previous period ({previous_period}): {why}, so "
        "the period-to-period rules were not run.",
    },
    # -- the internal error --
    # It names only the exception's type: its text may quote a cell's value.
    "X001": {
        "": "returns_kit failed on this file ({exception}); please report it. This is a defect "
        "of returns_kit, not of the file."
    },
}


class _Formatter(string.Formatter):
    """str.format with ``!j``, ``!c``, ``:counted noun``, ``:size`` and None as "unknown"."""

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "j":
            return ", ".join(str(item) for item in value)
        if conversion == "c":
            return value[:1].upper() + value[1:]
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        if format_spec.startswith("counted "):
            singular, _, plural = format_spec.removeprefix("counted ").partition("/")
            return counted(value, singular, plural or None)
        if format_spec == "size":
            return _size_text(value)
        if value is None:
            return "unknown"
        return super().format_field(value, format_spec)


def _size_text(n: int) -> str:
    """``n`` bytes in the largest binary unit it reaches, to one decimal place.

    >>> _size_text(52_428_800), _size_text(1536), _size_text(1023)
    ('50 MB', '1.5 KB', '1,023 bytes')
    """
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:,.1f}".removesuffix(".0") + f" {unit}"
    return f"{n:,} bytes"


_FORMATTER = _Formatter()


def render(rule_id: str, variant: str, params: Mapping[str, Any]) -> str:
    """The message of ``rule_id``'s ``variant`` template filled with ``params``.

    >>> TEMPLATES["_example"] = {"": "{n:counted person/people} in {columns!j}, {rate:.1%}."}
    >>> render("_example", "", {"n": 1200, "columns": ["a", "b"], "rate": None})
    '1,200 people in a, b, unknown.'
    >>> del TEMPLATES["_example"]
    """
    template = TEMPLATES[rule_id][variant]
    if params.keys() != fields(template):
        # A defect of the rule, not of the file: params hold exactly what the message shows,
        # so that a reader of params sees every figure of the message and nothing else.
        raise ValueError(
            f"{rule_id} {variant!r}: params {sorted(params)} but the template uses "
            f"{sorted(fields(template))}"
        )
    return _FORMATTER.vformat(template, (), params)


@cache
def fields(template: str) -> frozenset[str]:
    """The parameter names a template uses: what its findings' ``params`` must hold."""
    return frozenset(name for _, name, _, _ in _FORMATTER.parse(template) if name)
