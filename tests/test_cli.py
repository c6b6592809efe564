"""The command line: exit codes, formats, usage errors, and a quick --help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from returns_kit.cli import main
from tools.synth.generate import generate_return
from tools.synth.write import write_xlsx

from .conftest import FIXTURES
from .typed import bump

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
    # The format's version leads, so a reader can refuse a report it does not understand.
    assert list(document) == ["version", "valid", "files"]
    assert document["version"] == "1.1"
    assert document["valid"] is False
    first = document["files"][0]
    assert set(first) == {"path", "valid", "council_code", "period", "findings"}
    assert (first["council_code"], first["period"]) == ("E06000001", "2013-14")
    finding = first["findings"][0]
    assert set(finding) == {
        "rule",
        "severity",
        "message",
        "params",
        "sheet",
        "cell",
        "row",
        "column",
        "scope",
        "explained",
        "evidence",
    }
    # The message's numbers, as data (1.1): the same the message shows.
    assert finding["params"] == {
        "people_total": finding["evidence"]["people_total"],
        "types_sum": finding["evidence"]["sum_of_budget_types"],
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
    bump(before.sheets["Budgets"], 1, 2)  # people_total no longer adds up: B003
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
    other = str(tmp_path / "other.xlsx")
    for args, message in (
        (["--council", "E06000066", "--period", "2013-14", other], "2013-14"),
        (["--council", "E99999999", "--period", "2023-24", other], "E99999999"),
        (["--council", "E06000066", "--period", "2023-24", str(tmp_path)], "folder"),
        (
            ["--council", "E06000066", "--period", "2023-24", str(tmp_path / "no" / "x.xlsx")],
            "does not exist",
        ),
    ):
        code, _, err = run(["template", *args], capsys)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


# --- issue 10: trust ------------------------------------------------------------------


def test_template_never_replaces_an_existing_file_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ours.xlsx"
    out.write_bytes(b"a return someone filled in")
    args = ["template", "--council", "E06000001", "--period", "2013-14", str(out)]
    code, stdout, err = run(args, capsys)
    assert code == 2 and stdout == "" and len(err.strip().splitlines()) == 1
    assert "exists" in err and "--force" in err
    assert out.read_bytes() == b"a return someone filled in"
    code, stdout, _ = run([*args, "--force"], capsys)
    assert code == 0 and out.read_bytes()[:2] == b"PK"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Somerset", "Somerset is E10000027 (to 2022-23) or E06000066 (from 2023-24)"),
        ("somerset county council", "Somerset is E10000027 (to 2022-23) or E06000066"),
        ("Hartlepol", "Hartlepool is E06000001"),
        ("E0600066", "did you mean E06000066 (Somerset, from 2023-24)"),
    ],
    ids=["name", "name-as-written", "misspelt-name", "misspelt-code"],
)
def test_template_offers_the_codes_a_council_name_means(
    given: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "t.xlsx"
    code, _, err = run(["template", "--council", given, "--period", "2023-24", str(out)], capsys)
    assert code == 2 and expected in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


@pytest.mark.parametrize(("args", "named"), [([], "validate"), (["cache"], "clear")])
def test_returns_alone_prints_the_help_and_succeeds(args: list[str], named: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "returns_kit", *args],
        capture_output=True,
        text=True,
        cwd=FIXTURES.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: returns") and named in result.stdout
    assert result.stderr == ""


def test_config_given_a_folder_asks_for_a_toml_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["validate", str(VALID), "--config", str(tmp_path)], capsys)
    assert code == 2 and "TOML file" in err and "workbook" not in err


def _returns(tmp_path: Path, *returns: tuple[str, str]) -> list[Path]:
    paths = []
    for code, period in returns:
        path = tmp_path / f"{code}-{period}.xlsx"
        write_xlsx(generate_return(code, period, people=200, seed=1), path)
        paths.append(path)
    return paths


def test_previous_given_the_wrong_way_round_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    older, newer = _returns(tmp_path, ("E06000001", "2012-13"), ("E06000001", "2013-14"))
    code, out, err = run(["validate", str(older), "--previous", str(newer)], capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert str(older) in err and str(newer) in err and "2012-13" in err and "2013-14" in err
    assert f"did you mean: returns validate {newer} --previous {older}?" in err


@pytest.mark.parametrize(
    ("previous", "named"),
    [
        (("E06000002", "2012-13"), ("Hartlepool", "Middlesbrough", "E06000002", "E06000001")),
        (("E06000001", "2011-12"), ("2011-12", "2013-14", "must be for 2012-13")),
    ],
    ids=["other-council", "not-the-period-before"],
)
def test_previous_mismatch_names_both_files(
    previous: tuple[str, str],
    named: tuple[str, ...],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    earlier, current = _returns(tmp_path, previous, ("E06000001", "2013-14"))
    code, _, err = run(["validate", str(current), "--previous", str(earlier)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert str(current) in err and str(earlier) in err
    assert all(part in err for part in named), err


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        (["--annotate", "{tmp}/no/such/folder/x.xlsx"], "does not exist"),
        (["--annotate", "{tmp}/checked.txt"], "checked.xlsx"),
        (["--annotate", "{tmp}"], "is a folder"),
        (["--annotate", "{previous}"], "is the workbook being checked"),
        (["--html", "{tmp}/no/such/folder/x.html"], "does not exist"),
        (["--annotate", "{tmp}/same.xlsx", "--html", "{tmp}/same.xlsx"], "also the --annotate"),
    ],
    ids=[
        "annotate-folder-missing",
        "annotate-not-xlsx",
        "annotate-a-folder",
        "annotate-over-previous",
        "html-folder-missing",
        "annotate-is-html",
    ],
)
def test_output_paths_are_checked_before_any_work(
    outputs: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    earlier, current = _returns(tmp_path, ("E06000001", "2012-13"), ("E06000001", "2013-14"))
    filled = [item.format(tmp=tmp_path, previous=earlier) for item in outputs]
    args = ["validate", str(current), "--previous", str(earlier), *filled]
    code, out, err = run(args, capsys)
    assert code == 2 and message in err, err
    assert out == "", "no report may be printed before a usage error"
    assert len(err.strip().splitlines()) == 1


def test_annotate_of_an_unreadable_workbook_exits_1_as_documented(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "checked.xlsx"
    code, stdout, err = run(
        ["validate", str(FIXTURES / "invalid" / "F001.xlsx"), "--annotate", str(out)], capsys
    )
    assert code == 1, err
    assert "F001" in stdout and "no annotated copy" in err and not out.exists()


def _failing_b003(context: object) -> object:
    """B003 that fails on one council's return, as a defect of ours would."""
    from returns_kit.rules.budgets import budgets_sum

    if getattr(context, "about", {}).get("council_code") == "E06000002":
        raise RuntimeError("cell value E06000002 leaked")
    return budgets_sum(context)  # type: ignore[arg-type]


