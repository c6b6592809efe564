"""Finding messages as an officer reads them: numbers agree with their nouns, headings and
their own contact address are quoted as typed, and one mistake gives one finding."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from returns_kit.findings import Finding
from returns_kit.validate import validate_file
from tools.synth import generate_return, write_xlsx

from .conftest import FIXTURES


@pytest.fixture(scope="module")
def with_clients(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small valid return with a Clients sheet, for the tests that edit one: openpyxl takes
    seconds to open and save the shipped fixture's (4,418 clients), and size is not the point."""
    path = tmp_path_factory.mktemp("messages") / "E09000033-2014-15.xlsx"
    write_xlsx(generate_return("E09000033", "2014-15", seed=3, people=60, with_clients=True), path)
    assert _findings(path) == []
    return path


def _findings(path: Path) -> list[Finding]:
    return validate_file(path).findings


def _edited(source: Path, out: Path, edit: object) -> Path:
    wb = openpyxl.load_workbook(source)
    edit(wb)  # type: ignore[operator]
    wb.save(out)
    return out


def test_one_person_is_a_person() -> None:
    messages = [f.message for f in _findings(FIXTURES / "invalid/C003.xlsx")]
    assert "the Clients sheet has 1 such person for 18-64/PHYS_ACCESS." in messages[0]
    assert "the Clients sheet has 6 such people for" in messages[1]
    assert not any("1 such people" in m or " 1 people" in m for m in messages)


def test_an_ignored_column_is_named_as_typed(tmp_path: Path) -> None:
    def retitle(wb: openpyxl.Workbook) -> None:
        wb["Services"]["G1"] = "  Officer's Notes-2014 "

    path = _edited(FIXTURES / "invalid/F007.xlsx", tmp_path / "f007.xlsx", retitle)
    [found] = _findings(path)
    assert (found.rule, found.cell) == ("F007", "G1")
    assert (
        found.message == 'Column "Officer\'s Notes-2014" is not part of the return and is ignored.'
    )
    assert found.params == {"heading": '"Officer\'s Notes-2014"'}


def test_an_ignored_column_headed_with_personal_data_is_named_by_letter(tmp_path: Path) -> None:
    def retitle(wb: openpyxl.Workbook) -> None:
        wb["Services"]["G1"] = "jo.bloggs@example.com"

    path = _edited(FIXTURES / "invalid/F007.xlsx", tmp_path / "f007.xlsx", retitle)
    [found] = _findings(path)
    assert found.message == "Column G is not part of the return and is ignored."
    # Withheld from the params as from the message: a reader of the JSON never sees it.
    assert found.params == {"column_letter": "G"}


def _set_about(wb: openpyxl.Workbook, field: str, value: str) -> None:
    about = wb["About"]
    for row in about.iter_rows(min_row=2):
        if row[0].value == field:
            row[1].value = value
            return
    raise AssertionError(field)


def test_a_mistyped_contact_email_is_shown_with_the_form_expected(tmp_path: Path) -> None:
    """The contact address is the officer's work address: quoting it back shows what is
    wrong, and the message gives the form wanted."""
    path = _edited(
        FIXTURES / "valid/hartlepool-2013-14.xlsx",
        tmp_path / "email.xlsx",
        lambda wb: _set_about(wb, "contact_email", "returns@hartlepool"),
    )
    [found] = _findings(path)
    assert (found.rule, found.sheet, found.column) == ("V001", "About", "contact_email")
    assert '"returns@hartlepool"' in found.message
    assert "name@council.gov.uk" in found.message


def test_an_identifier_in_the_contact_email_is_still_withheld(tmp_path: Path) -> None:
    path = _edited(
        FIXTURES / "valid/hartlepool-2013-14.xlsx",
        tmp_path / "email.xlsx",
        lambda wb: _set_about(wb, "contact_email", "943 476 5919"),
    )
    [found] = _findings(path)
    assert "943" not in found.message and "(value not shown)" in found.message


def test_an_email_as_client_ref_is_never_shown(tmp_path: Path, with_clients: Path) -> None:
    def email_ref(wb: openpyxl.Workbook) -> None:
        clients = wb["Clients"]
        column = [c.value for c in clients[1]].index("client_ref") + 1
        clients.cell(2, column).value = "jo.bloggs@example.com"

    path = _edited(with_clients, tmp_path / "ref.xlsx", email_ref)
    messages = " ".join(f.message for f in _findings(path))
    assert "jo.bloggs" not in messages and "example.com" not in messages


def _duplicate_row(sheet: str, row: int, *more: str) -> object:
    """Repeat ``row`` at the end of ``sheet`` with one more in each column of ``more``: the
    same service or budget row given twice, with other numbers."""

    def edit(wb: openpyxl.Workbook) -> None:
        ws = wb[sheet]
        headings = [cell.value for cell in ws[1]]
        values = [cell.value for cell in ws[row]]
        for name in more:
            values[headings.index(name)] += 1
        ws.append(values)

    return edit


def test_a_repeated_services_row_is_one_finding(tmp_path: Path, with_clients: Path) -> None:
    """S001 says the row is repeated; C004 does not also say its people differ from Clients."""
    edit = _duplicate_row("Services", 2, "people")
    rules = [f.rule for f in _findings(_edited(with_clients, tmp_path / "dup.xlsx", edit))]
    assert "S001" in rules
    assert "C004" not in rules


def test_a_repeated_budgets_row_is_one_finding(tmp_path: Path, with_clients: Path) -> None:
    """B001 says the row is repeated; C003 does not also say its counts differ from Clients."""
    edit = _duplicate_row("Budgets", 2, "people_total", "no_personal_budget")
    rules = [f.rule for f in _findings(_edited(with_clients, tmp_path / "dup.xlsx", edit))]
    assert "B001" in rules
    assert "C003" not in rules


def test_a_service_clients_do_not_match_is_still_reported(
    tmp_path: Path, with_clients: Path
) -> None:
    """Passing over repeated rows leaves the comparison of every other row as it was."""

    def edit(wb: openpyxl.Workbook) -> None:
        ws = wb["Services"]
        column = [cell.value for cell in ws[1]].index("people") + 1
        ws.cell(2, column).value += 1

    found = _findings(_edited(with_clients, tmp_path / "c004.xlsx", edit))
    assert [(f.rule, f.row) for f in found if f.rule.startswith("C")] == [("C004", 2)]
