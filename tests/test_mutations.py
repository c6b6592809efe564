"""One changed cell, exactly its findings.

Hypothesis draws a valid synthetic return (council, period, seed, size, with or without
Clients and Explanations, written by openpyxl, xlsxwriter or as .ods), which must validate
with no finding at all. It then changes one cell, by a mutation from ``MUTATIONS``, and the
findings must be exactly those the spec defines for that change:

* a value that cannot be read (text in a count, a fraction or a negative, an unknown code, a
  blank required cell, an impossible date, a value not in its form, a formula with no saved
  value, a direct identifier) gives one finding, at that cell, and nothing else: the value is
  unknown, so no other rule concludes anything from it;
* a value changed to another valid one (a count, an amount, a code, a date, the period, the
  council) gives exactly what the spec's rules say of the changed return, worked out here by
  :func:`expected_findings`, a plain-Python reading of those rules over the sheet grids;
* a value written another way the spec accepts (a label for a code, ``1,234``, ``£1,234.50``,
  ``31/03/2014``, a heading in other case) gives none;
* a heading renamed gives F007 at it (and F005 for a required column), and the rules that need
  the column report what its absence means.

CI runs a few derandomized examples of each mutation; set RETURNS_KIT_MUTATIONS=500 to run
that many random examples of each.
"""

from __future__ import annotations

import copy
import datetime
import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from returns_kit.cells import SERIAL_EPOCH
from returns_kit.config import Thresholds
from returns_kit.measures import BUDGET_TYPES, DIRECT_PAYMENTS
from returns_kit.periods import Period
from returns_kit.reference import FIRST_PERIOD, load_reference, names_match
from returns_kit.rules.catalogue import RULES
from returns_kit.schema import FieldSpec, SheetSpec, sheet_specs
from returns_kit.validate import validate_return
from returns_kit.workbook.reader import column_letter
from tools.synth import Formula, SyntheticReturn, generate_return, write_ods, write_xlsx
from tools.synth.model import Cell

from .typed import integer, real

