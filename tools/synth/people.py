"""Draw synthetic people, each with a budget type and the services they receive."""

from __future__ import annotations

import datetime
import random
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import NamedTuple

from tools.synth import mix
from tools.synth.reference import codes


class Service(NamedTuple):
    """One service a person receives."""

    service_type: str
    arrangement: str
    provider_ref: str | None  # None only for DIRECT_PAYMENT
    weekly_cost_pence: int  # integer pence, so that sums are exact
    planned_hours: float | None  # only for HOME_CARE and PERSONAL_ASSISTANT


@dataclass(slots=True)
class Person:
    """One person in long-term support at the snapshot date; one Clients row per service."""

    client_ref: str
    age_band: str
    support_reason: str
    budget_type: str
    services: list[Service]
    allocation_notified_on: datetime.date | None
    support_plan_agreed_on: datetime.date | None
    person_directs_support: str | None

    def moved_to(
        self,
        budget_type: str,
        services: list[Service],
        allocation: datetime.date | None,
        plan: datetime.date | None,
        directs: str | None,
    ) -> Person:
        """This person (the same reference, age band and support reason) on another budget
        type, with the support and the criteria that come with it."""
        return Person(
            self.client_ref,
            self.age_band,
            self.support_reason,
            budget_type,
            services,
            allocation,
            plan,
            directs,
        )


_COUNCIL_ARRANGED = ("COUNCIL_MANAGED", "NO_PERSONAL_BUDGET")


class _Draw:
    """The weight tables, laid out once per return so drawing 27,000 people is quick."""

    def __init__(self, rng: random.Random, people: int) -> None:
        self.rng = rng
        self.age_bands = codes("age_band")
        self.reasons = codes("support_reason")
        self.budget_types = codes("budget_type")
        self.service_types = codes("service_type")
        self.age_cum = list(accumulate(mix.AGE_BAND_WEIGHTS[a] for a in self.age_bands))
        self.reason_cum = {
            a: list(accumulate(mix.SUPPORT_REASON_WEIGHTS[a][r] for r in self.reasons))
            for a in self.age_bands
        }
        # Councils differ: scale each budget type by a council-wide factor, so that
        # returns drawn with different seeds have different rates.
        council_factor = {b: rng.uniform(0.6, 1.4) for b in self.budget_types}
        self.budget_cum = {
            (a, r): list(
                accumulate(
                    self._budget_weight(a, r, b) * council_factor[b] for b in self.budget_types
                )
            )
            for a in self.age_bands
            for r in self.reasons
        }
        self.service_w = {
            (a, r): [self._service_weight(a, r, s) for s in self.service_types]
            for a in self.age_bands
            for r in self.reasons
        }
        self.providers = self._provider_pools(people)

    @staticmethod
    def _budget_weight(age: str, reason: str, budget_type: str) -> float:
        w = float(mix.BUDGET_TYPE_WEIGHTS[age][budget_type])
        if budget_type in mix.DIRECT_PAYMENT_TYPES:
            w *= mix.DP_FACTOR.get(reason, 1.0)
        return w

    @staticmethod
    def _service_weight(age: str, reason: str, service_type: str) -> float:
        w = float(mix.SERVICE_WEIGHTS.get(reason, mix.DEFAULT_SERVICE_WEIGHTS)[service_type])
        if age == "65+":
            w *= mix.AGE_65_FACTOR.get(service_type, 1.0)
        return w

    def _provider_pools(self, people: int) -> dict[tuple[str, str], tuple[list[str], list[float]]]:
        return provider_pools(people, self.service_types)

    def person(self, client_ref: str, snapshot: datetime.date) -> Person:
        rng = self.rng
        age = rng.choices(self.age_bands, cum_weights=self.age_cum)[0]
        reason = rng.choices(self.reasons, cum_weights=self.reason_cum[age])[0]
        budget_type = rng.choices(self.budget_types, cum_weights=self.budget_cum[age, reason])[0]
        count = rng.choices((1, 2, 3, 4), weights=mix.SERVICE_COUNT_WEIGHTS)[0]
        if budget_type == "DP_PART":
            count = max(count, 2)  # part direct payment, the rest council-arranged
        weights = list(self.service_w[age, reason])
        services = []
        for i in range(count):
            arrangement = self._arrangement_kind(budget_type, i)
            w = list(weights)
            if arrangement == "COUNCIL":
                # Personal assistants are employed with a direct payment or through an ISF.
                w[self.service_types.index("PERSONAL_ASSISTANT")] = 0.0
            k = rng.choices(range(len(w)), weights=w)[0]
            weights[k] = 0.0  # each service type at most once per person
            services.append(self._service(self.service_types[k], arrangement))
        allocation, plan, directs = self._criteria(budget_type, snapshot)
        return Person(client_ref, age, reason, budget_type, services, allocation, plan, directs)

    @staticmethod
    def _arrangement_kind(budget_type: str, index: int) -> str:
        if budget_type in ("DP_SELF_MANAGED", "THIRD_PARTY_MANAGED"):
            return "DIRECT_PAYMENT"
        if budget_type == "DP_PART":
            return "DIRECT_PAYMENT" if index == 0 else "COUNCIL"
        if budget_type == "ISF":
            return "ISF"
        return "COUNCIL"

    def _service(self, service_type: str, kind: str) -> Service:
        rng = self.rng
        arrangement = kind
        if kind == "COUNCIL":
            block = rng.random() < mix.BLOCK_SHARE[service_type]
            arrangement = "BLOCK_CONTRACT" if block else "SPOT_CONTRACT"
        provider = None
        if arrangement != "DIRECT_PAYMENT":
            refs, cum = self.providers[service_type, arrangement]
            provider = rng.choices(refs, cum_weights=cum)[0]
        hours: float | None = None
        if service_type in mix.HOURLY:
            (h_lo, h_hi), (r_lo, r_hi) = mix.HOURLY[service_type]
            hours = rng.randint(h_lo, h_hi) / 2  # half-hours, so sums are exact in binary
            cost = round(hours * rng.randint(r_lo, r_hi))
        else:
            lo, hi = mix.WEEKLY_COST_PENCE[service_type]
            cost = rng.randint(lo, hi)
        return Service(service_type, arrangement, provider, cost, hours)

    def _criteria(
        self, budget_type: str, snapshot: datetime.date
    ) -> tuple[datetime.date | None, datetime.date | None, str | None]:
        rng = self.rng
        if budget_type == "NO_PERSONAL_BUDGET":
            # No allocation and no say in the support; most still have a care plan.
            plan = snapshot - datetime.timedelta(days=rng.randint(0, 5 * 365))
            return None, plan if rng.random() < 0.85 else None, None
        allocation = snapshot - datetime.timedelta(days=rng.randint(14, 5 * 365))
        plan = min(snapshot, allocation + datetime.timedelta(days=rng.randint(0, 90)))
        if budget_type == "COUNCIL_MANAGED":
            # All three criteria here; make_people makes a fixed share nominal afterwards.
            return allocation, plan, "Y"
        return (
            allocation,
            plan if rng.random() < 0.95 else None,
            "Y" if rng.random() < 0.95 else "N",
        )


