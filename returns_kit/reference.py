"""Reference councils shipped with the package: who was a council, when, and where."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from returns_kit.periods import Period

#: The first period the reference list covers.
FIRST_PERIOD = Period(2009)


@dataclass(frozen=True, slots=True)
class Council:
    gss_code: str
    former_gss_codes: tuple[str, ...]
    name: str
    la_type: str
    region_code: str
    region_name: str
    first_period: Period | None  #: None when a council since before the reference begins
    last_period: Period | None  #: None when still a council
    succeeded_by: tuple[str, ...]

    def active_in(self, period: Period) -> bool:
        if period < FIRST_PERIOD:
            return False
        if self.first_period is not None and period < self.first_period:
            return False
        return self.last_period is None or period <= self.last_period


@dataclass(frozen=True)
class Reference:
    """The councils with adult social services responsibilities since 2009."""

    councils: dict[str, Council]
    _by_any_code: dict[str, Council]

    def lookup(self, code: str) -> Council | None:
        """The council with this current or former GSS code."""
        return self._by_any_code.get(code.strip().upper())

    def active(self, period: Period) -> list[Council]:
        """Councils expected to send a return for ``period``, by GSS code."""
        return sorted(
            (c for c in self.councils.values() if c.active_in(period)), key=lambda c: c.gss_code
        )

    def predecessors(self, code: str) -> list[Council]:
        return [c for c in self.councils.values() if code in c.succeeded_by]

    def continued_by(self, code: str) -> Council | None:
        """The one-to-one successor that continues this council's series, if there is one.

        A split (several successors) or a merger (a successor with several
        predecessors) breaks the series, so gives None.
        """
        council = self.councils.get(code)
        if council is None or len(council.succeeded_by) != 1:
            return None
        successor = self.councils.get(council.succeeded_by[0])
        if successor is None or len(self.predecessors(successor.gss_code)) != 1:
            return None
        return successor

    def continues(self, code: str) -> Council | None:
        """The one-to-one predecessor whose series this council continues, if any."""
        predecessors = self.predecessors(code)
        if len(predecessors) == 1 and self.continued_by(predecessors[0].gss_code) is not None:
            return predecessors[0]
        return None


def _period(text: str) -> Period | None:
    return Period.parse(text) if text else None


def _codes(text: str) -> tuple[str, ...]:
    return tuple(code for code in text.split(";") if code)


@cache
def load_reference() -> Reference:
    """The reference list shipped inside the package (its source: docs/reference-data.md)."""
    text = resources.files("returns_kit").joinpath("data/councils.csv").read_text("utf-8")
    councils: dict[str, Council] = {}
    for row in csv.DictReader(text.splitlines()):
        council = Council(
            gss_code=row["gss_code"],
            former_gss_codes=_codes(row["former_gss_codes"]),
            name=row["name"],
            la_type=row["la_type"],
            region_code=row["region_code"],
            region_name=row["region_name"],
            first_period=_period(row["first_period"]),
            last_period=_period(row["last_period"]),
            succeeded_by=_codes(row["succeeded_by"]),
        )
        councils[council.gss_code] = council
    by_any = dict(councils)
    for council in councils.values():
        for former in council.former_gss_codes:
            by_any.setdefault(former, council)
    return Reference(councils, by_any)


_NAME_NOISE = re.compile(
    r"\b(the|council|county|borough|city|of|metropolitan|district|royal|london|mbc|cc)\b"
)


def names_match(given: str, reference: str) -> bool:
    """Whether a council name as written is the reference name, ignoring the usual variations.

    "Somerset County Council", "SOMERSET" and "Somerset" all match "Somerset";
    "Bournemouth, Christchurch & Poole Council" matches its reference name.

    >>> names_match("Royal Borough of Kensington & Chelsea", "Kensington and Chelsea")
    True
    """

    def fold(name: str) -> str:
        name = name.casefold().replace("&", " and ")
        name = re.sub(r"[^\w\s]", " ", name)
        return " ".join(_NAME_NOISE.sub(" ", name).split())

    return fold(given) == fold(reference)


def council_hint(reference: Reference, given: str, *, option: str) -> str | None:
    """For a council given by name, or by a code not in the list, the codes it may mean in
    one sentence; None when ``given`` is a code in the list, or near none.

    ``option`` names where the code is wanted ("--council").

    >>> council_hint(load_reference(), "Somerset", option="--council")
    'Somerset is E10000027 (to 2022-23) or E06000066 (from 2023-24); --council takes the code.'
    """
    import difflib

    if reference.lookup(given) is not None:
        return None
    councils = list(reference.councils.values())

    def fold(name: str) -> str:
        return " ".join(re.sub(r"\W+", " ", name.casefold().replace("&", " and ")).split())

    def years(council: Council) -> str:
        first, last = council.first_period, council.last_period
        if first and last:
            return f"{first} to {last}"
        return f"from {first}" if first else f"to {last}" if last else ""

    wanted = fold(given)
    named = [c for c in councils if names_match(given, c.name)]
    if not named:
        # A misspelt name: the councils of the one name closest to it.
        close = difflib.get_close_matches(wanted, sorted({fold(c.name) for c in councils}), n=1)
        named = [c for c in councils if fold(c.name) in close]
    named.sort(key=lambda c: (c.first_period or FIRST_PERIOD, c.gss_code))
    if named:
        same = all(c.name == named[0].name for c in named)
        codes = " or ".join(
            c.gss_code + "".join(f" ({part})" for part in (years(c),) if part)
            if same
            else f"{c.gss_code} ({', '.join(part for part in (c.name, years(c)) if part)})"
            for c in named
        )
        name = named[0].name if same else given.strip()
        return f"{name} is {codes}; {option} takes the code."
    close = difflib.get_close_matches(
        given.strip().upper(), list(reference.councils), n=3, cutoff=0.8
    )
    if close:
        offered = " or ".join(
            f"{code} ({', '.join(p for p in (c.name, years(c)) if p)})"
            for code in close
            for c in (reference.councils[code],)
        )
        return (
            f"{given.strip()} is not a council code in the reference list; did you mean {offered}?"
        )
    return None
