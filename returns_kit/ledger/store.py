"""Files as received, stored once under ``DIR/files/`` by their SHA-256 and never overwritten.

A file is written in full, flushed to disk and renamed into place before any ledger row names
it, so a row never points at a missing or partial file; a file with no row (the command was
killed after storing it) is harmless and is reused when the same bytes arrive again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

FOLDER = "files"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def relative_path(digest: str, suffix: str) -> str:
    """Where a file with this SHA-256 lives, relative to the collection folder."""
    return f"{FOLDER}/{digest[:2]}/{digest}{suffix.lower()}"


def store(root: Path, data: bytes, suffix: str) -> str:
    """Store ``data`` (unless already stored) and return its path relative to ``root``."""
    digest = sha256_bytes(data)
    relative = relative_path(digest, suffix)
    target = root / relative
    if target.exists():
        if sha256_bytes(target.read_bytes()) == digest:
            return relative
        # Never overwritten: a damaged copy is kept aside for inspection, not replaced silently.
        raise OSError(f"{relative} exists with other content; the file store is damaged")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o444)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(target.parent)
    return relative


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable before a row can name the file."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
