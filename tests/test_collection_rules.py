"""The collection rules (returns_kit.collection): current, superseded, conflict, last good."""

from __future__ import annotations

import doctest
from datetime import date, datetime

import returns_kit.collection
from returns_kit.collection import (
    Status,
    Submission,
    choose_current,
    merge_same_bytes,
    unidentified,
    verdicts,
)

KEY = ("E10000027", "2013-14")


def sub(
    tag: str,
    submitted: date | None = date(2014, 6, 30),
    *,
    received: datetime | None = None,
    valid: bool = True,
    errors: bool = False,
    name: str | None = None,
    key: tuple[str | None, str | None] = KEY,
) -> Submission:
    return Submission(
        sha256=tag * 64,
        names=(name or f"{tag}.xlsx",),
        council_code=key[0],
        period=key[1],
        submitted_on=submitted,
        received_at=received,
        valid=valid and not errors,
        has_errors=errors,
    )


def statuses(items: list[Submission]) -> dict[str, str]:
    choice = choose_current(items)[KEY]
    return {v.submission.name: v.status.value for v in choice.verdicts}


def test_a_later_submitted_on_supersedes() -> None:
    first, second = sub("a", date(2014, 6, 1)), sub("b", date(2014, 7, 1))
    choice = choose_current([second, first])[KEY]
    assert choice.current == second
    assert choice.superseded == (first,)
    assert not choice.needs_a_person and choice.why_no_current is None
    (old,) = [v for v in choice.verdicts if v.status is Status.SUPERSEDED]
    assert old.reason == "superseded by b.xlsx, submitted on 2014-07-01"
    assert [v.submission for v in choice.verdicts] == [first, second]  # oldest first


def test_equal_dates_without_an_order_of_receipt_conflict() -> None:
    a, b, older = sub("a"), sub("b"), sub("c", date(2014, 5, 1))
    choice = choose_current([a, b, older])[KEY]
    assert choice.current is None and choice.needs_a_person
    assert set(choice.conflict) == {a, b}
    assert choice.superseded == (older,)  # older than both: it could never be current
    assert choice.why_no_current == "2 different returns are in conflict"
    reason = next(v.reason for v in choice.verdicts if v.submission == a)
    assert "also b.xlsx" in reason and reason.endswith("none used")


def test_received_at_breaks_a_tie_of_submitted_on() -> None:
    early = sub("a", received=datetime(2014, 7, 1, 9))
    late = sub("b", received=datetime(2014, 7, 1, 10))
    choice = choose_current([late, early])[KEY]
    assert choice.current == late
    assert choice.superseded == (early,)
    assert choice.verdicts[0].reason == "superseded by b.xlsx, received later"


def test_submitted_on_comes_before_the_order_of_receipt() -> None:
    # The council sent its corrected return, then an old copy by mistake.
    corrected = sub("a", date(2014, 7, 1), received=datetime(2014, 7, 2))
    stale = sub("b", date(2014, 6, 1), received=datetime(2014, 7, 3))
    assert choose_current([corrected, stale])[KEY].current == corrected


def test_a_return_with_errors_never_displaces_a_valid_one() -> None:
    good = sub("a", date(2014, 6, 1))
    broken = sub("b", date(2014, 7, 1), errors=True)
    choice = choose_current([good, broken])[KEY]
    assert choice.current == good
    assert choice.rejected == (broken,)
    assert choice.needs_a_person  # the council must be told
    assert choice.verdicts[-1].reason == "has errors; a.xlsx stays current"


def test_only_returns_with_errors_leave_no_current_return() -> None:
    choice = choose_current([sub("a", errors=True), sub("b", date(2014, 7, 1), errors=True)])[KEY]
    assert choice.current is None
    assert choice.why_no_current == "all 2 returns have errors"
    one = choose_current([sub("a", errors=True)])[KEY]
    assert one.why_no_current == "the return has errors"


def test_an_unusable_return_without_errors_is_rejected_but_needs_no_person() -> None:
    choice = choose_current([sub("a", valid=False)])[KEY]
    assert choice.rejected and not choice.needs_a_person
    assert choice.why_no_current == "the return could not be used"


def test_the_same_bytes_are_one_submission_under_every_name() -> None:
    original = sub("a", name="E10000027-2013-14.xlsx")
    copy = sub("a", name="E10000027-2013-14 (copy).xlsx")
    in_old = sub("a", name="old/E10000027-2013-14.xlsx")
    choice = choose_current([original, copy, in_old])[KEY]
    assert choice.current is not None and len(choice.verdicts) == 1
    assert choice.current.names == (
        "E10000027-2013-14 (copy).xlsx",
        "E10000027-2013-14.xlsx",
        "old/E10000027-2013-14.xlsx",
    )
    assert statuses([original, copy, sub("b")]) == {
        "E10000027-2013-14 (copy).xlsx": "conflict",
        "b.xlsx": "conflict",
    }


def test_merging_keeps_the_first_receipt_and_never_merges_unread_files() -> None:
    later = sub("a", received=datetime(2014, 7, 2), name="x.xlsx")
    earlier = sub("a", received=datetime(2014, 7, 1), name="y.xlsx")
    (merged,) = merge_same_bytes([later, earlier])
    assert merged.received_at == datetime(2014, 7, 1) and merged.names == ("x.xlsx", "y.xlsx")
    unread = [
        Submission("", ("p.xlsx",), None, None, None, valid=False),
        Submission("", ("q.xlsx",), None, None, None, valid=False),
    ]
    assert len(merge_same_bytes(unread)) == 2


def test_submissions_naming_no_council_or_period_are_rejected() -> None:
    nameless = sub("z", key=(None, "2013-14"), errors=True)
    assert choose_current([nameless, sub("a")]).keys() == {KEY}
    assert unidentified([nameless, sub("a")]) == [nameless]
    found = {v.submission.name: (v.status, v.reason) for v in verdicts([nameless, sub("a")])}
    assert found == {
        "a.xlsx": (Status.CURRENT, ""),
        "z.xlsx": (Status.REJECTED, "names no valid council_code and period"),
    }


def test_councils_and_periods_are_chosen_apart() -> None:
    other = ("E06000001", "2013-14")
    chosen = choose_current([sub("a"), sub("b", key=other), sub("c", key=("E10000027", "2012-13"))])
    assert list(chosen) == [other, ("E10000027", "2012-13"), KEY]
    assert all(c.current is not None for c in chosen.values())


def test_the_module_examples_hold() -> None:
    assert doctest.testmod(returns_kit.collection).failed == 0


def test_the_same_time_of_receipt_still_conflicts() -> None:
    at = datetime(2014, 7, 1, 9)
    choice = choose_current([sub("a", received=at), sub("b", received=at)])[KEY]
    assert choice.current is None and len(choice.conflict) == 2
    # One time unknown: no order of receipt between the two, so still a conflict.
    unknown = choose_current([sub("a", received=at), sub("b")])[KEY]
    assert unknown.current is None and len(unknown.conflict) == 2
