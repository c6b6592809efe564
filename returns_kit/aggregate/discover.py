"""Find the files an aggregate run reads, and fingerprint them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

#: In a folder, files with these endings are read as returns; any other file is listed in the
#: manifest as excluded, so that nothing handed to a run goes unaccounted for.
WORKBOOK_SUFFIXES = (".xlsx", ".ods", ".xlsm", ".xls", ".xlsb")


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """(workbooks, other files) under ``paths``, each once, sorted so input order never matters.

    A file named directly is always read as a workbook, whatever its name; in a folder,
    hidden files (such as .DS_Store) are skipped.
    """
    workbooks: set[Path] = set()
    others: set[Path] = set()
    for path in paths:
        if path.is_dir():
            for found in path.rglob("*"):
                if not found.is_file() or any(
                    p.startswith(".") for p in found.relative_to(path).parts
                ):
                    continue
                (workbooks if found.suffix.lower() in WORKBOOK_SUFFIXES else others).add(found)
        else:
            workbooks.add(path)
    return sorted(workbooks, key=str), sorted(others - workbooks, key=str)


def sha256(path: Path) -> str:
    """The file's SHA-256, or "" when it cannot be read (validation then says why, as F001)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()
