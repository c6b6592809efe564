"""Shared test helpers: paths to the shipped fixtures and a CLI runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def expected_findings() -> dict[str, list[list[str | None]]]:
    """fixtures/expected.json: per fixture, the [rule, sheet, cell] findings planted in it."""
    return json.loads((FIXTURES / "expected.json").read_text("utf-8"))


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
