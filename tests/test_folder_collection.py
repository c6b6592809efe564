"""The collection rules in folder mode: `returns aggregate PATH...` over a collection's folder.

The national example, with what a real collection folder holds besides the returns:
Somerset's corrected resubmission, a byte-identical copy under another name and in a
subfolder, an Excel lock file, hidden files, and the --out folder itself. Then small
generated sets for --periods, P006 and an empty folder.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from returns_kit.aggregate.run import AggregateOptions, aggregate
from returns_kit.cli import main
from tools.synth.generate import generate_return
from tools.synth.write import write_xlsx

from .typed import bump

ROOT = Path(__file__).resolve().parent.parent
NATIONAL = ROOT / "fixtures" / "national"
SOMERSET = "E10000027-2013-14.xlsx"
HARTLEPOOL = "E06000001-2013-14.xlsx"
#: The same tables, whatever the folder holds besides the returns (findings name paths).
SAME_TABLES = ("flags", "councils", "regions", "england", "breakdowns")


def resubmit(source: Path, target: Path, submitted_on: dt.date) -> None:
    """What a council does: open its return, correct it, date it anew and send it again."""
    book = openpyxl.load_workbook(source)
    about = book["About"]
    (row,) = [r for r in about.iter_rows(min_row=2) if r[0].value == "submitted_on"]
    row[1].value = dt.datetime.combine(submitted_on, dt.time())
    book.save(target)


@pytest.fixture(scope="module")
def collection(
    national_run: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    """The national folder as a collection holds it, aggregated twice with --out inside it
    (the second run finds the first one's outputs there)."""
    folder = tmp_path_factory.mktemp("collection") / "returns"
    folder.mkdir()
    for source in sorted(NATIONAL.glob("*.xlsx")):
        (folder / source.name).symlink_to(source)
    corrected = folder / "E10000027-2013-14 corrected.xlsx"
    resubmit(NATIONAL / SOMERSET, corrected, dt.date(2014, 7, 31))
    shutil.copy(NATIONAL / HARTLEPOOL, folder / "E06000001-2013-14 (copy).xlsx")
    (folder / "old").mkdir()
    shutil.copy(NATIONAL / HARTLEPOOL, folder / "old" / HARTLEPOOL)
    (folder / "~$E06000002-2013-14.xlsx").write_bytes(b"\x0bJane Smith" + b"\x00" * 150)
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / ".git").mkdir()
    shutil.copy(NATIONAL / HARTLEPOOL, folder / ".git" / "E06000001-2011-12.xlsx")
    cache = national_run["root"] / "c"  # type: ignore[operator]
    out = folder / "tables"
    args = ["aggregate", str(folder), "--out", str(out), "--cache-dir", str(cache), "--quiet"]
    first = main([*args, "--no-report"])
    first_manifest = pl.read_csv(out / "manifest.csv", infer_schema_length=None)
    second = main(args)
    tables = {p.stem: pl.read_csv(p, infer_schema_length=None) for p in out.glob("*.csv")}
    return {
        "codes": (first, second),
        "first_manifest": first_manifest,
        "tables": tables,
        "folder": folder,
        "out": out,
        "corrected": corrected,
        "national_out": national_run["out"],
    }


def manifest(run: dict[str, object]) -> pl.DataFrame:
    return run["tables"]["manifest"]  # type: ignore[index, no-any-return]


@pytest.mark.slow  # the national example aggregated twice, about a minute on 2 cores
def test_somerset_resubmitting_gives_the_same_flags_and_exit_zero(
    collection: dict[str, object],
) -> None:
    assert collection["codes"] == (0, 0)
    national: Path = collection["national_out"]  # type: ignore[assignment]
    out: Path = collection["out"]  # type: ignore[assignment]
    for name in SAME_TABLES:
        assert (out / f"{name}.csv").read_bytes() == (national / f"{name}.csv").read_bytes(), name
    flags = collection["tables"]["flags"]  # type: ignore[index]
    somerset = flags.filter(
        (pl.col("council_code") == "E10000027") & (pl.col("period") == "2013-14")
    )
    # the pair rules as before; the screens of the period (P010-P012) besides
    assert [rule for rule in somerset["rule"] if rule < "P010"] == ["P001", "P003"]
    assert "P010" in somerset["rule"].to_list()


@pytest.mark.slow  # the national example aggregated twice, about a minute on 2 cores
def test_the_earlier_return_is_listed_as_superseded(collection: dict[str, object]) -> None:
    rows = manifest(collection).filter(
        (pl.col("council_code") == "E10000027") & (pl.col("period") == "2013-14")
    )
    folder: Path = collection["folder"]  # type: ignore[assignment]
    corrected = str(collection["corrected"])
    assert rows.select("status", "path", "submitted_on").rows() == [
        ("included", corrected, "2014-07-31"),
        ("superseded", str(folder / SOMERSET), "2014-06-15"),
    ]
    assert rows["reason"].to_list() == [
        "the latest of 2 returns for E10000027 2013-14",
        f"superseded by {corrected}, submitted on 2014-07-31",
    ]


