"""returns aggregate on small generated sets: manifest, tables that add up, determinism, cache."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

from returns_kit.aggregate import batch
from returns_kit.aggregate.run import AggregateOptions, aggregate
from returns_kit.cli import main
from returns_kit.measures import COUNTS
from tools.synth.generate import generate_return
from tools.synth.write import write_xlsx

COUNCILS = ["E06000001", "E06000002", "E08000025", "E09000033", "E10000016", "E10000027"]
PERIODS = ["2012-13", "2013-14"]


@pytest.fixture(scope="module")
def returns_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("returns")
    for i, code in enumerate(COUNCILS):
        for period in PERIODS:
            write_xlsx(
                generate_return(code, period, people=150 + 20 * i, seed=i),
                folder / f"{code}-{period}.xlsx",
            )
    (folder / "notes.txt").write_text("not a return")
    return folder


def run(paths: list[Path], tmp_path: Path, **options: object) -> dict[str, pl.DataFrame]:
    result = aggregate(paths, AggregateOptions(cache_dir=tmp_path / "cache", **options))  # type: ignore[arg-type]
    return result.tables


def test_manifest_accounts_for_every_file_and_every_expected_council(
    returns_dir: Path, tmp_path: Path
) -> None:
    manifest = run([returns_dir], tmp_path)["manifest"]
    files = {str(p) for p in returns_dir.iterdir()}
    assert set(manifest.drop_nulls("path")["path"]) == files
    by_status = dict(manifest.group_by("status").len().iter_rows())
    assert by_status == {"included": 12, "skipped": 1, "missing": 2 * (152 - 6)}
    skipped = manifest.filter(pl.col("status") == "skipped").row(0, named=True)
    assert skipped["path"].endswith("notes.txt") and "not a workbook" in skipped["reason"]


def test_councils_sum_to_regions_and_regions_to_england(returns_dir: Path, tmp_path: Path) -> None:
    tables = run([returns_dir], tmp_path)
    councils, regions, england = tables["councils"], tables["regions"], tables["england"]
    by_region = councils.group_by("period", "region_code").agg(pl.col(COUNTS).sum())
    joined = regions.join(by_region, on=["period", "region_code"], suffix="_sum")
    assert joined.height == councils.select("period", "region_code").unique().height
    for name in COUNTS:
        assert (joined[name] == joined[f"{name}_sum"]).all()
        assert (
            england.sort("period")[name].to_list()
            == councils.group_by("period").agg(pl.col(name).sum()).sort("period")[name].to_list()
        )
    # Rates come from summed counts, not averaged rates.
    row = england.row(0, named=True)
    holders = sum(row[n] for n in COUNTS[1:-1])
    assert row["pb_rate"] == pytest.approx(holders / row["people_total"], abs=1e-6)
    assert england["councils_expected"].to_list() == [152, 152]
    assert england["councils_included"].to_list() == [6, 6]


def test_breakdowns_add_up_to_the_council_table(returns_dir: Path, tmp_path: Path) -> None:
    tables = run([returns_dir], tmp_path)
    breakdowns = tables["breakdowns"]
    cells = breakdowns.filter(
        (pl.col("level") == "council")
        & (pl.col("age_band") != "ALL")
        & (pl.col("support_reason") != "ALL")
    )
    assert cells.height == 12 * 26
    totals = cells.group_by("period", "geography_code").agg(pl.col("people_total").sum())
    councils = tables["councils"].select(
        "period", pl.col("council_code").alias("geography_code"), "people_total"
    )
    assert totals.sort("period", "geography_code").equals(councils.sort("period", "geography_code"))


def test_same_bytes_whatever_the_input_order(returns_dir: Path, tmp_path: Path) -> None:
    files = sorted(returns_dir.glob("*.xlsx"))
    outs = []
    for name, order in (("forward", files), ("backward", files[::-1])):
        out = tmp_path / name
        assert (
            main(
                [
                    "aggregate",
                    *map(str, order),
                    "--out",
                    str(out),
                    "--cache-dir",
                    str(tmp_path / f"cache-{name}"),
                    "--quiet",
                    "--no-report",  # the tables are compared; the page is drawn from them
                ]
            )
            == 0
        )
        outs.append(out)
    for csv in sorted(outs[0].glob("*.csv")):
        assert csv.read_bytes() == (outs[1] / csv.name).read_bytes(), csv.name


def test_a_later_submitted_on_supersedes_and_fails_nothing(
    returns_dir: Path, tmp_path: Path
) -> None:
    later = tmp_path / "later.xlsx"
    write_xlsx(
        generate_return(
            "E06000001", "2013-14", people=170, seed=0, submitted_on=dt.date(2014, 7, 1)
        ),
        later,
    )
    result = aggregate([returns_dir, later], AggregateOptions(cache_dir=tmp_path / "cache"))
    rows = result.tables["manifest"].filter(
        (pl.col("council_code") == "E06000001") & (pl.col("period") == "2013-14")
    )
    by_status = dict(zip(rows["status"], rows["path"], strict=True))
    assert by_status == {
        "included": str(later),
        "superseded": str(returns_dir / "E06000001-2013-14.xlsx"),
    }
    superseded = rows.filter(pl.col("status") == "superseded").row(0, named=True)
    assert superseded["reason"] == f"superseded by {later}, submitted on 2014-07-01"
    assert result.exit_code == 0
    councils = result.tables["councils"].filter(
        (pl.col("council_code") == "E06000001") & (pl.col("period") == "2013-14")
    )
    assert councils["people_total"].to_list() == [170]  # the later return's figures


def test_equal_submitted_on_conflicts_unless_latest_is_preferred(
    returns_dir: Path, tmp_path: Path
) -> None:
    import os

    other = tmp_path / "other.xlsx"  # different figures, the same default submitted_on
    write_xlsx(generate_return("E06000001", "2013-14", people=171, seed=0), other)
    original = returns_dir / "E06000001-2013-14.xlsx"
    result = aggregate([returns_dir, other], AggregateOptions(cache_dir=tmp_path / "cache"))
    rows = result.tables["manifest"].filter(
        (pl.col("council_code") == "E06000001") & (pl.col("period") == "2013-14")
    )
    assert rows["status"].to_list() == ["conflict", "conflict"]
    assert result.exit_code == 1
    assert (
        "E06000001"
        not in result.tables["councils"].filter(pl.col("period") == "2013-14")["council_code"]
    )
    # --prefer latest: the file modified last is taken as received last.
    stamp = original.stat().st_mtime
    os.utime(other, (stamp + 60, stamp + 60))
    preferred = aggregate(
        [returns_dir, other], AggregateOptions(cache_dir=tmp_path / "cache", prefer="latest")
    )
    rows = preferred.tables["manifest"].filter(
        (pl.col("council_code") == "E06000001") & (pl.col("period") == "2013-14")
    )
    assert dict(zip(rows["status"], rows["path"], strict=True)) == {
        "included": str(other),
        "superseded": str(original),
    }
    assert preferred.exit_code == 0


def test_a_rerun_reads_unchanged_files_from_the_cache(
    returns_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run([returns_dir], tmp_path)
    calls: list[str] = []
    real = batch._validate

    def counting(path: str, *args: object) -> batch.Processed:
        calls.append(path)
        return real(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "_validate", counting)
    changed = tmp_path / "changed"
    shutil.copytree(returns_dir, changed)
    write_xlsx(
        generate_return("E06000001", "2013-14", people=99, seed=42),
        changed / "E06000001-2013-14.xlsx",
    )
    second = run([changed], tmp_path)
    assert calls == [str(changed / "E06000001-2013-14.xlsx")]
    assert second["england"]["people_total"][1] != first["england"]["people_total"][1]


@pytest.mark.slow
def test_outputs_replace_the_previous_run_whole(returns_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["aggregate", str(returns_dir), "--out", str(out), "--quiet", "--no-cache"]
    assert main(args) == 0
    (out / "stale.csv").write_text("left from an earlier run")
    assert main(args) == 0
    assert not (out / "stale.csv").exists()
    assert {p.name for p in out.iterdir()} >= {"manifest.csv", "tables.xlsx", "flags.parquet"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["aggregate", "nope/", "--out", "OUT"], "does not exist"),
        (["aggregate", "RETURNS"], "Missing option '--out'"),
        (["aggregate", "RETURNS", "--out", "NOTOURS"], "not an earlier aggregate's output"),
        (["aggregate", "RETURNS", "--out", "OUT", "--config", "BADCONFIG"], "unknown setting"),
        (["aggregate", "RETURNS", "--out", "OUT", "--prefer", "earliest"], "earliest"),
    ],
    ids=["missing-path", "no-out", "foreign-out", "bad-config", "bad-prefer"],
)
def test_usage_errors(
    args: list[str],
    message: str,
    returns_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "NOTOURS").mkdir()
    (tmp_path / "NOTOURS" / "thesis.docx").write_text("precious")
    (tmp_path / "bad.toml").write_text("[thresholds]\nnonsense = 1\n")
    places = {
        "RETURNS": str(returns_dir),
        "OUT": str(tmp_path / "out"),
        "NOTOURS": str(tmp_path / "NOTOURS"),
        "BADCONFIG": str(tmp_path / "bad.toml"),
    }
    code = main([places.get(a, a) for a in args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "NOTOURS" / "thesis.docx").exists()


def test_exit_code_one_when_an_input_is_excluded(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(Path(__file__).parent.parent / "fixtures" / "invalid" / "B003.xlsx", folder)
    args = ["aggregate", str(folder), "--out", str(tmp_path / "out"), "--no-cache", "--quiet"]
    assert main([*args, "--no-report"]) == 1


def test_a_broken_worker_pool_falls_back_to_this_process(
    returns_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures.process import BrokenProcessPool

    def broken(pending: object, thresholds: object, workers: object, done: object) -> None:
        raise BrokenProcessPool("a worker was killed")

    monkeypatch.setattr(batch, "_in_pool", broken)
    tables = aggregate([returns_dir], AggregateOptions(cache_dir=None, workers=2))
    assert tables.tables["manifest"].filter(pl.col("status") == "included").height == 12


def test_a_file_gone_before_it_is_read_is_an_excluded_input(tmp_path: Path) -> None:
    """A file that cannot be read (here, removed after discovery) is reported, not a crash."""
    from returns_kit.aggregate.cache import ResultCache
    from returns_kit.config import Thresholds

    gone = tmp_path / "gone.xlsx"
    (done,) = batch.process_all([gone], Thresholds(), ResultCache(tmp_path, Thresholds()))
    assert done.sha256 == ""
    assert [f.rule for f in done.report.findings] == ["F001"]


@pytest.mark.slow
def test_progress_shows_counts_on_a_terminal_only(
    returns_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    args = ["aggregate", str(returns_dir), "--out", str(tmp_path / "out"), "--no-cache"]
    main(args)
    assert "validating" not in capsys.readouterr().err  # stderr is not a terminal here
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    main(args)
    bar = capsys.readouterr().err
    assert "validating [" in bar and "12/12 files" in bar
    main([*args, "--quiet"])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "text", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x","y")']
)
def test_csv_text_cannot_become_a_formula(text: str, tmp_path: Path) -> None:
    from returns_kit.aggregate.write import neutralise

    frame = pl.DataFrame({"name": [text, "Somerset"], "n": [1, -1]})
    path = tmp_path / "t.csv"
    neutralise(frame).write_csv(path)
    back = pl.read_csv(path)
    assert back["name"].to_list() == ["'" + text, "Somerset"]
    assert back["n"].to_list() == [1, -1]  # numbers are numbers, even negative
