"""A cache of validated returns, keyed by the file's content and everything that decides a result.

A rerun after one file changed then validates only that file. The key is the
file's SHA-256 and a context: a fingerprint of returns_kit's own code and data (every
file of the package, the schemas, the reference list of councils) and the
thresholds. Any change to the rules, however small, therefore starts afresh.

Entries are JSON, only data: nothing read from the cache folder can run code. The
folder is created 0700 and refused when another user owns it or when the group or
others may write to it, since whoever can write there decides what the next run
reports.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import stat
import tempfile
from dataclasses import asdict, dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from returns_kit.config import Thresholds
from returns_kit.errors import ReturnsKitError
from returns_kit.findings import Finding, Severity
from returns_kit.measures import ReturnSummary
from returns_kit.report import FileReport
from returns_kit.rules.explanations import Explanation
from returns_kit.rules.ran import RulesRun

#: Bump when the layout of an entry changes; older entries are then misses.
FORMAT = 3  # 3: findings carry their message parameters
#: An entry's name: the file's SHA-256, the context key, and .json (.pickle: before JSON).
ENTRY_NAME = re.compile(r"^[0-9a-f]{64}-[0-9a-f]{16}\.(json|pickle)$")
_TEMPORARY = ".returns_kit-"
_PACKAGE = Path(__file__).resolve().parent.parent


class CacheDirError(ReturnsKitError):
    """The cache folder cannot be used safely."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "returns_kit"


def prepare_cache_dir(folder: Path) -> None:
    """Create ``folder`` 0700 when missing; refuse one another user owns or others may write.

    A result read from the cache is believed, so the folder must be writable by this
    user alone.
    """
    try:
        if not folder.exists():
            folder.mkdir(parents=True, mode=0o700)
            folder.chmod(0o700)  # mkdir's mode is filtered by the umask
        status = folder.stat()
    except OSError as problem:
        raise CacheDirError(
            f"cannot use {folder} as the cache folder: {problem.strerror}; give another "
            "--cache-dir, or --no-cache."
        ) from problem
    if not stat.S_ISDIR(status.st_mode):
        raise CacheDirError(f"{folder} is not a folder; give a folder as --cache-dir.")
    if hasattr(os, "geteuid") and status.st_uid != os.geteuid():
        raise CacheDirError(
            f"the cache folder {folder} belongs to another user, who could plant results "
            "in it; give a folder of your own as --cache-dir."
        )
    if status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise CacheDirError(
            f"the cache folder {folder} is writable by other users, who could plant results "
            f"in it; make it yours alone (chmod 700 {folder}) or give another --cache-dir."
        )


@cache
def code_fingerprint(package: Path = _PACKAGE, schemas: Path | None = None) -> str:
    """A digest of every file of the package and of the schemas, read once per process.

    Every file, not only those known to matter: a rule's message, a schema's code
    list or a council's successor may change a result, and hashing about 1 MB costs
    a few milliseconds.
    """
    if schemas is None:
        from returns_kit.schema import schemas_dir

        schemas = Path(str(schemas_dir()))
    digest = hashlib.sha256()
    for root in dict.fromkeys((package, schemas)):
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def context_key(thresholds: Thresholds, fingerprint: str | None = None) -> str:
    """What, besides a file's content, decides its validation result."""
    digest = hashlib.sha256((fingerprint or code_fingerprint()).encode())
    digest.update(json.dumps(asdict(thresholds), sort_keys=True).encode())
    return digest.hexdigest()[:16]


Cached = tuple[FileReport, ReturnSummary | None, list[Explanation]]


class _Uncacheable(Exception):
    """A value this format does not hold: the result is not cached (never stored wrongly)."""


