"""Pair a return with its council's return for the period before (``--previous``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from returns_kit.errors import ReturnsKitError
from returns_kit.periods import Period
from returns_kit.reference import Council, Reference
from returns_kit.report import FileReport

if TYPE_CHECKING:
    from returns_kit.config import Thresholds
    from returns_kit.validate import Validated


@dataclass(frozen=True)
class Pairing:
    """Whether two returns can be paired, and whether a reorganisation lies between them."""

    problem: str | None = None
    #: the previous return is a predecessor's in a merger or split: no comparison (P005)
    across_reorganisation: bool = False


def pair(current: FileReport, previous: FileReport, reference: Reference) -> Pairing:
    """Check that ``previous`` is the return for the period before, of the same council series.

    That is the same council's return, its one-to-one predecessor's (Somerset County
    E10000027 before Somerset E06000066), or one of the councils it was formed from.
    """
    for report, role in ((current, "the return"), (previous, "the --previous return")):
        if report.council_code is None or report.period is None:
            return Pairing(
                f"{role} {report.path} has no valid council_code and period on its About "
                "sheet, so the two returns cannot be paired."
            )
    assert current.period and previous.period and current.council_code and previous.council_code
    this, before = Period.parse(current.period), Period.parse(previous.period)
    council = reference.lookup(current.council_code)
    earlier = reference.lookup(previous.council_code)
    now = f"{current.path} is {_whose(council, current)} for {current.period}"
    then = f"--previous {previous.path} is {_whose(earlier, previous)} for {previous.period}"
    if this is not None and before is not None and before > this:
        # FILE is the older return: the two were most likely given the wrong way round.
        return Pairing(
            f"{then}, later than {now}; did you mean: returns validate {previous.path} "
            f"--previous {current.path}?"
        )
    if this is None or before is None or before != this.previous():
        expected = this.previous() if this else "unknown"
        return Pairing(f"{then}, but {now}, so --previous must be for {expected}.")
    if council is None or earlier is None:
        return Pairing(f"{then}, and {now}: one of the codes is not in the reference list.")
    if earlier.gss_code == council.gss_code:
        return Pairing()
    continued = reference.continues(council.gss_code)
    if continued is not None and continued.gss_code == earlier.gss_code:
        return Pairing()
    if earlier in reference.predecessors(council.gss_code):
        return Pairing(across_reorganisation=True)
    return Pairing(
        f"{then}, but {now}: --previous must be the same council's return or a predecessor's."
    )


def _whose(council: Council | None, report: FileReport) -> str:
    """ "Hartlepool's (E06000001) return", or the code alone when the reference lacks it."""
    if council is None:
        return f"{report.council_code}'s return"
    return f"{council.name}'s ({report.council_code}) return"


class PairingError(ReturnsKitError, ValueError):
    """The two returns given are not a return and the one before it."""


def compare(
    current: Validated, earlier: Validated, reference: Reference, thresholds: Thresholds
) -> None:
    """Run the period-to-period rules (P001-P006) of ``current`` against ``earlier`` and add
    their findings to ``current``: the one home of ``--previous`` for the CLI and the library.
    Raises :class:`PairingError` when the two cannot be paired."""
    from returns_kit.rules.periods import period_findings

    pairing = pair(current.report, earlier.report, reference)
    if pairing.problem:
        raise PairingError(pairing.problem)
    _, findings = period_findings(
        earlier.summary,
        current.summary,
        reference,
        thresholds,
        across_reorganisation=pairing.across_reorganisation,
    )
    current.add_findings(findings)
