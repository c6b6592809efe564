"""May I write here: the one check of every output a command names, made before any work.

A bad output path is then one usage line and nothing done, never a run thrown away at its
end, and never a file lost: nothing is written over a folder, a workbook being checked,
another output of the same run, an existing file the user did not ask to replace, or a
folder that is not an earlier run's. :mod:`returns_kit.atomic` then writes each file whole.
"""

from __future__ import annotations

import os
from pathlib import Path

from returns_kit.errors import ReturnsKitError

__all__ = ["OutputError", "check_new_file", "check_output_folder", "check_outputs"]


class OutputError(ReturnsKitError):
    """An output that may not be written. ``option`` names it as the command line did
    (``--annotate``, ``OUT.xlsx``), or is empty when the message says it all."""

    def __init__(self, message: str, option: str = "") -> None:
        super().__init__(message)
        self.option = option


def check_outputs(inputs: tuple[Path, ...], *outputs: tuple[str, Path | None, str | None]) -> None:
    """Check every output file of one command together, raising :class:`OutputError`.

    Each output is (option, path or None, suffix or None). None is written over a
    folder, an input, or another output, nor into a folder that is missing or not
    writable.
    """
    seen: dict[Path, str] = {}
    for option, path, suffix in outputs:
        if path is None:
            continue
        ending = suffix or "with its extension"
        if path.is_dir():
            raise OutputError(f"{path} is a folder; give a file name ending {ending}.", option)
        if suffix and path.suffix.casefold() != suffix:
            raise OutputError(f"{path} must be named {path.stem}{suffix}.", option)
        resolved = path.resolve()
        for item in inputs:
            if resolved == item.resolve() or (path.exists() and _same_file(path, item)):
                raise OutputError(
                    f"{path} is the workbook being checked; choose another name.", option
                )
        if resolved in seen:
            raise OutputError(
                f"{path} is also the {seen[resolved]} output; choose another name.", option
            )
        seen[resolved] = option or "OUT"
        folder = resolved.parent
        if not folder.is_dir():
            raise OutputError(f"the folder for {path} does not exist.", option)
        if not os.access(folder, os.W_OK | os.X_OK) or (
            path.exists() and not os.access(path, os.W_OK)
        ):
            raise OutputError(f"cannot write {path}: permission denied.", option)


def check_new_file(path: Path, *, replace: bool) -> None:
    """A file that may hold someone's work (a return filled in from a template) is never
    replaced unasked."""
    if path.exists() and not replace:
        raise OutputError(f"{path} exists; give another name, or --force to replace it.")


def check_output_folder(out: Path, marker: str) -> None:
    """An output folder is new, empty, or an earlier run's (it holds ``marker``): a folder of
    someone else's files is never replaced."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / marker).exists())):
        raise OutputError(
            f"{out} exists and is not an earlier aggregate's output folder; choose another --out."
        )


def _same_file(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False
