"""Write an aggregate's tables: CSV and Parquet each, and one formatted tables.xlsx.

Outputs are written to ``outputs/`` in a staging folder ``.<out>.new-*`` beside the
destination and swapped in whole, so the folder holds either the complete previous outputs
or the complete new ones. Each folder a run makes beside the destination names the run's
process in an ``.owner`` file (outside ``outputs/``), so that a later run removes what a
killed run left behind but never what a running one is using.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from returns_kit.aggregate.columns import Kind, kind_of
from returns_kit.aggregate.xlsx import write_tables
from returns_kit.outputs import check_output_folder

#: Marks a folder as ours, so that --out never replaces a folder of someone else's files.
MARKER = "manifest.csv"
#: Text a spreadsheet would take for a formula (CWE-1236); such text gets a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: In each folder a run makes beside --out: the process id of the run that made it.
OWNER = ".owner"
#: A folder beside --out with no owner (a run killed before writing it, or an older
#: returns_kit) is taken to be abandoned once it is this many seconds old.
ABANDONED_AFTER = 3600.0
#: renameat2(2) on Linux: paths relative to the working directory; swap the two paths.
AT_FDCWD = -100
RENAME_EXCHANGE = 2


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as formulas, made inert with a leading '."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    risky = "^[" + "".join("\\" + c if c in "-" else c for c in FORMULA_STARTS) + "]"
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(risky))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text
    )


def check_destination(out: Path) -> None:
    """Refuse an --out that is not an earlier aggregate's folder. First, if a run was killed
    between the two renames of the fallback swap (see :func:`_swap`), --out is missing and
    its previous outputs are in ``.<out>.old-*/outputs``: they are put back."""
    _put_back(out)
    check_output_folder(out, MARKER)


#: Writes one more output (the HTML report, GX Data Docs) into the staging folder it is given.
ExtraOutput = Callable[[Path], None]


def write_outputs(
    tables: dict[str, pl.DataFrame],
    out: Path,
    extras: Mapping[str, ExtraOutput] | None = None,
) -> None:
    """Write every table, then each extra, into staging; swap it in only when all succeeded."""
    check_destination(out)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    _sweep(out)
    staging = _owned_folder(out, "new")
    content = staging / "outputs"
    try:
        # Made by mkdir, not mkdtemp, so --out gets 0o777 less the umask like any folder
        # (mkdtemp's 0o700 would shut out the group and others).
        content.mkdir()
        for name, frame in tables.items():
            frame.write_parquet(content / f"{name}.parquet")
            neutralise(frame).write_csv(content / f"{name}.csv")
        write_workbook(tables, content / "tables.xlsx")
        for write_extra in (extras or {}).values():
            write_extra(content)
        _swap(content, out)
    finally:
        _remove(staging)


def _swap(new: Path, out: Path) -> None:
    """Put the folder ``new`` at ``out``. Where the system can, the two are exchanged in one
    step, so --out is never missing; the previous outputs are then at ``new``, removed with
    the staging folder. Elsewhere --out is first moved to ``.<out>.old-*/outputs``; a run
    killed before the second rename leaves no --out, and the next run puts it back."""
    if not os.path.lexists(out):
        os.replace(new, out)
        return
    if _exchange(new, out):
        return
    retired = _owned_folder(out, "old")
    try:
        os.replace(out, retired / "outputs")
    except OSError:
        _remove(retired)
        raise
    try:
        os.replace(new, out)
    except OSError:
        os.replace(retired / "outputs", out)
        _remove(retired)
        raise
    _remove(retired)


@functools.cache
def _renameat2() -> Any:
    """libc's renameat2 (Linux, glibc 2.28 or later), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    function.argtypes = (
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    )
    function.restype = ctypes.c_int
    return function


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders atomically; False where the system or file system cannot."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE):
        code = ctypes.get_errno()
        if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            return False
        raise OSError(code, os.strerror(code), str(first), None, str(second))
    return True


