"""Damaged workbooks: every one gets findings, none an internal error (a short fuzz run).

benchmarks/fuzz.py runs the same for longer.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from returns_kit.rules.catalogue import RULES
from returns_kit.validate import validate_file
from tools.synth.damage import damage

from .conftest import FIXTURES, examples

SEEDS = [
    "valid/hartlepool-2013-14.xlsx",
    "valid/somerset-2023-24.ods",
    "valid/westminster-2014-15-clients.xlsx",
    "valid/kent-2016-17-libreoffice.xlsx",
]


@pytest.mark.full_examples  # a fuzz run: 40 cases a seed in CI's slow pass, 10 by default
@pytest.mark.parametrize("seed", range(4))
def test_damaged_workbooks_get_findings_never_internal_errors(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    for case in range(examples(40)):
        source = FIXTURES / rng.choice(SEEDS)
        path = tmp_path / f"case{case}{source.suffix}"
        path.write_bytes(damage(source.read_bytes(), rng))
        report = validate_file(path)
        for item in report.findings:
            assert item.rule in RULES
            assert "internal error" not in item.message, (seed, case, source.name)


def test_damaged_workbook_is_quiet_on_stderr(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """calamine prints about some damaged sheets; the user sees the finding, not that."""
    rng = random.Random(11)
    source = FIXTURES / "valid" / "somerset-2023-24.ods"
    for case in range(40):
        path = tmp_path / f"case{case}.ods"
        path.write_bytes(damage(source.read_bytes(), rng))
        validate_file(path)
    assert capfd.readouterr().err == ""
