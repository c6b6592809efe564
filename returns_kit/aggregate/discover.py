"""Find the files an aggregate run reads, and fingerprint them."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: In a folder, files with these endings are read as returns; any other file is listed in the
#: manifest as skipped, so that nothing handed to a run goes unaccounted for.
WORKBOOK_SUFFIXES = (".xlsx", ".ods", ".xlsm", ".xls", ".xlsb")
#: Excel's owner file beside an open workbook ("~$return.xlsx"): a few bytes naming who has
#: the workbook open, never a return, whatever its ending.
LOCK_PREFIX = "~$"

NOT_A_WORKBOOK = "not a workbook by its name (.xlsx, .ods)"
LOCK_FILE = "an Excel lock file (~$...), left while the workbook is open: not a return"
HIDDEN_FILE = "a hidden file (its name starts with a dot): not read"
HIDDEN_FOLDER = "a hidden folder (its name starts with a dot): nothing in it is read"
IN_OUT = "inside the --out folder: the run's own outputs are never read as returns"


@dataclass
class Found:
    """What the paths hold: the workbooks to read, and every other file with why it is not."""

    workbooks: list[Path] = field(default_factory=list)
    #: (path, reason): files (or a whole hidden or --out folder) listed but not read
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and path.resolve().is_relative_to(folder)


def discover(paths: Iterable[Path], out: Path | None = None) -> Found:
    """The workbooks under ``paths`` and the files skipped, each once, sorted so that input
    order never matters.

    A file named directly is read as a workbook whatever its ending, unless it is an Excel
    lock file or lies inside ``out``. In a folder, hidden files and folders, lock files and
    the ``out`` folder are listed as skipped, with the reason, and not read.
    """
    workbooks: set[Path] = set()
    skipped: dict[Path, str] = {}
    output = out.resolve() if out is not None else None
    for path in paths:
        if not path.is_dir():
            if path.name.startswith(LOCK_PREFIX):
                skipped[path] = LOCK_FILE
            elif _inside(path, output):
                skipped[path] = IN_OUT
            else:
                workbooks.add(path)
            continue
        if _inside(path, output):
            skipped[path] = IN_OUT
            continue
        _walk(path, output, workbooks, skipped)
    return Found(
        sorted(workbooks, key=str),
        sorted(
            ((p, why) for p, why in skipped.items() if p not in workbooks), key=lambda s: str(s[0])
        ),
    )


def _walk(root: Path, output: Path | None, workbooks: set[Path], skipped: dict[Path, str]) -> None:
    seen: set[Path] = set()
    for folder, subfolders, files in os.walk(root, followlinks=True):
        here = Path(folder)
        real = here.resolve()
        if real in seen:  # a symbolic link back up the tree: walked once already
            subfolders[:] = []
            continue
        seen.add(real)
        kept = []
        for name in sorted(subfolders):
            if name.startswith("."):
                skipped[here / name] = HIDDEN_FOLDER
            elif _inside(here / name, output):
                skipped[here / name] = IN_OUT
            else:
                kept.append(name)
        subfolders[:] = kept
        for name in files:
            found = here / name
            if name.startswith("."):
                skipped[found] = HIDDEN_FILE
            elif name.startswith(LOCK_PREFIX):
                skipped[found] = LOCK_FILE
            elif not found.is_file():
                continue  # a broken link or a socket: there is nothing to read
            elif found.suffix.lower() in WORKBOOK_SUFFIXES:
                workbooks.add(found)
            else:
                skipped[found] = NOT_A_WORKBOOK


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
