"""The command line: exit codes, formats, usage errors, and a quick --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from returns_kit.cli import main
from returns_kit.synth.generate import generate_return
from returns_kit.synth.write import write_xlsx

from .conftest import FIXTURES

VALID = FIXTURES / "valid" / "hartlepool-2013-14.xlsx"
INVALID = FIXTURES / "invalid" / "B003.xlsx"
QUERY = FIXTURES / "invalid" / "S005.xlsx"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["validate", str(VALID)], 0),
        (["validate", str(INVALID)], 1),
        (["validate", str(VALID), str(INVALID)], 1),
        (["validate", str(QUERY)], 0),
        (["validate", str(QUERY), "--strict"], 1),
        (["validate", str(FIXTURES / "valid" / "westminster-2014-15-clients.xlsx"), "--strict"], 0),
        (["validate", str(FIXTURES / "invalid" / "F001.xlsx")], 1),
    ],
    ids=[
        "valid",
        "error",
        "worst-of-two",
        "query",
        "strict-query",
        "strict-explained",
        "unreadable",
    ],
)
def test_exit_codes(args: list[str], code: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(args, capsys)[0] == code


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "no/such/file.xlsx"], "does not exist"),
        (["validate", str(FIXTURES)], "is a folder"),
        (["validate"], "Missing argument"),
        (["validate", str(VALID), "--format", "xml"], "xml"),
        (["validate", str(VALID), str(INVALID), "--previous", str(VALID)], "exactly one FILE"),
        (["validate", str(VALID), "--previous", "nope.xlsx"], "does not exist"),
        (["frobnicate"], "No such command"),
    ],
    ids=[
        "missing-file",
        "folder",
        "no-file",
        "bad-format",
        "previous-two-files",
        "previous-missing",
        "unknown-command",
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(args, capsys)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert "Traceback" not in err


def test_text_output_groups_by_file_and_sheet(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["validate", str(FIXTURES / "invalid" / "C003.xlsx")], capsys)
    lines = out.splitlines()
    assert lines[0].startswith(str(FIXTURES / "invalid" / "C003.xlsx"))
    assert lines[0].endswith(": Rejected, 2 errors to fix")
    assert lines[1] == "  Budgets"
    assert all("C003 clients-budgets-differ" in line for line in lines[2:4])
    assert lines[-1].startswith("1 file checked: 0 accepted, 1 not accepted; 2 errors, 0 queries")


def test_json_document_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["validate", str(INVALID), str(VALID), "--format", "json"], capsys)
    document = json.loads(out)
    assert set(document) == {"valid", "files"}
    assert document["valid"] is False
    first = document["files"][0]
    assert set(first) == {"path", "valid", "council_code", "period", "findings"}
    assert (first["council_code"], first["period"]) == ("E06000001", "2013-14")
    finding = first["findings"][0]
    assert set(finding) == {
        "rule",
        "severity",
        "message",
        "sheet",
        "cell",
        "row",
        "column",
        "scope",
        "explained",
        "evidence",
    }
    assert finding["evidence"] == {
        "people_total": finding["evidence"]["people_total"],
        "sum_of_budget_types": finding["evidence"]["people_total"] - 1,
    }
    assert document["files"][1]["findings"] == []


@pytest.mark.parametrize(
    ("previous", "current", "outcome"),
    [
        (("E06000001", "2012-13"), ("E06000001", "2013-14"), "compared"),
        (("E10000027", "2022-23"), ("E06000066", "2023-24"), "compared"),  # one-to-one successor
        (("E06000028", "2018-19"), ("E06000058", "2019-20"), "P005"),  # a merger breaks it
        (("E06000001", "2013-14"), ("E06000001", "2014-15"), "P005"),  # national series break
        (("E06000001", "2011-12"), ("E06000001", "2013-14"), "usage"),  # not the period before
        (("E06000002", "2012-13"), ("E06000001", "2013-14"), "usage"),  # another council
    ],
    ids=["same-council", "somerset-successor", "merger", "series-break", "gap", "other-council"],
)
def test_previous_pairing(
    previous: tuple[str, str],
    current: tuple[str, str],
    outcome: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = []
    for code, period in (previous, current):
        path = tmp_path / f"{code}-{period}.xlsx"
        write_xlsx(generate_return(code, period, people=200, seed=1), path)
        paths.append(path)
    args = ["validate", str(paths[1]), "--previous", str(paths[0]), "--format", "json"]
    exit_code, out, err = run(args, capsys)
    if outcome == "usage":
        assert exit_code == 2 and len(err.strip().splitlines()) == 1
        return
    rules = [f["rule"] for f in json.loads(out)["files"][0]["findings"]]
    assert exit_code == 0
    if outcome == "P005":
        assert rules == ["P005"]
    else:
        assert "P005" not in rules and "P006" not in rules


def test_previous_with_errors_says_no_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = generate_return("E06000001", "2012-13", people=200)
    before.sheets["Budgets"][1][2] += 1  # people_total no longer adds up: B003
    write_xlsx(before, tmp_path / "before.xlsx")
    write_xlsx(generate_return("E06000001", "2013-14", people=200), tmp_path / "after.xlsx")
    args = [
        "validate",
        str(tmp_path / "after.xlsx"),
        "--previous",
        str(tmp_path / "before.xlsx"),
        "--format",
        "json",
    ]
    exit_code, out, _ = run(args, capsys)
    assert exit_code == 0
    assert [f["rule"] for f in json.loads(out)["files"][0]["findings"]] == ["P006"]


def test_help_does_not_import_polars() -> None:
    code = (
        "import sys; from returns_kit.cli import main; "
        "rc = main(['--help']); sys.exit(10 if 'polars' in sys.modules else rc)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "validate" in result.stdout


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "returns_kit", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "Usage: returns" in result.stdout


def test_runner_invocation_matches_main(capsys: pytest.CaptureFixture[str]) -> None:
    """The click group and main() agree, so docs generated from the group describe main()."""
    from returns_kit.cli import cli

    assert CliRunner().invoke(cli, ["validate", str(VALID)]).exit_code == 0


def test_annotate_writes_a_copy_and_refuses_what_it_cannot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import openpyxl

    out = tmp_path / "checked.xlsx"
    assert run(["validate", str(INVALID), "--annotate", str(out)], capsys)[0] == 1
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == "Findings"
    assert book["Budgets"]["C2"].comment is not None
    for args, message in (
        ([str(VALID), str(INVALID), "--annotate", str(out)], "exactly one FILE"),
        ([str(FIXTURES / "valid" / "somerset-2023-24.ods"), "--annotate", str(out)], ".ods"),
        ([str(INVALID), "--annotate", str(INVALID)], "--annotate"),
    ):
        code, _, err = run(["validate", *args], capsys)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_template_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import openpyxl

    out = tmp_path / "somerset.xlsx"
    code, stdout, _ = run(
        ["template", "--council", "E06000066", "--period", "2023-24", str(out)], capsys
    )
    assert code == 0 and str(out) in stdout
    about = {r[0]: r[1] for r in openpyxl.load_workbook(out)["About"].iter_rows(values_only=True)}
    assert about["council_name"] == "Somerset" and about["period"] == "2023-24"
    for args, message in (
        (["--council", "E06000066", "--period", "2013-14", str(out)], "2013-14"),
        (["--council", "E99999999", "--period", "2023-24", str(out)], "E99999999"),
        (["--council", "E06000066", "--period", "2023-24", str(tmp_path)], "folder"),
        (
            ["--council", "E06000066", "--period", "2023-24", str(tmp_path / "no" / "x.xlsx")],
            "cannot write",
        ),
    ):
        code, _, err = run(["template", *args], capsys)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