class ResultCache:
    """Validation results in a folder, one JSON file per (content, context) key.

    ``folder`` None caches nothing. ``fingerprint`` stands in for the code's (tests).
    """

    def __init__(
        self, folder: Path | None, thresholds: Thresholds, *, fingerprint: str | None = None
    ) -> None:
        if folder is not None:
            prepare_cache_dir(folder)
        self.folder = folder
        self.context = context_key(thresholds, fingerprint)

    def _path(self, content_hash: str) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / f"{content_hash}-{self.context}.json"

    def get(self, content_hash: str) -> Cached | None:
        path = self._path(content_hash)
        if path is None:
            return None
        try:
            document = json.loads(path.read_bytes())
            if document.get("format") != FORMAT or document.get("key") != path.stem:
                return None
            return _decode(document)
        except FileNotFoundError:
            return None
        except (
            OSError,
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            pl.exceptions.PolarsError,
        ):
            return None  # a damaged or outdated entry is only a miss

    def put(
        self,
        content_hash: str,
        report: FileReport,
        summary: ReturnSummary | None,
        explanations: list[Explanation],
    ) -> None:
        path = self._path(content_hash)
        if path is None:
            return
        try:
            document = {
                "format": FORMAT,
                "key": path.stem,
                **_encode(report, summary, explanations),
            }
            text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        except (_Uncacheable, TypeError, ValueError):
            return  # not cached: the next run validates it again
        try:
            # Write then rename, so a reader never sees half an entry (created 0600).
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=path.parent, prefix=_TEMPORARY, delete=False
            ) as handle:
                handle.write(text)
            os.replace(handle.name, path)
        except OSError:
            pass  # a cache that cannot be written only makes the next run slower


@dataclass(frozen=True)
class CacheInfo:
    folder: Path
    entries: int
    bytes: int


def cache_info(folder: Path) -> CacheInfo:
    """How many entries the folder holds and their size on disk."""
    entries = _entries(folder)
    return CacheInfo(folder, len(entries), sum(_size(path) for path in entries))


def clear_cache(folder: Path) -> CacheInfo:
    """Delete the cache's entries (only files named as entries are, whatever else is there)."""
    removed, size = 0, 0
    for path in _entries(folder, temporary=True):
        length = _size(path)
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed, size = removed + 1, size + length
    return CacheInfo(folder, removed, size)


def _entries(folder: Path, *, temporary: bool = False) -> list[Path]:
    if not folder.is_dir():
        return []
    return [
        path
        for path in folder.iterdir()
        if ENTRY_NAME.match(path.name) or (temporary and path.name.startswith(_TEMPORARY))
    ]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


# A frame's columns are kept as lists with their types named; only these types are.
_TYPES: dict[str, Any] = {
    "String": pl.String,
    "Int64": pl.Int64,
    "Int32": pl.Int32,
    "Float64": pl.Float64,
    "Boolean": pl.Boolean,
}


#: Frames longer than this (a Clients sheet's rows) are kept as Parquet, which reads them
#: in a fraction of the time; shorter ones as JSON rows, which build them faster.
PARQUET_FROM_ROWS = 1_000


def _encode_frame(frame: pl.DataFrame | None) -> dict[str, Any] | None:
    if frame is None:
        return None
    types = {name: str(dtype) for name, dtype in frame.schema.items()}
    if any(name not in _TYPES for name in types.values()):
        raise _Uncacheable(f"column types {types}")
    if frame.height < PARQUET_FROM_ROWS:
        # Rows, not columns: polars builds a short frame from rows in a third of the time.
        return {"types": types, "rows": frame.rows()}
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=False)
    return {"types": types, "parquet": base64.b64encode(buffer.getvalue()).decode("ascii")}


def _decode_frame(data: dict[str, Any] | None) -> pl.DataFrame | None:
    if data is None:
        return None
    schema = {name: _TYPES[kind] for name, kind in data["types"].items()}
    if "parquet" not in data:
        return pl.DataFrame(data["rows"], schema=schema, orient="row")
    frame = pl.read_parquet(io.BytesIO(base64.b64decode(data["parquet"], validate=True)))
    if frame.schema != pl.Schema(schema):
        raise ValueError("a cached frame's columns are not those recorded")
    return frame


def _encode(
    report: FileReport, summary: ReturnSummary | None, explanations: list[Explanation]
) -> dict[str, Any]:
    return {
        "report": {
            "path": report.path,
            "council_code": report.council_code,
            "period": report.period,
            "council_name": report.council_name,
            "findings": [item.to_dict() for item in report.findings],
            "rules_run": _encode_rules_run(report.rules_run),
        },
        "summary": None if summary is None else _encode_summary(summary),
        "explanations": [[item.rule, item.scope, item.text] for item in explanations],
    }


