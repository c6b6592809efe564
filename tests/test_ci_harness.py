"""CI's guard: under RETURNS_KIT_REQUIRE_COMPONENTS=1 a skip for a missing component fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_PROBE = """
import pytest

def test_needs_a_program():
    pytest.skip("LibreOffice is not installed")

def test_does_not_apply():
    pytest.skip("only where the file system is case-insensitive")
"""


def _run_probe(tmp_path: Path, required: bool) -> str:
    (tmp_path / "test_probe.py").write_text(_PROBE, "utf-8")
    conftest = Path(__file__).with_name("conftest.py")
    (tmp_path / "conftest.py").write_text(conftest.read_text("utf-8"), "utf-8")
    env = {k: v for k, v in os.environ.items() if k != "RETURNS_KIT_REQUIRE_COMPONENTS"}
    if required:
        env["RETURNS_KIT_REQUIRE_COMPONENTS"] = "1"
    # Without the plugins the probe has no use for (hypothesis's alone costs a second to import).
    plugins = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:xdist"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *plugins, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    return done.stdout.splitlines()[-1]


def test_a_missing_component_fails_when_required(tmp_path: Path) -> None:
    assert "1 failed, 1 skipped" in _run_probe(tmp_path, required=True)


def test_a_missing_component_skips_elsewhere(tmp_path: Path) -> None:
    assert "2 skipped" in _run_probe(tmp_path, required=False)
