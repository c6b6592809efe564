"""docs/architecture.md stays a true map: every module it names exists, and every module of
the package is named there (so a new module is placed in its layer when it is made)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "returns_kit"
PAGE = ROOT / "docs" / "architecture.md"

#: A path in backticks: a module (``workbook/reader.py``) or a folder (``ledger/migrations/``).
NAMED = re.compile(r"`([a-z_][a-z0-9_/]*(?:\.py|/))`")


def named() -> set[str]:
    return set(NAMED.findall(PAGE.read_text("utf-8")))


def package_modules() -> set[str]:
    """Every module of the package, relative to it; a subpackage's __init__.py and the
    ledger's generated migrations are covered by naming their folder."""
    modules = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("ledger/migrations/"):
            modules.add("ledger/migrations/")
        elif path.name != "__init__.py" or path.parent == PACKAGE:
            modules.add(relative)
    return modules


def test_every_module_the_map_names_exists() -> None:
    missing = sorted(
        name for name in named() if not (PACKAGE / name).exists() and not (ROOT / name).exists()
    )
    assert missing == [], f"docs/architecture.md names what is not there: {missing}"


def test_every_module_of_the_package_is_on_the_map() -> None:
    unnamed = sorted(package_modules() - named())
    assert unnamed == [], f"add these to their layer in docs/architecture.md: {unnamed}"


def test_the_map_can_tell_a_missing_module() -> None:
    """The pattern finds modules and folders in backticks, and not other code spans."""
    found = NAMED.findall("`validate.py`, `ledger/migrations/`, `returns validate FILE`, `Limits`")
    assert found == ["validate.py", "ledger/migrations/"]
