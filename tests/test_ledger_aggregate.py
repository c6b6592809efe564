"""`returns aggregate --collection DIR`: the tables of the current returns, the collection's
explanations and decisions on the flags, and the release recorded in the ledger."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner

from returns_kit.cli import cli

from .conftest import FIXTURES
from .test_ledger_support import (
    BACKENDS,
    SMALL_COUNCIL,
    backend,
    collect,
    copy_national,
    small_returns,
)

COUNCILS = f"{SMALL_COUNCIL},E06000001"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    url = backend(request)
    # aggregate --collection finds a PostgreSQL ledger through the environment.
    if url is None:
        monkeypatch.delenv("RETURNS_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("RETURNS_DATABASE_URL", url)
    return url


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETURNS_KIT_NOW", "2014-06-20T10:00:00Z")


@pytest.fixture(scope="module")
def returns(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("returns")
    found = small_returns(folder)
    hartlepool = copy_national(folder, "E06000001-2012-13", "E06000001-2013-14")
    found["hartlepool-before"], found["hartlepool"] = hartlepool
    found["hartlepool-broken"] = folder / "hartlepool-broken.xlsx"
    shutil.copy(FIXTURES / "invalid" / "B003.xlsx", found["hartlepool-broken"])
    return found


def _aggregate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["aggregate", *args, "--no-report"], catch_exceptions=False)
    return result.exit_code, result.output


def _collection(tmp_path: Path, url: str | None, returns: dict[str, Path], *extra: str) -> Path:
    folder = tmp_path / "pb"
    result = collect(
        "init", folder, "--name", "aggregate", "--periods", "2012-13,2013-14",
        "--councils", COUNCILS, *extra, url=url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    submitted = collect(
        "submit", folder, returns["before"], returns["first"], returns["hartlepool-before"],
        returns["hartlepool"], returns["plain"], returns["hartlepool-broken"], url=url,
    )  # fmt: skip
    assert submitted.exit_code == 1, submitted.output  # the broken one has an error
    return folder


def test_the_tables_are_those_of_the_current_returns_and_the_release_is_recorded(
    tmp_path: Path, database_url: str | None, returns: dict[str, Path]
) -> None:
    folder = _collection(tmp_path, database_url, returns)
    code, output = _aggregate("--collection", str(folder), "--out", str(tmp_path / "out"))
    assert code == 0, output
    assert "4 returns included" in output and "Release recorded in the ledger" in output
    # The same current returns (the later resubmission, not the first; last good, not the
    # broken file) aggregated as a folder give the same tables.
    current = tmp_path / "current"
    current.mkdir()
    for name in ("before", "plain", "hartlepool-before", "hartlepool"):
        shutil.copy(returns[name], current / returns[name].name)
    code, output = _aggregate(str(current), "--out", str(tmp_path / "plain"), "--no-cache")
    assert code == 0, output
    for table in ("councils", "regions", "england", "breakdowns"):
        ours = pl.read_parquet(tmp_path / "out" / f"{table}.parquet")
        theirs = pl.read_parquet(tmp_path / "plain" / f"{table}.parquet")
        assert ours.equals(theirs), table
    flags = pl.read_parquet(tmp_path / "out" / "flags.parquet")
    plain_flags = pl.read_parquet(tmp_path / "plain" / "flags.parquet")
    assert flags.drop("decision", "decision_reason").equals(plain_flags)
    manifest = pl.read_parquet(tmp_path / "out" / "manifest.parquet")
    used = manifest.filter(pl.col("status") == "included")
    assert sorted(used["path"].to_list()) == sorted(
        returns[n].name for n in ("before", "plain", "hartlepool-before", "hartlepool")
    )
    # The release: every submission used and every output's SHA-256, in the ledger's log.
    log = collect("log", folder, "--format", "json", url=database_url).output.splitlines()
    release = json.loads(log[-1])
    assert release["kind"] == "publication"
    payload = release["payload"]
    assert len(payload["submissions"]) == 4
    assert payload["outputs"] == {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((tmp_path / "out").iterdir())
    }
    assert collect("log", folder, "--verify", url=database_url).exit_code == 0


def test_flags_carry_the_collections_explanations_and_decisions(
    tmp_path: Path, database_url: str | None, returns: dict[str, Path]
) -> None:
    folder = _collection(tmp_path, database_url, returns)
    where = ["--council", SMALL_COUNCIL, "--period", "2013-14", "--rule", "P001"]
    text = "The review of home care moved 300 people."
    assert collect("explain", folder, *where, "--text", text, url=database_url).exit_code == 0
    decided = collect(
        "review", folder, *where, "--accept", "--reason", "seen the review", "--by", "NT",
        url=database_url,
    )  # fmt: skip
    assert decided.exit_code == 0, decided.output

    def p001() -> dict[str, object]:
        out = tmp_path / "out"
        code, output = _aggregate("--collection", str(folder), "--out", str(out))
        assert code == 0, output
        flags = pl.read_parquet(out / "flags.parquet").filter(pl.col("rule") == "P001")
        (row,) = flags.to_dicts()
        return row

    row = p001()
    assert (row["explained"], row["decision"], row["decision_reason"]) == (
        True, "accepted", "seen the review",
    )  # fmt: skip
    assert collect("submit", folder, returns["changed"], url=database_url).exit_code == 0
    row = p001()
    assert row["explained"] is True and row["decision"] == "reopened"


def test_publication_can_need_sign_off(
    tmp_path: Path, database_url: str | None, returns: dict[str, Path]
) -> None:
    folder = _collection(tmp_path, database_url, returns, "--publish-needs-signoff")
    code, output = _aggregate("--collection", str(folder), "--out", str(tmp_path / "out"))
    assert code == 2 and "no current return to aggregate (publication needs sign-off)" in output
    for period in ("2012-13", "2013-14"):
        signed = collect(
            "signoff", folder, "--council", "E06000001", "--period", period, "--by", "A. Approver",
            url=database_url,
        )  # fmt: skip
        assert signed.exit_code == 0, signed.output
    code, output = _aggregate("--collection", str(folder), "--out", str(tmp_path / "out"))
    assert code == 0, output
    assert "2 returns included" in output and "2 current return(s) not signed off" in output
    councils = pl.read_parquet(tmp_path / "out" / "councils.parquet")
    assert set(councils["council_code"]) == {"E06000001"}


def test_aggregate_needs_paths_or_a_collection(tmp_path: Path) -> None:
    code, output = _aggregate("--out", str(tmp_path / "out"))
    assert code == 2 and "give PATH... or --collection DIR" in output


@pytest.mark.slow
def test_the_national_example_with_somerset_resubmitting_gives_the_same_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every council's 2012-13 and 2013-14 through the ledger, Somerset's 2013-14 sent again
    later: the flags are exactly those of the national example without the resubmission."""
    from .test_ledger_support import NATIONAL, edited

    monkeypatch.delenv("RETURNS_DATABASE_URL", raising=False)
    national = sorted(p for p in NATIONAL.glob("*.xlsx") if p.stem.endswith(("2012-13", "2013-14")))
    somerset = edited(
        NATIONAL / "E10000027-2013-14.xlsx",
        tmp_path / "somerset-2013-14-resubmitted.xlsx",
        submitted_on=datetime(2014, 7, 20),
    )
    folder = tmp_path / "pb"
    assert (
        collect("init", folder, "--name", "national", "--periods", "2012-13,2013-14").exit_code == 0
    )
    assert collect("submit", folder, *national).exit_code == 0
    resubmitted = collect("submit", folder, somerset)
    assert resubmitted.exit_code == 0 and "Now the current return; supersedes" in resubmitted.output
    code, output = _aggregate("--collection", str(folder), "--out", str(tmp_path / "out"))
    assert code == 0, output
    plain = tmp_path / "plain-in"
    plain.mkdir()
    for path in national:
        shutil.copy(path, plain / path.name)
    code, output = _aggregate(str(plain), "--out", str(tmp_path / "plain"), "--no-cache")
    assert code == 0, output
    ours = pl.read_parquet(tmp_path / "out" / "flags.parquet").drop("decision", "decision_reason")
    theirs = pl.read_parquet(tmp_path / "plain" / "flags.parquet")
    assert ours.equals(theirs)
    # the pair rules, and the screens of the period (two periods: no history for P012)
    rules = set(ours.filter(pl.col("council_code") == "E10000027")["rule"])
    assert rules == {"P001", "P003", "P010", "P011"}


