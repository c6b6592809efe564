"""The aggregate cache: keyed on the code that decides a result, data only, in a folder of ours."""

from __future__ import annotations

import os
import pickle
import shutil
import stat
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from returns_kit.aggregate.batch import process_all
from returns_kit.aggregate.cache import (
    PARQUET_FROM_ROWS,
    CacheDirError,
    ResultCache,
    code_fingerprint,
    context_key,
    prepare_cache_dir,
)
from returns_kit.aggregate.discover import sha256
from returns_kit.aggregate.run import AggregateOptions, aggregate
from returns_kit.cli import main
from returns_kit.config import Thresholds

from .conftest import FIXTURES, ROOT

INVALID = FIXTURES / "invalid" / "B003.xlsx"
#: A few councils' returns, one of them with a Clients sheet long enough to go to Parquet.
NATIONAL = [
    FIXTURES / "national" / name
    for name in (
        "E06000001-2012-13.xlsx",
        "E06000001-2013-14.xlsx",
        "E10000027-2011-12.xlsx",
        "E10000027-2012-13.xlsx",
    )
]


def _package_copy(tmp_path: Path, name: str) -> Path:
    copy = tmp_path / name
    shutil.copytree(
        ROOT / "returns_kit", copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    return copy


def test_a_changed_rule_changes_the_fingerprint(tmp_path: Path) -> None:
    schemas = ROOT / "schemas"
    same, changed = _package_copy(tmp_path, "same"), _package_copy(tmp_path, "changed")
    assert code_fingerprint(same, schemas) == code_fingerprint(ROOT / "returns_kit", schemas)
    rule = changed / "rules" / "budgets.py"
    rule.write_text(rule.read_text("utf-8").replace("people_total", "people total", 1), "utf-8")
    assert code_fingerprint(changed, schemas) != code_fingerprint(same, schemas)
    # The reference list and the schemas count too.
    councils = _package_copy(tmp_path, "councils") / "data" / "councils.csv"
    councils.write_text(councils.read_text("utf-8") + "\n", "utf-8")
    assert code_fingerprint(councils.parent.parent, schemas) != code_fingerprint(same, schemas)
    other_schemas = tmp_path / "schemas"
    shutil.copytree(schemas, other_schemas)
    codes = other_schemas / "codes.json"
    codes.write_text(codes.read_text("utf-8").replace("Home care", "Home-care", 1), "utf-8")
    assert code_fingerprint(same, other_schemas) != code_fingerprint(same, schemas)


def test_a_changed_rule_misses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule's message changed (in a copy of the package, and in the code that runs): the
    next aggregate must say the new message, not serve the old one from the cache."""
    import returns_kit.validate as validate

    schemas, thresholds, folder = ROOT / "schemas", Thresholds(), tmp_path / "cache"
    before = code_fingerprint(_package_copy(tmp_path, "before"), schemas)
    changed = _package_copy(tmp_path, "after")
    rule = changed / "rules" / "budgets.py"
    rule.write_text(rule.read_text("utf-8") + "\n# the message was reworded\n", "utf-8")
    after = code_fingerprint(changed, schemas)

    def first_message(fingerprint: str) -> str:
        cache = ResultCache(folder, thresholds, fingerprint=fingerprint)
        (processed,) = process_all([INVALID], thresholds, cache, workers=1)
        return processed.report.findings[0].message

    old = first_message(before)
    original = validate.validate_return

    def reworded(path: str | Path, **options: object) -> validate.Validated:
        done = original(path, **options)  # type: ignore[arg-type]
        done.report.findings = [
            f.__class__(**{**f.to_dict(), "severity": f.severity, "message": "Reworded."})
            for f in done.report.findings
        ]
        return done

    monkeypatch.setattr(validate, "validate_return", reworded)
    assert first_message(before) == old  # the same code: served from the cache
    assert first_message(after) == "Reworded."  # changed code: validated afresh


def test_the_context_key_follows_the_thresholds() -> None:
    base = context_key(Thresholds(), "f" * 64)
    assert context_key(Thresholds(), "f" * 64) == base
    assert context_key(Thresholds(pb_rate_jump=0.2), "f" * 64) != base
    assert context_key(Thresholds(), "e" * 64) != base


def test_warm_results_equal_cold_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through JSON (and Parquet for a long Clients sheet), every table comes out the same;
    the warm run validates nothing."""
    import returns_kit.validate as validate

    inputs = tmp_path / "in"
    inputs.mkdir()
    for path in [*NATIONAL, INVALID]:
        shutil.copy(path, inputs / path.name)
    options = AggregateOptions(cache_dir=tmp_path / "cache", workers=1)
    cold = aggregate([inputs], options)
    entries = sorted((tmp_path / "cache").iterdir())
    assert len(entries) == len(NATIONAL) + 1 and all(e.suffix == ".json" for e in entries)
    assert any(b'"parquet":' in e.read_bytes() for e in entries), "no frame went to Parquet"
    assert PARQUET_FROM_ROWS > 26  # Budgets (26 rows) stays JSON

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a warm run validated a file")

    monkeypatch.setattr(validate, "validate_return", refuse)
    warm = aggregate([inputs], options)
    assert set(warm.tables) == set(cold.tables)
    for name, table in cold.tables.items():
        assert_frame_equal(warm.tables[name], table, check_exact=True)


def test_no_pickle_is_ever_loaded(tmp_path: Path) -> None:
    """An entry planted as a pickle, under the very name the cache once used, runs nothing."""
    folder = tmp_path / "cache"
    prepare_cache_dir(folder)
    cache = ResultCache(folder, Thresholds())
    digest = sha256(INVALID)
    marker = tmp_path / "code-ran"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (Path.touch, (str(marker),))

    for suffix in (".pickle", ".json"):
        (folder / f"{digest}-{cache.context}{suffix}").write_bytes(pickle.dumps(Payload()))
    (processed,) = process_all([INVALID], Thresholds(), cache, workers=1)
    assert not marker.exists()
    assert [f.rule for f in processed.report.findings] == ["B003"]


def test_a_damaged_entry_is_a_miss(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    cache = ResultCache(folder, Thresholds())
    process_all([INVALID], Thresholds(), cache, workers=1)
    (entry,) = folder.iterdir()
    text = entry.read_text("utf-8")
    for damaged in (text[: len(text) // 2], text.replace('"B003"', "7"), "[]", "null"):
        entry.write_text(damaged, "utf-8")
        assert cache.get(sha256(INVALID)) is None


def test_the_folder_is_made_0700(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "cache"
    prepare_cache_dir(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX ownership")
def test_a_folder_others_can_write_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(CacheDirError, match="writable by other users"):
        prepare_cache_dir(shared)
    out = tmp_path / "out"
    code = main(["aggregate", str(INVALID), "--out", str(out), "--cache-dir", str(shared)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "" and not out.exists()
    assert len(captured.err.strip().splitlines()) == 1 and "writable by other" in captured.err
    shared.chmod(0o775)  # the group alone is as bad
    with pytest.raises(CacheDirError):
        prepare_cache_dir(shared)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_a_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(CacheDirError, match="belongs to another user"):
        prepare_cache_dir(theirs)


def test_cache_info_and_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "cache"
    process_all(NATIONAL[:2], Thresholds(), ResultCache(folder, Thresholds()), workers=1)
    (folder / ("0" * 64 + "-" + "1" * 16 + ".pickle")).write_bytes(b"from an older returns_kit")
    keep = folder / "notes.txt"
    keep.write_text("not ours to delete")
    size = sum(p.stat().st_size for p in folder.iterdir() if p != keep)

    assert main(["cache", "info", "--cache-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert str(folder) in out and "3 entries" in out and "KB" in out

    assert main(["cache", "clear", "--cache-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("3 entries") and f"{size / 1024:,.1f} KB" in out
    assert sorted(folder.iterdir()) == [keep]
    assert main(["cache", "info", "--cache-dir", str(folder)]) == 0
    assert "0 entries" in capsys.readouterr().out


def test_cache_info_defaults_to_the_xdg_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert main(["cache", "info"]) == 0
    assert str(tmp_path / "returns_kit") in capsys.readouterr().out


def test_findings_frame_is_unchanged_by_the_cache_format(tmp_path: Path) -> None:
    """Evidence (a dict of numbers) survives the JSON round trip exactly."""
    folder = tmp_path / "cache"
    cache = ResultCache(folder, Thresholds())
    (cold,) = process_all([INVALID], Thresholds(), cache, workers=1)
    (warm,) = process_all([INVALID], Thresholds(), cache, workers=1)
    assert warm.report == cold.report
    assert [f.evidence for f in warm.report.findings] == [f.evidence for f in cold.report.findings]
    assert pl.DataFrame([f.to_dict() for f in warm.report.findings]).height == 1