def _owned_folder(out: Path, kind: str) -> Path:
    """A new folder ``.<out>.<kind>-*`` beside --out, naming this process as its owner."""
    folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.{kind}-", dir=out.resolve().parent))
    try:
        (folder / OWNER).write_text(f"{os.getpid()}\n", encoding="ascii")
    except BaseException:
        _remove(folder)
        raise
    return folder


def _remove(folder: Path) -> None:
    """Remove a folder made by :func:`_owned_folder`, its owner file last."""
    shutil.rmtree(folder / "outputs", ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)


def _beside(out: Path, kind: str) -> Iterator[Path]:
    """The folders ``.<out>.<kind>-*`` made by :func:`_owned_folder` for this --out."""
    parent = out.resolve().parent
    pattern = re.compile(re.escape(f".{out.name}.{kind}-") + "[a-z0-9_]{8}")
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    for entry in entries:
        if pattern.fullmatch(entry.name) and entry.is_dir() and not entry.is_symlink():
            yield entry


def _alive(pid: int) -> bool | None:
    """Whether a process is running; None where that cannot be told."""
    if pid <= 0 or sys.platform == "win32":  # on Windows os.kill(pid, 0) would stop it
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    except (OverflowError, OSError):
        return None
    return True


def _age(folder: Path) -> float:
    try:
        return time.time() - folder.stat().st_mtime
    except OSError:
        return 0.0


def _owner_alive(folder: Path) -> bool | None:
    """Whether the run that made a folder is running; None if it has no (readable) owner."""
    try:
        return _alive(int((folder / OWNER).read_text(encoding="ascii")))
    except (OSError, ValueError):
        return None


def _abandoned(folder: Path) -> bool:
    """Whether a folder beside --out was left by a run that is no longer running: its owner
    is not running, or it has no owner and is older than :data:`ABANDONED_AFTER`."""
    alive = _owner_alive(folder)
    if alive is None:
        return _age(folder) > ABANDONED_AFTER
    return not alive


def _put_back(out: Path) -> None:
    """Move the previous outputs of a run killed mid-swap back to --out (the newest, if
    several runs were). A folder with no owner is from an older returns_kit: its outputs
    are put back whatever its age, as a missing --out is worse than a stale one."""
    if os.path.lexists(out):
        return
    left = [folder for folder in _beside(out, "old") if (folder / "outputs").is_dir()]
    for folder in sorted(left, key=_age):
        if _owner_alive(folder):  # a running run between its two renames
            continue
        try:
            os.rename(folder / "outputs", out)
        except OSError as problem:
            if os.path.lexists(out):  # another run put them back first
                return
            if isinstance(problem, FileNotFoundError):
                continue
            raise
        return


def _sweep(out: Path) -> None:
    """Remove the staging and retired folders that killed runs left beside --out."""
    for kind in ("new", "old"):
        for folder in _beside(out, kind):
            if _abandoned(folder):
                _remove(folder)


def _shown_as(kind: Kind) -> Callable[[str], bool]:
    """Whether a column is declared of this kind (a column no table declares is shown as
    stored)."""
    return lambda column: kind_of(column) is kind


#: Tables of findings, which tables.xlsx lists most serious first.
_BY_SEVERITY = ("findings", "flags")
_SEVERITY_RANK = {"error": 0, "query": 1, "warning": 2, "info": 3}


def most_serious_first(frame: pl.DataFrame) -> pl.DataFrame:
    """Errors, then queries, warnings and info notes, each by rule; otherwise in the table's
    own order. A national run's 152 P005 notes would otherwise come before its queries."""
    if not {"severity", "rule"} <= set(frame.columns):
        return frame
    rank = pl.col("severity").replace_strict(_SEVERITY_RANK, default=len(_SEVERITY_RANK))
    return frame.sort(rank, pl.col("rule"), maintain_order=True)


def write_workbook(tables: dict[str, pl.DataFrame], path: Path) -> None:
    """One sheet per table: bold frozen headings, widths fitted, rates as percentages, changes
    in points, findings most serious first, text never a formula."""
    shown = {
        name: most_serious_first(frame) if name in _BY_SEVERITY else frame
        for name, frame in tables.items()
    }
    write_tables(shown, path, _shown_as(Kind.RATE), _shown_as(Kind.POINTS))