@pytest.mark.slow
def test_a_revision_keeps_the_last_releases_suppressions(
    tmp_path: Path, database_url: str | None, returns: dict[str, Path]
) -> None:
    """With a collection, --publish takes the ledger's last release as the previous one, so a
    revision cannot be differenced against it; a release no longer as recorded is refused."""
    folder = _collection(tmp_path, database_url, returns)
    code, output = _aggregate(
        "--collection", str(folder), "--out", str(tmp_path / "first"), "--publish"
    )
    assert code == 0, output
    first = json.loads((tmp_path / "first" / "disclosure.json").read_text("utf-8"))
    assert first["cells"], "the small collection has counts of 1 to 4 to hide"
    code, output = _aggregate(
        "--collection", str(folder), "--out", str(tmp_path / "second"), "--publish"
    )
    assert code == 0, output
    second = json.loads((tmp_path / "second" / "disclosure.json").read_text("utf-8"))

    def hidden(document: dict[str, Any]) -> set[tuple[str, ...]]:
        names = ("period", "level", "geography", "age_band", "support_reason", "measure")
        return {tuple(str(cell[name]) for name in names) for cell in document["cells"]}

    assert hidden(first) <= hidden(second)
    assert second["suppressed"]["earlier_release"] > 0
    assert second["previous_release"] == str(tmp_path / "first")
    (tmp_path / "second" / "disclosure.json").unlink()
    code, output = _aggregate(
        "--collection", str(folder), "--out", str(tmp_path / "third"), "--publish"
    )
    assert code == 2
    assert "is not as it was recorded (disclosure.json)" in output
    assert not (tmp_path / "third").exists()
