"""The wheel ships the product and only the product.

It is built once, offline (hatchling from this environment, no build isolation), and its
file list checked: every file of returns_kit/ is in it (schemas, reference data, templates,
py.typed, the ledger's migrations), and nothing else is (tools/, with the synthetic return
generators, the docs generator and the test oracle; tests/; fixtures/; benchmarks/).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from returns_kit.schema import SCHEMA_FILES

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return zipfile.ZipFile(next(out.glob("*.whl")))


def _product_files() -> set[str]:
    """Every file git tracks under returns_kit/ (what the wheel must carry)."""
    listed = subprocess.run(
        ["git", "ls-files", "returns_kit"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return {name for name in listed if (ROOT / name).is_file()}


def test_the_wheel_carries_the_whole_product(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert {f"returns_kit/schemas/{stem}.json" for stem in SCHEMA_FILES} <= names
    assert "returns_kit/data/councils.csv" in names
    assert "returns_kit/py.typed" in names  # type checkers read our annotations (PEP 561)
    assert "returns_kit/ledger/migrations/0001_initial.py" in names
    assert "returns_kit/zips.py" in names  # the template's fixed-time zip stays in
    missing = _product_files() - names
    assert not missing, f"tracked product files missing from the wheel: {sorted(missing)}"


def test_the_wheel_carries_nothing_but_the_product(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    tops = {name.split("/")[0] for name in names}
    outside = sorted(top for top in tops if top != "returns_kit" and not top.endswith(".dist-info"))
    assert outside == []
    for gone in ("returns_kit/synth/", "returns_kit/docs.py", "tools/", "tests/", "fixtures/"):
        assert not any(name.startswith(gone) for name in names), gone
    # jsonschema is the test oracle's, not the product's: only the test extra asks for it
    metadata = Parser().parsestr(
        wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    )
    requires = metadata.get_all("Requires-Dist") or []
    jsonschema = [line for line in requires if line.startswith("jsonschema")]
    assert jsonschema and all("extra == 'test'" in line for line in jsonschema), jsonschema


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_the_product_never_imports_the_tools() -> None:
    """tools/ is not installed: a product module importing it would fail in a user's
    environment, and only there. Checked on the source, every import (lazy ones too)."""
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / "returns_kit").rglob("*.py")
        for module in _imported_modules(path)
        if module.split(".")[0] in {"tools", "tests", "jsonschema", "xlsxwriter"}
    )
    assert offenders == []