def _encode_rules_run(ran: RulesRun) -> dict[str, Any]:
    return {
        "opened": ran.opened,
        "present": sorted(ran.present),
        "read": sorted(ran.read),
        "previous": ran.previous,
        "no_comparison": ran.no_comparison,
    }


def _decode_rules_run(data: dict[str, Any]) -> RulesRun:
    return RulesRun(
        opened=_typed(data["opened"], bool, False),
        present=frozenset(_typed(name, str, False) for name in data["present"]),
        read=frozenset(_typed(name, str, False) for name in data["read"]),
        previous=_typed(data["previous"], bool, False),
        no_comparison=_typed(data["no_comparison"], str),
    )


def _encode_summary(summary: ReturnSummary) -> dict[str, Any]:
    submitted = summary.submitted_on
    if submitted is not None and type(submitted) is not date:
        raise _Uncacheable(f"submitted_on {type(submitted).__name__}")
    return {
        "council_code": summary.council_code,
        "period": summary.period,
        "submitted_on": None if submitted is None else submitted.isoformat(),
        "nominal": None if summary.nominal is None else list(summary.nominal),
        "budgets": _encode_frame(summary.budgets),
        "services": _encode_frame(summary.services),
        "clients": _encode_frame(summary.clients),
        # Computed once by the worker, so that a warm run does no per-return polars work.
        "counts": summary.counts,
        "people_by_service": [[*key, n] for key, n in summary.people_by_service.items()],
    }


def _typed(value: Any, kind: type | tuple[type, ...], optional: bool = True) -> Any:
    """``value`` when it is of ``kind`` (or None, when optional): an entry is checked as it
    is read, so a damaged one is a miss rather than a wrong finding."""
    if (value is None and optional) or (isinstance(value, kind) and not isinstance(value, bool)):
        return value
    if kind is bool and isinstance(value, bool):
        return value
    raise ValueError(f"{value!r} is not {kind}")


def _decode(document: dict[str, Any]) -> Cached:
    data = document["report"]
    findings = [
        Finding(
            rule=_typed(item["rule"], str, False),
            severity=Severity(item["severity"]),
            message=_typed(item["message"], str, False),
            sheet=_typed(item["sheet"], str),
            cell=_typed(item["cell"], str),
            row=_typed(item["row"], int),
            column=_typed(item["column"], str),
            scope=_typed(item["scope"], str),
            params=_typed(item["params"], dict),
            evidence=_typed(item["evidence"], dict),
            explained=_typed(item["explained"], bool),
        )
        for item in data["findings"]
    ]
    report = FileReport(
        _typed(data["path"], str, False),
        findings,
        council_code=_typed(data["council_code"], str),
        period=_typed(data["period"], str),
        council_name=_typed(data["council_name"], str),
        rules_run=_decode_rules_run(data["rules_run"]),
    )
    explanations = [
        Explanation(_typed(rule, str, False), _typed(scope, str), _typed(text, str, False))
        for rule, scope, text in document["explanations"]
    ]
    return report, _decode_summary(document["summary"]), explanations


def _decode_summary(data: dict[str, Any] | None) -> ReturnSummary | None:
    if data is None:
        return None
    budgets, services = _decode_frame(data["budgets"]), _decode_frame(data["services"])
    if budgets is None or services is None:
        raise ValueError("a summary without its Budgets or Services rows")
    nominal = data["nominal"]
    submitted = data["submitted_on"]
    summary = ReturnSummary(
        council_code=_typed(data["council_code"], str, False),
        period=_typed(data["period"], str, False),
        submitted_on=None if submitted is None else date.fromisoformat(submitted),
        budgets=budgets,
        services=services,
        nominal=None if nominal is None else (int(nominal[0]), int(nominal[1])),
        clients=_decode_frame(data["clients"]),
    )
    # The cached properties, as the worker computed them.
    summary.__dict__["counts"] = {str(k): int(v) for k, v in data["counts"].items()}
    summary.__dict__["people_by_service"] = {
        (service, arrangement): int(n) for service, arrangement, n in data["people_by_service"]
    }
    return summary