def make_people(rng: random.Random, people: int, snapshot: datetime.date) -> list[Person]:
    """``people`` synthetic people at ``snapshot``, sorted by client_ref."""
    draw = _Draw(rng, people)
    # "CL" + 8 digits: never 10 digits (NHS number), never an email or a postcode.
    refs = sorted(f"CL{n:08d}" for n in rng.sample(range(10**8), people))
    persons = [draw.person(ref, snapshot) for ref in refs]
    council_managed = [p for p in persons if p.budget_type == "COUNCIL_MANAGED"]
    nominal = rng.sample(council_managed, round(mix.NOMINAL_SHARE * len(council_managed)))
    for i, p in enumerate(nominal):
        # A nominal budget: told the money (criterion 1) but no agreed plan, or no choice.
        if i % 2 == 0:
            p.support_plan_agreed_on = None
        else:
            p.person_directs_support = "N"
    return persons


def provider_pools(
    people: int, service_types: Sequence[str]
) -> dict[tuple[str, str], tuple[list[str], list[float]]]:
    """Provider references by service type and arrangement, sized for ``people``.

    A few block providers, many spot providers; weights 1/rank so that a few large
    providers hold most of the work, as in real markets.
    """
    sizes = {
        "BLOCK_CONTRACT": min(8, 2 + people // 3000),
        "SPOT_CONTRACT": 3 + people // 250,
        "ISF": 2 + people // 1000,
    }
    pools: dict[tuple[str, str], tuple[list[str], list[float]]] = {}
    number = 0
    for s in service_types:
        for arrangement, size in sizes.items():
            refs = [f"PRV{number + i:04d}" for i in range(1, size + 1)]
            number += size
            pools[s, arrangement] = (refs, list(accumulate(1 / k for k in range(1, size + 1))))
    return pools
