"""Generate a deterministic synthetic return that passes every rule of the spec."""

from __future__ import annotations

import datetime
import random

from tools.synth.derive import (
    about_grid,
    budgets_grid,
    clients_grid,
    default_submitted_on,
    explanations_grid,
    services_grid,
)
from tools.synth.model import SyntheticReturn
from tools.synth.people import Person, make_people
from tools.synth.reference import councils, email_slug, snapshot_date

SPEND_PER_PERSON = (100.0, 500_000.0)  # rule S005's range, GBP a year


def generate_return(
    council_code: str,
    period: str,
    *,
    seed: int = 0,
    people: int | None = None,
    with_clients: bool = False,
    explanations: list[tuple[str, str, str]] | None = None,
    submitted_on: datetime.date | None = None,
) -> SyntheticReturn:
    """A valid return for ``council_code`` and ``period``, the same for the same arguments.

    ``people`` defaults to a seeded draw between 1,500 and 6,000.
    """
    persons = generate_people(council_code, period, seed=seed, people=people)
    ret = assemble(
        council_code,
        period,
        persons,
        with_clients=with_clients,
        explanations=explanations,
        submitted_on=submitted_on,
    )
    _check_spend(ret)
    return ret


def generate_people(
    council_code: str, period: str, *, seed: int = 0, people: int | None = None
) -> list[Person]:
    """The people behind ``generate_return`` with the same arguments (to plant changes in)."""
    if council_code not in councils():
        raise ValueError(f"{council_code} is not in the reference list of councils")
    # One generator per (seed, council, period): councils drawn with the same seed differ,
    # and a str seed is hashed with SHA-512, so it does not depend on PYTHONHASHSEED.
    rng = random.Random(f"{seed}:{council_code}:{period}")
    n = people if people is not None else rng.randint(1_500, 6_000)
    return make_people(rng, n, snapshot_date(period))


def assemble(
    council_code: str,
    period: str,
    persons: list[Person],
    *,
    with_clients: bool = False,
    explanations: list[tuple[str, str, str]] | None = None,
    submitted_on: datetime.date | None = None,
) -> SyntheticReturn:
    """The return for these people (fixtures use it to plant changes in the people first)."""
    name = councils()[council_code].name
    about = about_grid(
        {
            "schema_version": "1.0",
            "council_code": council_code,
            "council_name": name,
            "period": period,
            "submitted_on": submitted_on or default_submitted_on(period),
            "contact_email": f"returns@{email_slug(name)}.gov.uk",
        }
    )
    sheets = {"About": about, "Budgets": budgets_grid(persons), "Services": services_grid(persons)}
    if with_clients:
        sheets["Clients"] = clients_grid(persons)
    if explanations:
        sheets["Explanations"] = explanations_grid(explanations)
    return SyntheticReturn(council_code, period, sheets)


def _check_spend(ret: SyntheticReturn) -> None:
    # Holds by construction (see mix.WEEKLY_COST_PENCE); checked so a change of the mix
    # cannot quietly make generated returns raise S005 queries.
    lo, hi = SPEND_PER_PERSON
    for row in ret.sheets["Services"][1:]:
        people, spend = row[2], row[4]
        assert isinstance(people, int) and isinstance(spend, float)
        if not lo <= spend / people <= hi:
            raise RuntimeError(f"spend per person out of range on Services row {row[:2]}")
