"""The collection rules: which submission is a council's current return for a period.

The contract is the Collections section of the return format: a submission is a file as
received, identified by its SHA-256; the current return of a council for a period is its
latest valid submission (latest ``submitted_on``, then latest received); earlier ones are
superseded; a submission with errors never displaces a valid one ("last good"); two
different valid submissions with the same ``submitted_on`` and no order of receipt are a
conflict.

Pure: no Django, no files. ``returns aggregate`` (a folder at one moment, nothing
received before) and the collection ledger (every submission with its time of receipt)
both decide with these functions, so the two can never disagree.

>>> from datetime import date
>>> old = Submission("a" * 64, ("old.xlsx",), "E06000001", "2013-14", date(2014, 6, 1))
>>> new = Submission("b" * 64, ("new.xlsx",), "E06000001", "2013-14", date(2014, 7, 1))
>>> choice = choose_current([old, new])[("E06000001", "2013-14")]
>>> choice.current.names, [v.status.value for v in choice.verdicts]
(('new.xlsx',), ['superseded', 'current'])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

Key = tuple[str, str]


@dataclass(frozen=True)
class Submission:
    """One submission: the same bytes however many names they came under.

    ``valid`` means usable as a council's return (no errors, and the return could be
    summarised); ``has_errors`` that validation found errors. A submission can be
    neither (it could not be summarised for another reason), never both.
    ``received_at`` is when a ledger received it; None when unknown (files in a folder).
    """

    sha256: str
    names: tuple[str, ...]
    council_code: str | None
    period: str | None
    submitted_on: date | None
    received_at: datetime | None = None
    valid: bool = True
    has_errors: bool = False

    @property
    def key(self) -> Key | None:
        """(council_code, period), or None when the return does not say both."""
        if self.council_code is None or self.period is None:
            return None
        return self.council_code, self.period

    @property
    def name(self) -> str:
        """The name to show for it: the first of its names in sorted order."""
        return min(self.names) if self.names else self.sha256


class Status(StrEnum):
    """What a submission is to its council and period."""

    #: the council's return for the period: used
    CURRENT = "current"
    #: a valid return that a later one replaced: kept, listed, not used, not a failure
    SUPERSEDED = "superseded"
    #: one of two or more different valid returns with nothing to order them: none is used
    CONFLICT = "conflict"
    #: has errors, could not be summarised, or names no council and period: never current
    REJECTED = "rejected"


@dataclass(frozen=True)
class Verdict:
    submission: Submission
    status: Status
    #: why, in words for the manifest or the ledger's output; "" for a plain current return
    reason: str


@dataclass(frozen=True)
class Choice:
    """Every submission of one council for one period, and which one is current."""

    key: Key
    current: Submission | None
    #: one per submission, ordered oldest first (submitted_on, received_at, name)
    verdicts: tuple[Verdict, ...] = field(default=())

    def of(self, status: Status) -> tuple[Submission, ...]:
        return tuple(v.submission for v in self.verdicts if v.status is status)

    @property
    def superseded(self) -> tuple[Submission, ...]:
        return self.of(Status.SUPERSEDED)

    @property
    def conflict(self) -> tuple[Submission, ...]:
        return self.of(Status.CONFLICT)

    @property
    def rejected(self) -> tuple[Submission, ...]:
        return self.of(Status.REJECTED)

    @property
    def needs_a_person(self) -> bool:
        """True when someone must act: a conflict, or a submission with errors."""
        return any(
            v.status is Status.CONFLICT or (v.status is Status.REJECTED and v.submission.has_errors)
            for v in self.verdicts
        )

    @property
    def why_no_current(self) -> str | None:
        """Why there is no current return (None when there is one), for notices such as P006."""
        if self.current is not None:
            return None
        if self.conflict:
            return f"{len(self.conflict)} different returns are in conflict"
        if any(s.has_errors for s in self.rejected):
            count = len(self.rejected)
            return "the return has errors" if count == 1 else f"all {count} returns have errors"
        return "the return could not be used"


def merge_same_bytes(submissions: Iterable[Submission]) -> list[Submission]:
    """One submission per SHA-256, with every name it came under (sorted), first seen first.

    The earliest ``received_at`` is kept: the bytes arrived then. A submission with an
    empty SHA-256 (its file could not be read) is never merged with another.
    """
    merged: dict[str, Submission] = {}
    alone: list[tuple[int, Submission]] = []
    order: dict[str, int] = {}
    for index, item in enumerate(submissions):
        if not item.sha256:
            alone.append((index, item))
            continue
        seen = merged.get(item.sha256)
        if seen is None:
            merged[item.sha256] = replace(item, names=tuple(sorted(set(item.names))))
            order[item.sha256] = index
            continue
        times = [t for t in (seen.received_at, item.received_at) if t is not None]
        merged[item.sha256] = replace(
            seen,
            names=tuple(sorted(set(seen.names) | set(item.names))),
            received_at=min(times) if times else None,
        )
    ranked = [(order[digest], item) for digest, item in merged.items()] + alone
    return [item for _, item in sorted(ranked, key=lambda pair: pair[0])]


def _age(item: Submission) -> tuple[date, datetime, str]:
    # Oldest first; an unknown date sorts before every known one.
    return (item.submitted_on or date.min, item.received_at or datetime.min, item.name)


def _when(item: Submission) -> str:
    return item.submitted_on.isoformat() if item.submitted_on else "no date"


def _choose(key: Key, items: Sequence[Submission]) -> Choice:
    usable = sorted((s for s in items if s.valid and not s.has_errors), key=_age)
    unusable = [s for s in items if not (s.valid and not s.has_errors)]
    found: list[Verdict] = []
    current: Submission | None = None
    top: list[Submission] = []
    if usable:
        newest_date = usable[-1].submitted_on
        top = [s for s in usable if s.submitted_on == newest_date]
        if len(top) > 1 and all(s.received_at is not None for s in top):
            latest = max(s.received_at for s in top if s.received_at is not None)
            top = [s for s in top if s.received_at == latest]
        if len(top) == 1:
            current = top[0]
            found.append(Verdict(current, Status.CURRENT, ""))
        else:
            for item in top:
                others = ", ".join(s.name for s in top if s is not item)
                found.append(
                    Verdict(
                        item,
                        Status.CONFLICT,
                        f"{len(top)} different valid returns for {key[0]} {key[1]} submitted "
                        f"on {_when(item)} (also {others}); none used",
                    )
                )
    for item in usable:
        if any(item is s for s in top):
            continue
        if current is None:
            reason = f"superseded by later returns submitted on {_when(top[0])}, in conflict"
        elif (item.submitted_on or date.min) < (current.submitted_on or date.min):
            reason = f"superseded by {current.name}, submitted on {_when(current)}"
        else:
            reason = f"superseded by {current.name}, received later"
        found.append(Verdict(item, Status.SUPERSEDED, reason))
    for item in unusable:
        why = "has errors" if item.has_errors else "could not be used"
        if current is not None and _age(item) > _age(current):
            # "Last good": a broken resubmission never displaces the valid return.
            why = f"{why}; {current.name} stays current"
        found.append(Verdict(item, Status.REJECTED, why))
    return Choice(key, current, tuple(sorted(found, key=lambda v: _age(v.submission))))


def choose_current(submissions: Iterable[Submission]) -> dict[Key, Choice]:
    """For every (council_code, period) the submissions name, the current one and why.

    Submissions with the same SHA-256 are merged first (one submission, every name).
    Submissions naming no council or no period are left out: see ``unidentified``.
    """
    groups: dict[Key, list[Submission]] = {}
    for item in merge_same_bytes(submissions):
        if item.key is not None:
            groups.setdefault(item.key, []).append(item)
    return {key: _choose(key, groups[key]) for key in sorted(groups)}


def unidentified(submissions: Iterable[Submission]) -> list[Submission]:
    """The submissions (merged by SHA-256) that name no council or no period: never current."""
    return [item for item in merge_same_bytes(submissions) if item.key is None]


def verdicts(submissions: Iterable[Submission]) -> list[Verdict]:
    """A verdict for every submission (merged by SHA-256), identified or not, by name."""
    items = list(submissions)
    found = [v for choice in choose_current(items).values() for v in choice.verdicts]
    found += [
        Verdict(s, Status.REJECTED, "names no valid council_code and period")
        for s in unidentified(items)
    ]
    return sorted(found, key=lambda v: v.submission.name)
