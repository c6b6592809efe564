"""Write an output file whole or not at all, with the permissions any new file would get.

Every file returns_kit writes for its user (a template, an annotated copy, a page, the
tables) goes through :func:`write_atomically`: it is written to a temporary file beside the
destination and renamed into place only once complete, so the destination holds either
the complete new file or what it held before, never half of one.

The temporary file is created with mode 0o666, which the system reduces by the umask, as
``open(path, "w")`` would. ``tempfile.mkstemp`` would make it 0o600, and a renamed report
would then be private to its writer where the user's umask says it is shared.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_atomically"]

#: Mode of a new output before the umask, as open() uses.
_MODE = 0o666


def _temporary(path: Path) -> Path:
    """A new, empty file beside ``path``, made with 0o666 less the umask."""
    while True:
        candidate = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            handle = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _MODE)
        except FileExistsError:
            continue
        os.close(handle)
        return candidate


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` with a temporary path beside ``path``, then rename the result to ``path``.

    ``write`` may replace the temporary file or write into it; on any failure (including an
    interrupt) the temporary file is removed and ``path`` is left as it was.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_atomically(folder / "a.txt", lambda p: p.write_text("done"))
    >>> (folder / "a.txt").read_text()
    'done'
    """
    path = Path(path)
    temporary = _temporary(path)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