@pytest.fixture
def failing_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    from returns_kit.rules.registry import RULE_FUNCTIONS

    monkeypatch.setitem(RULE_FUNCTIONS, "B003", _failing_b003)


@pytest.mark.usefixtures("failing_rule")
def test_internal_error_is_x001_and_the_batch_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (broken,) = _returns(tmp_path, ("E06000002", "2013-14"))
    code, out, err = run(["validate", str(broken), str(INVALID), "--format", "json"], capsys)
    assert code == 1
    files = json.loads(out)["files"]
    assert [f["rule"] for f in files[0]["findings"]] == ["X001"]
    (finding,) = files[0]["findings"]
    assert finding["severity"] == "error"
    assert "returns_kit failed on this file" in finding["message"]
    assert "please report it" in finding["message"] and "RuntimeError" in finding["message"]
    assert "E06000002" not in json.dumps(finding) and "leaked" not in json.dumps(finding)
    assert [f["rule"] for f in files[1]["findings"]] == ["B003"]  # the batch went on
    assert "Traceback" not in err and "--debug" in err and len(err.strip().splitlines()) == 1

    for args in (["--debug", "validate", str(broken)], ["validate", str(broken), "--debug"]):
        code, out, err = run(args, capsys)
        assert code == 1 and "X001" in out
        assert "Traceback (most recent call last)" in err and "RuntimeError" in err


_INJECT = """
import sys
from returns_kit.rules.registry import RULE_FUNCTIONS
from returns_kit.rules.budgets import budgets_sum

def failing(context):
    if context.about.get("council_code") == "E06000002":
        raise RuntimeError("cell value E06000002 leaked")
    return budgets_sum(context)

RULE_FUNCTIONS["B003"] = failing
"""


def test_internal_error_in_a_subprocess(tmp_path: Path) -> None:
    broken, fine = _returns(tmp_path, ("E06000002", "2013-14"), ("E06000001", "2013-14"))
    code = _INJECT + "from returns_kit.cli import main; sys.exit(main(sys.argv[1:]))"
    for debug in ([], ["--debug"]):
        result = subprocess.run(
            [sys.executable, "-c", code, *debug, "validate", str(broken), str(fine)],
            capture_output=True,
            text=True,
            cwd=FIXTURES.parent,
        )
        assert result.returncode == 1, result.stderr
        assert "X001 internal-error" in result.stdout and "1 accepted" in result.stdout
        assert "leaked" not in result.stdout
        assert ("Traceback" in result.stderr) == bool(debug), result.stderr


def test_internal_error_in_aggregate_workers(tmp_path: Path) -> None:
    """X001 from the worker processes of an aggregate: the file is excluded, the rest used."""
    inputs = tmp_path / "returns"
    inputs.mkdir()
    codes = ["E06000001", "E06000002", "E06000003", "E06000004", "E06000005"]
    _returns(inputs, *[(code, period) for code in codes for period in ("2012-13", "2013-14")])
    # sitecustomize runs in every interpreter, the fork server's workers included.
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(_INJECT)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'site'}{os.pathsep}{FIXTURES.parent}"}
    args = ["aggregate", str(inputs), "--out", str(tmp_path / "out"), "--no-cache", "--no-report"]
    result = subprocess.run(
        [sys.executable, "-m", "returns_kit", "--debug", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=FIXTURES.parent,
    )
    assert result.returncode == 1, result.stderr
    assert "8 returns included, 0 superseded, 2 excluded" in result.stdout
    assert result.stderr.count("Traceback (most recent call last)") == 2
    import polars as pl

    findings = pl.read_csv(tmp_path / "out" / "findings.csv")
    assert findings.filter(pl.col("rule") == "X001").height == 2


def test_a_defect_outside_one_file_is_one_line_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The period rules fail (a defect of ours): one line and exit 1; --debug the traceback."""
    import returns_kit.rules.periods as periods

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("E06000001")

    monkeypatch.setattr(periods, "period_findings", broken)
    earlier, current = _returns(tmp_path, ("E06000001", "2012-13"), ("E06000001", "2013-14"))
    args = ["validate", str(current), "--previous", str(earlier)]
    code, _, err = run(args, capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "internal error (KeyError)" in err and "--debug" in err and "E06000001" not in err
    code, _, err = run(["--debug", *args], capsys)
    assert code == 1 and "Traceback (most recent call last)" in err
