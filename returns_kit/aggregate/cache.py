"""A cache of validated returns, keyed by the file's content and everything that shapes a result.

A rerun after one file changed then validates only that file. The key includes
returns_kit's version, the schemas, the reference list and the thresholds, so a
change to any of them starts afresh.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

from returns_kit import __version__
from returns_kit.schema import load_schemas
from returns_kit.thresholds import Thresholds


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "returns_kit"


def context_key(thresholds: Thresholds) -> str:
    """What, besides a file's content, decides its validation result."""
    digest = hashlib.sha256(__version__.encode())
    digest.update(repr(sorted(load_schemas().items())).encode())
    digest.update(resources.files("returns_kit").joinpath("data/councils.csv").read_bytes())
    digest.update(repr(sorted(asdict(thresholds).items())).encode())
    return digest.hexdigest()[:16]


class ResultCache:
    """Pickled results in a folder, one file per (content, context) key."""

    def __init__(self, folder: Path | None, thresholds: Thresholds) -> None:
        self.folder = folder
        self.context = context_key(thresholds)

    def _path(self, content_hash: str) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / f"{content_hash}-{self.context}.pickle"

    def get(self, content_hash: str) -> Any | None:
        path = self._path(content_hash)
        if path is None or not path.exists():
            return None
        try:
            with path.open("rb") as handle:
                return pickle.load(handle)
        except Exception:  # a damaged or outdated entry is only a miss
            return None

    def put(self, content_hash: str, value: Any) -> None:
        path = self._path(content_hash)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a reader never sees half an entry.
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(handle.name, path)
        except OSError:
            pass  # a cache that cannot be written only makes the next run slower