@pytest.mark.slow  # the national example aggregated twice, about a minute on 2 cores
def test_a_byte_identical_copy_is_one_submission_under_all_its_names(
    collection: dict[str, object],
) -> None:
    folder: Path = collection["folder"]  # type: ignore[assignment]
    rows = manifest(collection).filter(
        (pl.col("council_code") == "E06000001") & (pl.col("period") == "2013-14")
    )
    assert rows.height == 1
    row = rows.row(0, named=True)
    names = [
        str(folder / "E06000001-2013-14 (copy).xlsx"),
        str(folder / HARTLEPOOL),
        str(folder / "old" / HARTLEPOOL),
    ]
    assert row["status"] == "included" and row["path"] == names[0]
    assert row["names"] == " | ".join(names)
    findings = collection["tables"]["findings"]  # type: ignore[index]
    assert not findings.filter(pl.col("path").is_in(names[1:])).height  # never counted twice


@pytest.mark.slow  # the national example aggregated twice, about a minute on 2 cores
def test_lock_hidden_and_output_files_are_listed_as_skipped_and_not_read(
    collection: dict[str, object],
) -> None:
    folder: Path = collection["folder"]  # type: ignore[assignment]
    skipped = manifest(collection).filter(pl.col("status") == "skipped")
    reasons = {
        str(Path(p).relative_to(folder)): r for p, r in skipped.select("path", "reason").rows()
    }
    assert reasons == {
        "~$E06000002-2013-14.xlsx": "an Excel lock file (~$...), left while the workbook is "
        "open: not a return",
        ".DS_Store": "a hidden file (its name starts with a dot): not read",
        ".git": "a hidden folder (its name starts with a dot): nothing in it is read",
        "tables": "inside the --out folder: the run's own outputs are never read as returns",
    }
    first: pl.DataFrame = collection["first_manifest"]  # type: ignore[assignment]
    assert "tables" not in {Path(p).name for p in first.drop_nulls("path")["path"]}
    assert set(manifest(collection)["status"]) == {"included", "superseded", "skipped"}