_LONG_RUN = int(os.environ.get("RETURNS_KIT_MUTATIONS", "0"))
_SETTINGS = settings(
    max_examples=_LONG_RUN or 4,
    deadline=None,
    derandomize=not _LONG_RUN,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

REFERENCE = load_reference()
SPECS = sheet_specs()
THRESHOLDS = Thresholds()
PERIODS = [Period(year) for year in range(2010, 2025)]
ENGINES = ("openpyxl", "xlsxwriter", "ods")
TABLE_SHEETS = ("Budgets", "Services", "Clients", "Explanations")

HOURLY = ("HOME_CARE", "PERSONAL_ASSISTANT")
DIRECT_PAYMENT_TYPES = DIRECT_PAYMENTS
QUERY_RULES = sorted(rule for rule, spec in RULES.items() if spec.severity.value == "query")

EXPLANATIONS = [
    ("S005", "HOME_CARE/BLOCK_CONTRACT", "The block contract's hourly rate was set in 2012."),
    ("P001", "", "Day services moved to Individual Service Funds after the 2014 review."),
    ("C007", "", "Allocation letters were sent before support plans were agreed."),
]

#: (rule, sheet, cell, scope), as compared
Expect = tuple[str, str | None, str | None, str | None]


# --- drawing a valid return ------------------------------------------------------------------


@dataclass
class Drawn:
    ret: SyntheticReturn
    engine: str

    def __repr__(self) -> str:
        sizes = {name: len(grid) - 1 for name, grid in self.ret.sheets.items()}
        return f"Drawn({self.ret.council_code} {self.ret.period}, rows {sizes}, {self.engine})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@st.composite
def valid_returns(
    draw: st.DrawFn, clients: bool | None = None, explanations: bool | None = None
) -> Drawn:
    period = draw(st.sampled_from(PERIODS))
    council = draw(st.sampled_from(REFERENCE.active(period)))
    with_clients = draw(st.booleans()) if clients is None else clients
    with_explanations = draw(st.booleans()) if explanations is None else explanations
    given = (
        draw(st.lists(st.sampled_from(EXPLANATIONS), min_size=1, max_size=3, unique=True))
        if with_explanations
        else None
    )
    ret = generate_return(
        council.gss_code,
        str(period),
        seed=draw(st.integers(0, 100_000)),
        people=draw(st.integers(1, 60)),
        with_clients=with_clients,
        explanations=given,
    )
    return Drawn(ret, draw(st.sampled_from(ENGINES)))


def write(ret: SyntheticReturn, engine: str, folder: Path) -> Path:
    if engine == "ods":
        path = folder / "return.ods"
        write_ods(ret, path)
    else:
        path = folder / "return.xlsx"
        write_xlsx(ret, path, engine="openpyxl" if engine == "openpyxl" else "xlsxwriter")
    return path


def findings_of(ret: SyntheticReturn, engine: str) -> list[Expect]:
    with tempfile.TemporaryDirectory() as folder:
        report = validate_return(write(ret, engine, Path(folder))).report
    return sorted(((f.rule, f.sheet, f.cell, f.scope) for f in report.findings), key=str)


# --- the spec's rules, read plainly over the grids of a return whose every value is valid ------


@dataclass
class Grid:
    """A return's grids with their cells named: table rows as {column: value} by sheet row."""

    ret: SyntheticReturn
    #: (sheet, column) whose heading was renamed: its values are not read
    missing: set[tuple[str, str]] = field(default_factory=set)

    def rows(self, sheet: str) -> list[tuple[int, dict[str, Cell]]]:
        grid = self.ret.sheets.get(sheet)
        if grid is None:
            return []
        header = [str(name) for name in grid[0]]
        named = []
        for index, row in enumerate(grid[1:], start=2):
            values = dict(zip(header, row, strict=True))
            for gone_sheet, column in self.missing:
                if gone_sheet == sheet:
                    values[column] = None
            named.append((index, values))
        return named

    def cell(self, sheet: str, column: str, row: int) -> str | None:
        if (sheet, column) in self.missing:
            return None
        header = [str(name) for name in self.ret.sheets[sheet][0]]
        return f"{column_letter(header.index(column))}{row}"

    def about(self) -> dict[str, tuple[Cell, str]]:
        """field -> (value, cell of the value)."""
        return {
            str(row[0]): (row[1], f"B{index}")
            for index, row in enumerate(self.ret.sheets["About"][1:], start=2)
        }


def _scope(first: Cell, second: Cell) -> str:
    return f"{first}/{second}"


def _blank(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def expected_findings(grid: Grid) -> list[Expect]:
    """What the spec's rules find in a return whose every value can be read."""
    found: list[Expect] = []
    found += _about_rules(grid)
    found += _budgets_rules(grid)
    found += _services_rules(grid)
    found += _clients_rules(grid)
    found += _explanations_rules(grid)
    return sorted(found, key=str)


def _snapshot(grid: Grid) -> datetime.date | None:
    period = grid.about()["period"][0]
    parsed = Period.parse(period) if isinstance(period, str) else None
    return parsed.snapshot if parsed else None


def _about_rules(grid: Grid) -> list[Expect]:
    about = grid.about()
    found: list[Expect] = []
    code, code_cell = about["council_code"]
    name, name_cell = about["council_name"]
    period_text, period_cell = about["period"]
    submitted, submitted_cell = about["submitted_on"]
    period = Period.parse(str(period_text))
    council = REFERENCE.lookup(str(code))
    if council is None:
        found.append(("A002", "About", code_cell, None))
    else:
        if period is not None and period >= FIRST_PERIOD and not council.active_in(period):
            found.append(("A002", "About", code_cell, None))
        if not names_match(str(name), council.name):
            found.append(("A003", "About", name_cell, None))
    if period is None:
        found.append(("A004", "About", period_cell, None))
    else:
        assert isinstance(submitted, datetime.date)
        if submitted <= period.snapshot:
            found.append(("A004", "About", submitted_cell, None))
        if period < FIRST_PERIOD:
            found.append(("A005", "About", period_cell, None))
    return found


def _budgets_rules(grid: Grid) -> list[Expect]:
    found: list[Expect] = []
    spec = SPECS["Budgets"]
    seen: set[tuple[Cell, Cell]] = set()
    for row, values in grid.rows("Budgets"):
        key = (values["age_band"], values["support_reason"])
        if key in seen:
            found.append(("B001", "Budgets", grid.cell("Budgets", "age_band", row), _scope(*key)))
        seen.add(key)
        total = sum(integer(values[name] or 0) for name in BUDGET_TYPES)
        if total != values["people_total"]:
            found.append(
                ("B003", "Budgets", grid.cell("Budgets", "people_total", row), _scope(*key))
            )
    for age in spec.field("age_band").code_list:
        for reason in spec.field("support_reason").code_list:
            if (age, reason) not in seen:
                found.append(("B002", "Budgets", None, _scope(age, reason)))
    return found


def _services_rules(grid: Grid) -> list[Expect]:
    found: list[Expect] = []
    seen: set[tuple[Cell, Cell]] = set()
    served: Counter[Cell] = Counter()
    for row, values in grid.rows("Services"):
        key = (values["service_type"], values["arrangement"])
        scope = _scope(*key)
        if key in seen:
            found.append(("S001", "Services", grid.cell("Services", "service_type", row), scope))
        seen.add(key)
        people = integer(values["people"] or 0)
        served[values["arrangement"]] += people
        hours_cell = grid.cell("Services", "planned_hours_per_week", row)
        if key[0] in HOURLY and people > 0 and _blank(values["planned_hours_per_week"]):
            found.append(("S002", "Services", hours_cell, scope))
        spend = values["gross_spend_gbp"]
        assert isinstance(spend, int | float)
        low, high = THRESHOLDS.spend_per_person_min, THRESHOLDS.spend_per_person_max
        if people > 0 and not low <= spend / people <= high:
            found.append(("S005", "Services", grid.cell("Services", "gross_spend_gbp", row), scope))
    budgets = grid.rows("Budgets")
    for rule, columns, arrangement in (
        ("S003", ("isf",), "ISF"),
        ("S004", DIRECT_PAYMENT_TYPES, "DIRECT_PAYMENT"),
    ):
        held = sum(integer(values[name] or 0) for _, values in budgets for name in columns)
        if (held > 0) != (served[arrangement] > 0):
            found.append((rule, "Services", None, None))
    return found


def _clients_rules(grid: Grid) -> list[Expect]:
    rows = grid.rows("Clients")
    if not rows:
        return []
    found: list[Expect] = []
    snapshot = _snapshot(grid)
    first: dict[str, dict[str, Cell]] = {}
    reported: set[tuple[str, str]] = set()
    services: defaultdict[tuple[Cell, Cell], set[str]] = defaultdict(set)
    for row, values in rows:
        ref = str(values["client_ref"]).strip()
        first.setdefault(ref, values)
        for name in ("age_band", "support_reason", "budget_type"):
            if values[name] != first[ref][name] and (ref, name) not in reported:
                reported.add((ref, name))
                found.append(("C002", "Clients", grid.cell("Clients", name, row), None))
        services[values["service_type"], values["arrangement"]].add(ref)
        if values["service_type"] in HOURLY and _blank(values["planned_hours_per_week"]):
            found.append(
                ("S002", "Clients", grid.cell("Clients", "planned_hours_per_week", row), None)
            )
        if values["arrangement"] != "DIRECT_PAYMENT" and _blank(values["provider_ref"]):
            found.append(("C005", "Clients", grid.cell("Clients", "provider_ref", row), None))
        allocation = values["allocation_notified_on"]
        if values["budget_type"] != "NO_PERSONAL_BUDGET" and (
            _blank(allocation)
            or (
                snapshot is not None
                and isinstance(allocation, datetime.date)
                and allocation > snapshot
            )
        ):
            found.append(
                ("C006", "Clients", grid.cell("Clients", "allocation_notified_on", row), None)
            )
    found += _clients_and_budgets(grid, first)
    found += _clients_and_services(grid, services)
    found += _nominal(grid, rows, first, snapshot)
    return found


def _repeated(grid: Grid, sheet: str, key: tuple[str, str]) -> set[tuple[Cell, Cell]]:
    keys = Counter((values[key[0]], values[key[1]]) for _, values in grid.rows(sheet))
    return {found for found, n in keys.items() if n > 1}


def _clients_and_budgets(grid: Grid, first: dict[str, dict[str, Cell]]) -> list[Expect]:
    counts: Counter[tuple[Cell, Cell, str]] = Counter()
    totals: Counter[tuple[Cell, Cell]] = Counter()
    for values in first.values():
        key = (values["age_band"], values["support_reason"])
        totals[key] += 1
        counts[(*key, str(values["budget_type"]).lower())] += 1
    found: list[Expect] = []
    # A row given twice is B001's finding alone: its counts are not compared as well.
    repeated = _repeated(grid, "Budgets", ("age_band", "support_reason"))
    for row, values in grid.rows("Budgets"):
        key = (values["age_band"], values["support_reason"])
        if key in repeated:
            continue
        for name in ("people_total", *BUDGET_TYPES):
            derived = totals[key] if name == "people_total" else counts[(*key, name)]
            if values[name] != derived:
                found.append(("C003", "Budgets", grid.cell("Budgets", name, row), _scope(*key)))
    return found


def _clients_and_services(grid: Grid, services: dict[tuple[Cell, Cell], set[str]]) -> list[Expect]:
    found: list[Expect] = []
    listed = set()
    # A service given twice is S001's finding alone: its people are not compared as well.
    repeated = _repeated(grid, "Services", ("service_type", "arrangement"))
    for row, values in grid.rows("Services"):
        key = (values["service_type"], values["arrangement"])
        listed.add(key)
        if key in repeated:
            continue
        if values["people"] != len(services.get(key, ())):
            found.append(("C004", "Services", grid.cell("Services", "people", row), _scope(*key)))
    for key in set(services) - listed:
        found.append(("C004", "Services", None, _scope(*key)))
    return found


def _nominal(
    grid: Grid,
    rows: list[tuple[int, dict[str, Cell]]],
    first: dict[str, dict[str, Cell]],
    snapshot: datetime.date | None,
) -> list[Expect]:
    needed = ("allocation_notified_on", "support_plan_agreed_on", "person_directs_support")
    if snapshot is None or any(("Clients", name) in grid.missing for name in needed):
        return []
    real: dict[str, bool] = {}
    for _, values in rows:
        ref = str(values["client_ref"]).strip()
        allocation, plan = values["allocation_notified_on"], values["support_plan_agreed_on"]
        met = (
            isinstance(allocation, datetime.date)
            and allocation <= snapshot
            and isinstance(plan, datetime.date)
            and plan <= snapshot
            and values["person_directs_support"] == "Y"
        )
        real[ref] = real.get(ref, True) and met
    managed = [ref for ref, values in first.items() if values["budget_type"] == "COUNCIL_MANAGED"]
    nominal = sum(not real[ref] for ref in managed)
    if managed and nominal / len(managed) > THRESHOLDS.nominal_share_max:
        return [("C007", "Clients", None, None)]
    return []


def _explanations_rules(grid: Grid) -> list[Expect]:
    found: list[Expect] = []
    for row, values in grid.rows("Explanations"):
        rule = str(values["rule"]).upper()
        if rule not in QUERY_RULES:
            found.append(("E002", "Explanations", grid.cell("Explanations", "rule", row), None))
        if len(str(values["explanation"]).strip()) < THRESHOLDS.explanation_min_chars:
            cell = grid.cell("Explanations", "explanation", row)
            found.append(("E001", "Explanations", cell, None))
    return found


# --- the catalogue of mutations -----------------------------------------------------------------


@dataclass
class Change:
    """One cell changed: what is written, and what the findings must then be."""

    sheet: str
    row: int  #: index into the sheet's grid (0 is the header row)
    column: int
    written: Cell
    #: for a value that cannot be read: the one rule reported at the cell
    rule: str | None = None
    #: for a valid value: the value as the spec reads it (the rules say the rest)
    typed: Cell = None
    #: for a renamed heading: the column whose values are no longer read
    renamed: str | None = None

    @property
    def cell(self) -> str:
        return f"{column_letter(self.column)}{self.row + 1}"


Mutator = Callable[[st.DataObject, SyntheticReturn], Change]


@dataclass(frozen=True)
class Mutation:
    name: str
    mutate: Mutator
    #: the return must have a Clients (or Explanations) sheet for this mutation
    clients: bool | None = None
    explanations: bool | None = None


def _field_cells(
    ret: SyntheticReturn, want: Callable[[FieldSpec], bool], sheets: Iterable[str] = TABLE_SHEETS
) -> list[tuple[str, int, int, FieldSpec]]:
    """(sheet, grid row, grid column, field) of every data cell whose field is wanted."""
    cells = []
    for sheet in sheets:
        grid = ret.sheets.get(sheet)
        if grid is None:
            continue
        spec: SheetSpec = SPECS[sheet]
        if sheet == "About":
            for index, row in enumerate(grid[1:], start=1):
                if want(spec.field(str(row[0]))):
                    cells.append((sheet, index, 1, spec.field(str(row[0]))))
            continue
        for column, name in enumerate(grid[0]):
            if want(spec.field(str(name))):
                cells.extend(
                    (sheet, row, column, spec.field(str(name))) for row in range(1, len(grid))
                )
    return cells


def _pick(
    data: st.DataObject,
    ret: SyntheticReturn,
    want: Callable[[FieldSpec], bool],
    sheets: Iterable[str] = TABLE_SHEETS,
    where: Callable[[str, int, int], bool] = lambda *_: True,
) -> tuple[str, int, int, FieldSpec]:
    cells = [c for c in _field_cells(ret, want, sheets) if where(c[0], c[1], c[2])]
    return data.draw(st.sampled_from(cells), label="cell")


def _value(ret: SyntheticReturn, sheet: str, row: int, column: int) -> Cell:
    return ret.sheets[sheet][row][column]


def _column(ret: SyntheticReturn, sheet: str, name: str) -> int:
    return [str(n) for n in ret.sheets[sheet][0]].index(name)


_ALL_SHEETS = ("About", *TABLE_SHEETS)
_NUMERIC = ("integer", "number", "money")


def _unreadable(sheet: str, row: int, column: int, written: Cell, rule: str) -> Change:
    return Change(sheet, row, column, written, rule=rule)


# Values that cannot be read: one finding at the cell.


def text_in_number(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, _ = _pick(data, ret, lambda f: f.kind in _NUMERIC)
    text = data.draw(st.sampled_from(["n/a", "lots", "twelve", "1.2.3", "12 people", "?", "1 000"]))
    return _unreadable(sheet, row, column, text, "V001")


def fraction_in_whole_number(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, _ = _pick(data, ret, lambda f: f.kind == "integer")
    value = _value(ret, sheet, row, column)
    return _unreadable(sheet, row, column, integer(value or 0) + 0.5, "V001")


def negative_number(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, spec = _pick(data, ret, lambda f: f.kind in _NUMERIC)
    amount = -data.draw(st.integers(1, 10**6))
    written: Cell = amount if spec.kind == "integer" else amount / 4
    return _unreadable(sheet, row, column, written, "V003")


def unknown_code(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, spec = _pick(data, ret, lambda f: f.kind == "code", _ALL_SHEETS)
    text = data.draw(st.sampled_from(["XYZ", "Home cares", "16-17", "Maybe", "2.0", "0"]))
    assert all(text.casefold() not in (c.casefold(), lab.casefold()) for c, lab in spec.codes)
    return _unreadable(sheet, row, column, text, spec.rule or "V002")


def blank_required(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, _ = _pick(data, ret, lambda f: f.required, _ALL_SHEETS)
    written = data.draw(st.sampled_from([None, "   "]))
    return _unreadable(sheet, row, column, written, "V004")


def impossible_date(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, _ = _pick(data, ret, lambda f: f.kind == "date", _ALL_SHEETS)
    impossible: list[Cell] = ["31/02/2015", "soon", "3000-01-01", "2015-13-01", "1899-12-31", 12]
    written = data.draw(st.sampled_from(impossible))
    return _unreadable(sheet, row, column, written, "V001")


_WRONG_FORM = {
    "council_code": ["E0600001", "W06000001", "Hartlepool", "E06 000001"],
    "contact_email": ["returns at council", "returns@", "@council.gov.uk"],
    "period": ["2015/16", "2015-17", "15-16", "2015"],
    "client_ref": ["A!", "abc", "CL 0001", "x" * 65],
    "rule": ["S05", "S0005", "5005", "query"],
}


def wrong_form(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, spec = _pick(data, ret, lambda f: f.name in _WRONG_FORM, _ALL_SHEETS)
    text = data.draw(st.sampled_from(_WRONG_FORM[spec.name]))
    return _unreadable(sheet, row, column, text, spec.rule or "V001")


def formula_without_value(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, _ = _pick(data, ret, lambda f: True, _ALL_SHEETS)
    return _unreadable(sheet, row, column, Formula("=1+1"), "V005")


def direct_identifier(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, _ = _pick(data, ret, lambda f: f.identifier, ("Clients",))
    text = data.draw(
        st.sampled_from(
            ["9434765919", "943 476 5919", "someone@example.org", "SW1A 1AA", "sw1a1aa"]
        )
    )
    return _unreadable(sheet, row, column, text, "C001")


# Valid values changed: the rules say what follows.


def _valid(sheet: str, row: int, column: int, value: Cell) -> Change:
    return Change(sheet, row, column, value, typed=value)


def count_changed(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, _ = _pick(data, ret, lambda f: f.kind == "integer", ("Budgets", "Services"))
    old = integer(_value(ret, sheet, row, column) or 0)
    new = data.draw(st.integers(0, old + 20).filter(lambda n: n != old))
    return _valid(sheet, row, column, new)


def amount_changed(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, _ = _pick(data, ret, lambda f: f.kind in ("number", "money"))
    new = data.draw(st.sampled_from([0, 0.5, 50.0, 99.99, 100.0, 12_345.67, 500_000.0, 10**7]))
    return _valid(sheet, row, column, new)


def optional_blanked(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, _ = _pick(data, ret, lambda f: not f.required)
    return _valid(sheet, row, column, None)


def code_changed(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, spec = _pick(data, ret, lambda f: f.kind == "code")
    old = _value(ret, sheet, row, column)
    new = data.draw(st.sampled_from([c for c in spec.code_list if c != old]))
    return _valid(sheet, row, column, new)


def date_changed(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, _ = _pick(data, ret, lambda f: f.kind == "date", _ALL_SHEETS)
    snapshot = datetime.date(int(ret.period[:4]) + 1, 3, 31)
    new = snapshot + datetime.timedelta(days=data.draw(st.integers(-800, 400)))
    return _valid(sheet, row, column, new)


def about_changed(data: st.DataObject, ret: SyntheticReturn) -> Change:
    names = {str(row[0]): index for index, row in enumerate(ret.sheets["About"])}
    what = data.draw(st.sampled_from(["period", "council_code", "council_name"]))
    if what == "period":
        start = int(ret.period[:4]) + data.draw(st.sampled_from([-5, -3, -1, 1, 2, 4]))
        new: Cell = str(Period(start))
    elif what == "council_code":
        council = data.draw(st.sampled_from(sorted(REFERENCE.councils.values(), key=str)))
        codes = [council.gss_code, *council.former_gss_codes]
        new = data.draw(st.sampled_from(codes))
    else:
        own = REFERENCE.councils[ret.council_code].name
        other = data.draw(st.sampled_from(sorted(c.name for c in REFERENCE.councils.values())))
        new = data.draw(
            st.sampled_from([other, f"The {own} Council".upper(), f"{own} borough council"])
        )
    return _valid("About", names[what], 1, new)


def explanation_changed(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, spec = _pick(data, ret, lambda f: True, ("Explanations",))
    if spec.name == "rule":
        new: Cell = data.draw(st.sampled_from(sorted(RULES)))
    elif spec.name == "scope":
        new = data.draw(st.sampled_from(["65+/MEMORY_COGNITION", "anything at all", "x"]))
    else:
        new = data.draw(st.text(alphabet="abcdef ,.", min_size=1, max_size=40).filter(str.strip))
    return _valid(sheet, row, column, new)


# The same value written another way the spec accepts: nothing to find.


def _other_form(data: st.DataObject, spec: FieldSpec, value: Cell) -> Cell:
    if spec.kind == "code":
        label = dict(spec.codes)[str(value)]
        text = data.draw(st.sampled_from([label, str(value)]))
        hows: list[Callable[[str], str]] = [str.upper, str.lower, str.title, str]
        how = data.draw(st.sampled_from(hows))
        spaced = data.draw(st.booleans())
        text = how(text)
        return f"  {text.replace('_', ' ')} " if spaced else text
    if spec.kind == "integer":
        number = integer(value or 0)
        wholes: list[Cell] = [f"{number:,}", f" {number} ", float(number), f"{number}.0"]
        return data.draw(st.sampled_from(wholes))
    if spec.kind in ("number", "money"):
        amount = real(value or 0)
        forms: list[Cell] = [f"{amount:,}", str(amount)]
        if spec.kind == "money":
            forms.append(f"£{amount:,.2f}")
        return data.draw(st.sampled_from(forms))
    if spec.kind == "date":
        assert isinstance(value, datetime.date)
        dates: list[Cell] = [
            value.isoformat(),
            value.strftime("%d/%m/%Y"),
            (value - SERIAL_EPOCH).days,
        ]
        return data.draw(st.sampled_from(dates))
    return value


def same_value_other_form(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet, row, column, spec = _pick(
        data,
        ret,
        lambda f: f.kind in ("code", "integer", "number", "money", "date"),
        _ALL_SHEETS,
        where=lambda s, r, c: _value(ret, s, r, c) is not None,
    )
    written = _other_form(data, spec, _value(ret, sheet, row, column))
    return Change(sheet, row, column, written, typed=_value(ret, sheet, row, column))


def heading_other_form(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet = data.draw(st.sampled_from([s for s in _ALL_SHEETS if s in ret.sheets]))
    if sheet == "About":
        row = data.draw(st.integers(0, len(ret.sheets["About"]) - 1))
        column = 0 if row else data.draw(st.integers(0, 1))
    else:
        row, column = 0, data.draw(st.integers(0, len(ret.sheets[sheet][0]) - 1))
    name = str(_value(ret, sheet, row, column))
    how = data.draw(st.sampled_from([str.upper, str.title, lambda t: t.replace("_", " ")]))
    written = f" {how(name).replace('_', '-')} " if data.draw(st.booleans()) else how(name)
    return Change(sheet, row, column, written, typed=name)


# A heading renamed: the column is no longer read.


def heading_renamed(data: st.DataObject, ret: SyntheticReturn) -> Change:
    sheet = data.draw(st.sampled_from([s for s in TABLE_SHEETS if s in ret.sheets]))
    column = data.draw(st.integers(0, len(ret.sheets[sheet][0]) - 1))
    name = str(_value(ret, sheet, 0, column))
    return Change(sheet, 0, column, f"{name}s", renamed=name)


MUTATIONS = [
    Mutation("text-in-number", text_in_number),
    Mutation("fraction-in-whole-number", fraction_in_whole_number),
    Mutation("negative-number", negative_number),
    Mutation("unknown-code", unknown_code),
    Mutation("blank-required", blank_required),
    Mutation("impossible-date", impossible_date, clients=True),
    Mutation("wrong-form", wrong_form),
    Mutation("formula-without-value", formula_without_value),
    Mutation("direct-identifier", direct_identifier, clients=True),
    Mutation("count-changed", count_changed),
    Mutation("count-changed-with-clients", count_changed, clients=True),
    Mutation("amount-changed", amount_changed),
    Mutation("optional-blanked", optional_blanked),
    Mutation("optional-blanked-in-clients", optional_blanked, clients=True),
    Mutation("code-changed", code_changed),
    Mutation("code-changed-with-clients", code_changed, clients=True),
    Mutation("date-changed", date_changed, clients=True),
    Mutation("about-changed", about_changed),
    Mutation("explanation-changed", explanation_changed, explanations=True),
    Mutation("same-value-other-form", same_value_other_form),
    Mutation("heading-other-form", heading_other_form),
    Mutation("heading-renamed", heading_renamed),
]


def expected_after(ret: SyntheticReturn, change: Change) -> list[Expect]:
    if change.rule is not None:
        return [(change.rule, change.sheet, change.cell, None)]
    typed = copy.deepcopy(ret)
    grid = Grid(typed)
    if change.renamed is not None:
        spec = SPECS[change.sheet].field(change.renamed)
        grid.missing.add((change.sheet, change.renamed))
        extra: list[Expect] = [("F007", change.sheet, change.cell, None)]
        if spec.required:
            # Nothing is concluded from a required column that is not there.
            return sorted([*extra, ("F005", change.sheet, None, None)], key=str)
        return sorted([*extra, *expected_findings(grid)], key=str)
    typed.sheets[change.sheet][change.row][change.column] = change.typed
    return expected_findings(grid)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
@_SETTINGS
@given(data=st.data())
def test_one_changed_cell_gives_exactly_its_findings(
    mutation: Mutation, data: st.DataObject
) -> None:
    drawn = data.draw(valid_returns(mutation.clients, mutation.explanations), label="return")
    ret = drawn.ret
    assert expected_findings(Grid(ret)) == []  # the plain reading agrees the return is valid
    change = mutation.mutate(data, ret)
    note(f"{change.sheet}!{change.cell}: {change.written!r}")
    mutated = copy.deepcopy(ret)
    mutated.sheets[change.sheet][change.row][change.column] = change.written
    found, expected = findings_of(mutated, drawn.engine), expected_after(ret, change)
    unexpected, missing = sorted(set(found) - set(expected)), sorted(set(expected) - set(found))
    assert found == expected, f"unexpected {unexpected}, missing {missing}"


@_SETTINGS
@given(drawn=valid_returns())
def test_valid_returns_validate_clean(drawn: Drawn) -> None:
    assert findings_of(drawn.ret, drawn.engine) == []


# --- worked examples of the arithmetic, written out by hand ------------------------------------


def _worked_example() -> SyntheticReturn:
    # 12 people; one of them (65+/MEMORY_COGNITION, Budgets row 20) holds the only ISF, and
    # receives the only ISF service, HOME_CARE/ISF.
    ret = generate_return("E06000001", "2015-16", seed=7, people=12, with_clients=True)
    assert ret.sheets["Budgets"][19] == ["65+", "MEMORY_COGNITION", 1, 0, 0, 0, 1, 0, 0]
    return ret


def test_a_count_changed_breaks_exactly_the_totals_that_use_it() -> None:
    ret = _worked_example()
    ret.sheets["Budgets"][19][6] = 0  # G20: isf 1 -> 0
    scope = "65+/MEMORY_COGNITION"
    assert findings_of(ret, "openpyxl") == [
        ("B003", "Budgets", "C20", scope),  # people_total 1, budget types now add up to 0
        ("C003", "Budgets", "G20", scope),  # the Clients sheet still has one ISF holder here
        ("S003", "Services", None, None),  # ISF services, but no ISF budgets
    ]


def test_people_served_changed_breaks_exactly_the_totals_that_use_it() -> None:
    ret = _worked_example()
    services = ret.sheets["Services"]
    row = next(i for i, r in enumerate(services) if r[:2] == ["HOME_CARE", "ISF"])
    services[row][2] = 0  # people 1 -> 0: nobody receives an ISF service
    assert findings_of(ret, "openpyxl") == [
        ("C004", "Services", f"C{row + 1}", "HOME_CARE/ISF"),  # Clients has one such person
        ("S003", "Services", None, None),  # an ISF budget, but no ISF service
    ]
