"""Returns whose workbook-controlled text is hostile, for the tests of every output format.

What a council (or whoever names the files) controls, and where it reaches an output:

* **file names**: the ``path`` of every manifest and findings row, and the file named in
  ``--format github``, JUnit and JSON reports;
* **sheet names** of sheets that are not part of the return: the ``sheet`` of their F006
  finding, and its message;
* **cell text** quoted in a finding's message (at most 40 characters, never an identifier's):
  the council_name of About (A003), a count written as text (V001), an About field name
  (A006), a column heading (F007, folded to lower case with ``_`` for spaces and hyphens);
* **Explanations text**, which no table carries but a report for people may.

What the council does not control: council names and regions in the tables come from the
reference list, codes and periods are checked against their lists or forms before use,
and every other column of a table is a number or a fixed word. So the hostile text is put
where it can travel. Sheet names that an .xlsx writer refuses (with ``/``, tabs, line
breaks) go in an .ods, which holds any name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tools.synth import SyntheticReturn, generate_return, write_ods, write_xlsx

#: Characters that make a spreadsheet take text for a formula (CWE-1236).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SCRIPT = "<script>alert(1)</script>"
#: Text that is dangerous in a spreadsheet, HTML, XML, CSV or a GitHub workflow command.
HOSTILE = (
    "=1+2",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(A1)",
    "\t=1+2",
    "\r=1+2",
    SCRIPT,
    "\"quoted\", 'single' & <b>bold</b>",
    "100% %0A::error::injected",
    "line one\nline two",
)
PERIOD = "2015-16"


@dataclass
class Hostile:
    """One hostile return: where its hostile text is, and how it is written."""

    file_name: str
    ret: SyntheticReturn
    kind: Literal["xlsx", "ods"]
    #: sheets that are not part of the return, each named with hostile text
    extra_sheets: tuple[str, ...] = ()
    #: True when the return has an error, so the aggregate excludes it
    has_error: bool = False


def _base(code: str, seed: int, explanation: str | None = None) -> SyntheticReturn:
    explanations = [("P001", "", explanation)] if explanation else None
    return generate_return(code, PERIOD, seed=seed, people=30, explanations=explanations)


def _set_about(ret: SyntheticReturn, field: str, value: str) -> None:
    for row in ret.sheets["About"]:
        if row[0] == field:
            row[1] = value


def _add_sheets(ret: SyntheticReturn, names: tuple[str, ...]) -> None:
    for name in names:
        ret.sheets[name] = [["note"], ["not part of the return"]]


def hostile_returns() -> list[Hostile]:
    """Six returns for 2015-16 from six councils, each carrying hostile text somewhere."""
    found = []

    # File name "=1+2 ..."; council_name a formula (A003); a sheet named "=1+2" (F006).
    ret = _base("E06000001", 1)
    _set_about(ret, "council_name", '=HYPERLINK("http://evil.example","Hartlepool")')
    xlsx_sheets = ("=1+2", "+SUM(1,2)", "-2+3", "@SUM(A1)")
    _add_sheets(ret, xlsx_sheets)
    found.append(Hostile("=1+2 E06000001.xlsx", ret, "xlsx", xlsx_sheets))

    # File name "+SUM(1,2) ..."; council_name a script (A003); an About field "@SUM(A1)"
    # (A006); a column headed "-2+3" with values (F007).
    ret = _base("E06000002", 2, explanation=f"{SCRIPT} =1+2 and a long enough explanation")
    _set_about(ret, "council_name", SCRIPT)
    ret.sheets["About"].append(["@SUM(A1)", "=1+2"])
    services = ret.sheets["Services"]
    services[0].append("-2+3")
    for row in services[1:]:
        row.append("=1+2")
    found.append(Hostile("+SUM(1,2) E06000002.xlsx", ret, "xlsx"))

    # File name "-2+3 ..." as .ods, with sheets whose names an .xlsx cannot hold.
    ret = _base("E06000003", 3)
    ods_sheets: tuple[str, ...] = ("\t=1+2", "\r=1+2", SCRIPT, "\"quoted\", 'single' & <b>bold</b>")
    ods_sheets += ("100% %0A::error::injected", "line one\nline two")
    _add_sheets(ret, ods_sheets)
    found.append(Hostile("-2+3 E06000003.ods", ret, "ods", ods_sheets))

    # File name "@SUM(A1) ..."; counts written as hostile text (V001, so excluded).
    ret = _base("E06000004", 4)
    ret.sheets["Budgets"][1][2] = "=1+2"
    ret.sheets["Budgets"][2][2] = '"><img src=x onerror=alert(1)>'
    ret.sheets["Budgets"][3][2] = "-2+3"
    found.append(Hostile("@SUM(A1) E06000004.xlsx", ret, "xlsx", has_error=True))

    # File names starting with a tab and a carriage return; quotes, commas and colons.
    found.append(Hostile("\tE06000005.xlsx", _base("E06000005", 5), "xlsx"))
    found.append(Hostile('\r"a,b:c%0A" E06000006.xlsx', _base("E06000006", 6), "xlsx"))
    return found


def write_hostile_returns(folder: Path) -> list[Hostile]:
    """Write :func:`hostile_returns` into ``folder`` (which must exist); returns them."""
    returns = hostile_returns()
    for item in returns:
        path = folder / item.file_name
        if item.kind == "ods":
            write_ods(item.ret, path)
        else:
            write_xlsx(item.ret, path)
    return returns
