"""Pair a return with its council's return for the period before (``--previous``)."""

from __future__ import annotations

from returns_kit.periods import Period
from returns_kit.reference import Reference
from returns_kit.report import FileReport


def pairing_problem(current: FileReport, previous: FileReport, reference: Reference) -> str | None:
    """Why ``previous`` cannot be compared with ``current``, or None when it can.

    It must be the same council's return (or its one-to-one predecessor's, such as
    Somerset County E10000027 before Somerset E06000066) for the period just before.
    """
    for report, role in ((current, "the return"), (previous, "the --previous return")):
        if report.council_code is None or report.period is None:
            return (
                f"{role} {report.path} has no valid council_code and period on its About "
                "sheet, so the two returns cannot be paired."
            )
    assert current.period and previous.period and current.council_code and previous.council_code
    this, before = Period.parse(current.period), Period.parse(previous.period)
    if this is None or before is None or before != this.previous():
        return (
            f"--previous is for {previous.period}, but the period before {current.period} "
            f"is {this.previous() if this else 'unknown'}."
        )
    council = reference.lookup(current.council_code)
    earlier = reference.lookup(previous.council_code)
    if council is None or earlier is None:
        return "one of the two council codes is not in the reference list."
    if earlier.gss_code == council.gss_code:
        return None
    predecessor = reference.continues(council.gss_code)
    if predecessor is not None and predecessor.gss_code == earlier.gss_code:
        return None
    return (
        f"--previous is {earlier.name} ({previous.council_code})'s return, not "
        f"{council.name}'s ({current.council_code}) or its one-to-one predecessor's."
    )