def test_no_workbook_at_all_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "~$return.xlsx").write_bytes(b"\x00" * 165)
    (empty / "README.txt").write_text("returns go here")
    code = main(["aggregate", str(empty), "--out", str(tmp_path / "out"), "--no-cache"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert f"no workbook to aggregate in {empty} (2 other files skipped)" in err[0]
    assert not (tmp_path / "out").exists()


def _write(folder: Path, code: str, period: str, name: str | None = None, **kw: object) -> Path:
    path = folder / (name or f"{code}-{period}.xlsx")
    write_xlsx(generate_return(code, period, people=300, seed=1, **kw), path)  # type: ignore[arg-type]
    return path


def test_periods_says_which_periods_are_collected(tmp_path: Path) -> None:
    councils = ["E06000001", "E06000002", "E08000025"]
    for code in councils:
        for period in ("2012-13", "2013-14"):
            _write(tmp_path, code, period)
    early = _write(tmp_path, "E06000001", "2011-12")
    options = AggregateOptions(cache_dir=tmp_path / "cache", periods=("2012-13", "2013-14"))
    result = aggregate([tmp_path], options)
    rows = result.tables["manifest"]
    assert dict(rows.group_by("status").len().iter_rows()) == {
        "included": 6,
        "unused": 1,
        "missing": 2 * (152 - 3),
    }
    unused = rows.filter(pl.col("status") == "unused").row(0, named=True)
    assert unused["path"] == str(early)
    assert unused["reason"] == "2011-12 is not among the periods collected (2012-13, 2013-14)"
    assert result.selection.periods == ["2012-13", "2013-14"] and result.exit_code == 0
    assert set(result.tables["councils"]["period"]) == {"2012-13", "2013-14"}
    # Without --periods, the period named by one council is collected too (one of three
    # is no slip), with its 151 missing councils.
    every = aggregate([tmp_path], AggregateOptions(cache_dir=tmp_path / "cache"))
    assert every.selection.periods == ["2011-12", "2012-13", "2013-14"]
    missing = every.tables["manifest"].filter(pl.col("status") == "missing")
    assert missing.filter(pl.col("period") == "2011-12").height == 151


def test_a_period_a_few_returns_name_is_taken_for_a_slip_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    codes = ["E06000001", "E06000002", "E06000003", "E06000004", "E06000005", "E06000006"]
    codes += ["E06000007", "E06000008", "E06000009", "E06000010", "E06000011"]
    for code in codes:
        _write(folder, code, "2013-14")
    slip = _write(folder, "E06000012", "2012-13", name="E06000012-2013-14.xlsx")
    out = tmp_path / "out"
    status = main(["aggregate", str(folder), "--out", str(out), "--no-cache", "--no-report"])
    err = capsys.readouterr().err
    assert status == 0
    assert err.strip().splitlines() == [
        "warning: only 1 council named 2012-13 (against 11 for 2013-14); its returns are "
        "listed as unused and its missing councils not counted. Name the periods with "
        "--periods to collect it."
    ]
    rows = pl.read_csv(out / "manifest.csv")
    assert rows.filter(pl.col("status") == "unused")["path"].to_list() == [str(slip)]
    assert set(rows.filter(pl.col("status") == "missing")["period"]) == {"2013-14"}
    # Named with --periods, it is collected.
    again = main(
        ["aggregate", str(folder), "--out", str(out), "--no-cache", "--no-report"]
        + ["--periods", "2012-13,2013-14"]
    )
    assert again == 0 and not capsys.readouterr().err.strip()
    rows = pl.read_csv(out / "manifest.csv")
    assert rows.filter(pl.col("period") == "2012-13", pl.col("status") == "missing").height == 151


@pytest.mark.parametrize("value", ["2013-2014", "13-14", ","])
def test_a_bad_periods_value_is_a_usage_error(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, "E06000001", "2013-14")
    code = main(["aggregate", str(tmp_path), "--out", str(tmp_path / "o"), "--periods", value])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "is not a period like 2013-14" in err[-1]


def test_p006_names_why_a_council_has_no_usable_previous_return(tmp_path: Path) -> None:
    broken, absent, disputed, fine = "E06000001", "E06000002", "E08000025", "E09000033"
    for code in (broken, absent, disputed, fine):
        _write(tmp_path, code, "2013-14")
    for code in (disputed, fine):
        _write(tmp_path, code, "2012-13")
    bad = generate_return(broken, "2012-13", people=300, seed=1)
    bump(bad.sheets["Budgets"], 1, 2)  # people_total no longer adds up: B003
    write_xlsx(bad, tmp_path / f"{broken}-2012-13.xlsx")
    other = generate_return(disputed, "2012-13", people=301, seed=1)  # same submitted_on
    write_xlsx(other, tmp_path / f"{disputed}-2012-13 v2.xlsx")
    result = aggregate([tmp_path], AggregateOptions(cache_dir=tmp_path / "cache"))
    flags = result.tables["flags"].filter(pl.col("rule") == "P006")
    messages = dict(zip(flags["council_code"], flags["message"], strict=True))
    assert messages == {
        broken: "No comparison with 2012-13: its return has errors, so the period-to-period "
        "rules were not run.",
        absent: "No comparison with 2012-13: no return for it was received, so the "
        "period-to-period rules were not run.",
        disputed: "No comparison with 2012-13: 2 different returns for it are in conflict, "
        "so the period-to-period rules were not run.",
    }
    assert set(flags["period"]) == {"2013-14"} and set(flags["severity"]) == {"info"}
    evidence = {
        row["council_code"]: json.loads(row["evidence"])
        for row in result.tables["findings"].filter(pl.col("rule") == "P006").iter_rows(named=True)
    }
    assert evidence[disputed] == {"previous_period": "2012-13", "reason": "conflict", "returns": 2}
    assert evidence[absent] == {"previous_period": "2012-13", "reason": "missing"}
    assert result.exit_code == 1  # the return with errors and the conflict need a person


def test_a_return_with_errors_never_displaces_the_valid_one(tmp_path: Path) -> None:
    good = _write(tmp_path, "E06000001", "2013-14")
    bad = generate_return(
        "E06000001", "2013-14", people=300, seed=1, submitted_on=dt.date(2014, 8, 1)
    )
    bump(bad.sheets["Budgets"], 1, 2)
    write_xlsx(bad, tmp_path / "resent.xlsx")
    result = aggregate([tmp_path], AggregateOptions(cache_dir=tmp_path / "cache"))
    rows = result.tables["manifest"].filter(pl.col("council_code") == "E06000001")
    assert rows.select("status", "path").rows() == [
        ("excluded", str(tmp_path / "resent.xlsx")),
        ("included", str(good)),
    ]
    assert rows["reason"][0] == f"1 error: B003; the valid return {good} is used"
    assert result.exit_code == 1  # the council must be told


def test_discovery_skips_locks_and_outputs_named_directly_and_survives_link_loops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from returns_kit.aggregate.discover import IN_OUT, LOCK_FILE, discover

    folder = tmp_path / "returns"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "a.xlsx").write_bytes(b"PK")
    (folder / "~$a.xlsx").write_bytes(b"\x00")
    (folder / "out").mkdir()
    (folder / "out" / "tables.xlsx").write_bytes(b"PK")
    monkeypatch.chdir(folder)  # --out given relative, the input absolute: still inside
    found = discover([folder, folder / "~$a.xlsx", folder / "out" / "tables.xlsx"], Path("out"))
    assert found.workbooks == [folder / "a.xlsx"]
    assert dict(found.skipped) == {
        folder / "~$a.xlsx": LOCK_FILE,
        folder / "out": IN_OUT,
        folder / "out" / "tables.xlsx": IN_OUT,
    }
