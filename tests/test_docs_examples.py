"""The Python examples in docs/python-api.md and README.md run, and say what they show."""

from __future__ import annotations

import doctest
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Pages whose ```python blocks are doctests.
PAGES = ("docs/python-api.md", "README.md")


def python_blocks(page: str) -> list[str]:
    """The page with every line outside its ```python blocks blanked (so that a failure
    names the page's own line), one string per block."""
    blocks: list[str] = []
    lines: list[str] | None = None
    for number, line in enumerate((ROOT / page).read_text("utf-8").splitlines()):
        if lines is None and line.strip() == "```python":
            lines = [""] * (number + 1)
        elif lines is not None and line.strip() == "```":
            blocks.append("\n".join(lines) + "\n")
            lines = None
        elif lines is not None:
            lines.append(line)
    return blocks


@pytest.mark.parametrize("page", PAGES)
def test_python_examples_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(page)
    assert blocks, f"{page} has no ```python block"
    for block in blocks:
        # A block without prompts would be shown to readers but never run.
        assert block.strip().startswith(">>> "), f"{page}: a python block is not a doctest"
    # The examples use paths from the repository's root, and their temporary folders
    # land in this test's own.
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    failures: list[str] = []
    names: dict[str, object] = {}  # shared, so that each block goes on from the one before
    for block in blocks:
        test = parser.get_doctest(block, names, page, page, 0)
        runner.run(test, out=failures.append, clear_globs=False)
        names = test.globs  # DocTest works on a copy
    assert runner.failures == 0, "".join(failures)
    assert runner.tries > 0


def test_every_public_name_resolves_and_is_documented() -> None:
    import returns_kit

    page = (ROOT / "docs" / "python-api.md").read_text("utf-8")
    for name in returns_kit.__all__:
        assert getattr(returns_kit, name) is not None, name
        assert f"`{name}" in page, name
