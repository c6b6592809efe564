"""Validate many files, using both cores and the cache; report progress as results arrive."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from returns_kit.aggregate.cache import ResultCache
from returns_kit.aggregate.discover import sha256
from returns_kit.config import Thresholds
from returns_kit.measures import ReturnSummary
from returns_kit.report import FileReport
from returns_kit.rules.explanations import Explanation

#: Below this many files to validate, worker processes cost more than they save.
POOL_FROM = 8


@dataclass
class Processed:
    """One submission's result: one file's content, however many names it was found under."""

    path: str
    sha256: str
    report: FileReport
    summary: ReturnSummary | None = None
    explanations: list[Explanation] = field(default_factory=list)
    #: every name the same bytes were found under, sorted; ``path`` is the first of them
    names: list[str] = field(default_factory=list)
    #: when returns_kit failed on the file (X001): the traceback, for --debug
    traceback: str | None = None


def _validate(path: str, digest: str, thresholds: Thresholds) -> Processed:
    from returns_kit.validate import validate_return

    done = validate_return(path, thresholds=thresholds)
    return Processed(
        path, digest, done.report, done.summary, done.explanations, traceback=done.traceback
    )


def _worker_start() -> None:
    # Each worker takes one core; polars' own thread pool would only contend with the other.
    os.environ.setdefault("POLARS_MAX_THREADS", "1")


def process_all(
    paths: Sequence[Path],
    thresholds: Thresholds,
    cache: ResultCache,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Processed]:
    """One result per submission: files with the same bytes are validated once, under the
    first of their names in sorted order, and listed under all of them. Results come in
    the order of each content's first appearance in ``paths``."""
    groups: dict[str, tuple[str, list[Path]]] = {}
    for path in paths:
        digest = sha256(path)
        # An unreadable file ("") is its own submission: validation says why, as F001.
        groups.setdefault(digest or f"unread:{path}", (digest, []))[1].append(path)
    firsts = [(min(found, key=str), digest) for digest, found in groups.values()]
    names = [sorted(map(str, found)) for _, found in groups.values()]
    results: dict[int, Processed] = {}
    pending: list[tuple[int, str, str]] = []
    for index, (path, digest) in enumerate(firsts):
        cached = cache.get(digest) if digest else None
        if cached is not None:
            report, summary, explanations = cached
            report.path = str(path)
            results[index] = Processed(str(path), digest, report, summary, explanations)
        else:
            pending.append((index, str(path), digest))
    total = len(firsts)
    if progress:
        progress(len(results), total)
    workers = workers or min(2, os.cpu_count() or 1)

    def done(index: int, processed: Processed) -> None:
        results[index] = _store(cache, processed)
        if progress:
            progress(len(results), total)

    if len(pending) >= POOL_FROM and workers >= 2:
        try:
            _in_pool(pending, thresholds, workers, done)
        except (BrokenProcessPool, OSError):
            pass  # a worker died (out of memory, say): what is left is done here instead
    for index, name, digest in pending:
        if index not in results:
            done(index, _validate(name, digest, thresholds))
    done_all = [results[index] for index in range(total)]
    for item, found in zip(done_all, names, strict=True):
        # Set on every run, cached or not: the names are this run's, not the cached one's.
        item.names = found
    return done_all


def _in_pool(
    pending: list[tuple[int, str, str]],
    thresholds: Thresholds,
    workers: int,
    done: Callable[[int, Processed], None],
) -> None:
    # A fork server, not plain fork: forking a process that has started polars' threads
    # can deadlock. It imports the validator once, so each worker starts warm.
    context = get_context("forkserver")
    context.set_forkserver_preload(["returns_kit.validate"])
    with ProcessPoolExecutor(workers, context, initializer=_worker_start) as pool:
        futures = {
            pool.submit(_validate, name, digest, thresholds): index
            for index, name, digest in pending
        }
        for future in as_completed(futures):
            done(futures[future], future.result())


def _store(cache: ResultCache, processed: Processed) -> Processed:
    if processed.traceback is not None:
        # X001: a defect of ours. It is reported, and not kept, so a fixed returns_kit
        # (or a passing failure such as memory) gets to try the file again.
        logging.getLogger("returns_kit.internal").error(
            "returns_kit failed on %s", processed.path, extra={"traceback": processed.traceback}
        )
    elif processed.sha256:
        cache.put(processed.sha256, processed.report, processed.summary, processed.explanations)
    return processed
