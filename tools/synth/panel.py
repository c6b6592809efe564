"""One council's people followed from period to period: a panel for the national example.

People persist with their client_ref, age band, support reason, budget, services and
providers; each period a few percent leave and a few percent join. New people's budget
types are chosen so that the council's personal budget rate follows a target path.

The Budgets and Services figures are kept as running tallies, updated only for the
people who leave, join or change, so a period costs time in proportion to the turnover,
not to the council's size. ``Panel.check_tallies`` compares them with the sheets
``derive`` builds from the people themselves.
"""

from __future__ import annotations

import datetime
import random
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate

import tools.synth.people as people_module
from tools.synth import mix
from tools.synth.derive import budgets_grid, services_grid
from tools.synth.model import Grid
from tools.synth.people import Person, Service
from tools.synth.reference import codes, columns

AGE_BANDS = tuple(codes("age_band"))
SUPPORT_REASONS = tuple(codes("support_reason"))
BUDGET_TYPES = tuple(codes("budget_type"))
SERVICE_TYPES = tuple(codes("service_type"))
ARRANGEMENTS = tuple(codes("arrangement"))

NO_BUDGET = "NO_PERSONAL_BUDGET"
PERSONAL_BUDGET_TYPES = tuple(b for b in BUDGET_TYPES if b != NO_BUDGET)
#: Budgets where the person decides who provides their support (the spec's choice rate).
CHOICE_TYPES = ("DP_SELF_MANAGED", "DP_PART", "THIRD_PARTY_MANAGED", "ISF")
COUNCIL_ARRANGED = ("BLOCK_CONTRACT", "SPOT_CONTRACT")

_HOURLY = ("HOME_CARE", "PERSONAL_ASSISTANT")
_PA = SERVICE_TYPES.index("PERSONAL_ASSISTANT")
_COUNT_CUM = list(accumulate(mix.SERVICE_COUNT_WEIGHTS))
#: A bijection of 0..10**8-1 (the multiplier is prime to 10): join order -> client number.
_REF_MULTIPLIER = 38_456_789
_REF_SPACE = 10**8


def _between(rnd: Callable[[], float], lo: int, hi: int) -> int:
    """A whole number from lo to hi inclusive (as randint, but quicker)."""
    return lo + int(rnd() * (hi - lo + 1))


def _date(ordinal: int) -> datetime.date:
    return datetime.date.fromordinal(ordinal)


@dataclass(frozen=True)
class Style:
    """How a council uses each personal budget type, as multipliers of the national mix."""

    factors: dict[str, float]  #: PERSONAL_BUDGET_TYPES -> multiplier

    @classmethod
    def draw(cls, rng: random.Random) -> Style:
        spread = {
            "DP_SELF_MANAGED": (0.6, 1.4),
            "DP_PART": (0.4, 1.6),
            "THIRD_PARTY_MANAGED": (0.3, 1.7),
            "ISF": (0.2, 1.5),
            "COUNCIL_MANAGED": (0.6, 1.4),
        }
        return cls({b: rng.uniform(lo, hi) for b, (lo, hi) in spread.items()})


class _Cell:
    """The weights for people of one age band and support reason."""

    def __init__(self, age: str, reason: str, style: Style) -> None:
        self.age, self.reason = age, reason
        weights = [
            float(mix.SERVICE_WEIGHTS.get(reason, mix.DEFAULT_SERVICE_WEIGHTS)[s])
            * (mix.AGE_65_FACTOR.get(s, 1.0) if age == "65+" else 1.0)
            for s in SERVICE_TYPES
        ]
        self.service_cum = list(accumulate(weights))
        # Personal assistants are employed with a direct payment or through an ISF.
        self.council_service_cum = list(
            accumulate(0.0 if i == _PA else w for i, w in enumerate(weights))
        )
        budget_w = []
        for b in PERSONAL_BUDGET_TYPES:
            w = float(mix.BUDGET_TYPE_WEIGHTS[age][b]) * style.factors[b]
            if b in mix.DIRECT_PAYMENT_TYPES:
                w *= mix.DP_FACTOR.get(reason, 1.0)
            budget_w.append(w)
        self.budget_cum = list(accumulate(budget_w))
        #: Odds of a personal budget against commissioned support only, before calibration.
        self.odds = sum(budget_w) / float(mix.BUDGET_TYPE_WEIGHTS[age][NO_BUDGET])


def provider_pools(people: int) -> dict[tuple[str, str], tuple[list[str], list[float]]]:
    """Provider references by service type and arrangement, sized for ``people``."""
    return people_module.provider_pools(people, SERVICE_TYPES)


class Tally:
    """Running Budgets and Services figures for a set of people."""

    def __init__(self) -> None:
        self.budgets: Counter[tuple[str, str, str]] = Counter()
        self.people: Counter[tuple[str, str]] = Counter()
        self.pence: Counter[tuple[str, str]] = Counter()
        self.half_hours: Counter[tuple[str, str]] = Counter()
        self.providers: Counter[tuple[str, str, str]] = Counter()

    def add(self, person: Person, sign: int = 1) -> None:
        self.budgets[person.age_band, person.support_reason, person.budget_type] += sign
        for s in person.services:
            key = (s.service_type, s.arrangement)
            self.people[key] += sign
            self.pence[key] += sign * s.weekly_cost_pence
            if s.planned_hours is not None:
                self.half_hours[key] += sign * round(s.planned_hours * 2)
            if s.provider_ref is not None:
                self.providers[s.service_type, s.arrangement, s.provider_ref] += sign

    def remove(self, person: Person) -> None:
        self.add(person, -1)

    def count(self, budget_types: Iterable[str]) -> int:
        wanted = set(budget_types)
        return sum(n for (_, _, b), n in self.budgets.items() if b in wanted)

    def total(self) -> int:
        return sum(self.budgets.values())

    def budgets_grid(self) -> Grid:
        """The Budgets sheet, as ``derive.budgets_grid`` makes it from the people."""
        grid: Grid = [list(columns("Budgets"))]
        for age in AGE_BANDS:
            for reason in SUPPORT_REASONS:
                by_type = [self.budgets[age, reason, b] for b in BUDGET_TYPES]
                grid.append([age, reason, sum(by_type), *by_type])
        return grid

    def services_grid(self) -> Grid:
        """The Services sheet, as ``derive.services_grid`` makes it from the people."""
        distinct: Counter[tuple[str, str]] = Counter(
            (s, a) for (s, a, _), n in self.providers.items() if n > 0
        )
        grid: Grid = [list(columns("Services"))]
        for service_type in SERVICE_TYPES:
            for arrangement in ARRANGEMENTS:
                key = (service_type, arrangement)
                if not self.people[key]:
                    continue
                grid.append(
                    [
                        service_type,
                        arrangement,
                        self.people[key],
                        round(self.half_hours[key] / 2, 1) if service_type in _HOURLY else None,
                        self.pence[key] * 52 / 100,
                        None if arrangement == "DIRECT_PAYMENT" else distinct[key],
                    ]
                )
        return grid


class Panel:
    """One council's people, period after period."""

    def __init__(self, rng: random.Random, style: Style, size: int) -> None:
        self.rng = rng
        self.style = style
        self.cells = [_Cell(a, r, style) for a in AGE_BANDS for r in SUPPORT_REASONS]
        self.cell_cum = list(
            accumulate(
                mix.AGE_BAND_WEIGHTS[c.age]
                * mix.SUPPORT_REASON_WEIGHTS[c.age][c.reason]
                / sum(mix.SUPPORT_REASON_WEIGHTS[c.age].values())
                for c in self.cells
            )
        )
        self.providers = provider_pools(size)
        self._next_provider = 1 + max(
            int(ref[3:]) for refs, _ in self.providers.values() for ref in refs
        )
        self._ref_offset = rng.randrange(_REF_SPACE)
        self._joined = 0
        self.people: list[Person] = []
        self.tally = Tally()
        self.snapshot = datetime.date.min

    # --- the measures ------------------------------------------------------------------

    def rate(self, budget_types: Iterable[str] = PERSONAL_BUDGET_TYPES) -> float:
        total = self.tally.total()
        return self.tally.count(budget_types) / total if total else 0.0

    # --- moving on a period -------------------------------------------------------------

    def start(self, snapshot: datetime.date, people: int, rate: float) -> None:
        """The first period: ``people`` people, a share ``rate`` of them with a budget."""
        self.snapshot = snapshot
        self._join(people, round(rate * people), history_days=5 * 365)

    def advance(self, snapshot: datetime.date, *, leave: float, growth: float, rate: float) -> int:
        """The next period: a share ``leave`` leave, the total grows by ``growth``, and the
        people who join bring the personal budget rate as near ``rate`` as they can.

        Returns how many stayed: ``people[:stayed]`` were there in the previous period too.
        """
        before = len(self.people)
        self.snapshot = snapshot
        leavers = set(self.rng.sample(range(before), round(leave * before)))
        for i in sorted(leavers):
            self.tally.remove(self.people[i])
        self.people = [p for i, p in enumerate(self.people) if i not in leavers]
        stayed = len(self.people)
        after = max(stayed, round(before * (1 + growth)))
        joiners = after - stayed
        with_budget = round(rate * after) - self.tally.count(PERSONAL_BUDGET_TYPES)
        self._join(joiners, min(joiners, max(0, with_budget)), history_days=365)
        return stayed

    def _join(self, n: int, with_budget: int, *, history_days: int) -> None:
        rng = self.rng
        cells = rng.choices(self.cells, cum_weights=self.cell_cum, k=n)
        # Exactly `with_budget` of them get a personal budget, drawn with weights by the
        # odds for their age band and support reason (A-ES weighted sampling).
        keys = sorted(range(n), key=lambda i: rng.random() ** (1 / cells[i].odds), reverse=True)
        budget_holders = set(keys[:with_budget])
        for i, cell in enumerate(cells):
            if i in budget_holders:
                cum = cell.budget_cum
                budget_type = PERSONAL_BUDGET_TYPES[bisect(cum, rng.random() * cum[-1])]
            else:
                budget_type = NO_BUDGET
            person = self._person(self._new_ref(), cell, budget_type, history_days)
            self.people.append(person)
            self.tally.add(person)

    def _new_ref(self) -> str:
        # "CL" + 8 digits: never 10 digits (NHS number), never an email or a postcode.
        number = (self._joined * _REF_MULTIPLIER + self._ref_offset) % _REF_SPACE
        self._joined += 1
        return f"CL{number:08d}"

    # The draws below are written out (bisect on cumulative weights rather than
    # random.choices, rejection rather than re-weighting) because they run for every
    # person: 600,000 people for a national period.

    def _person(self, ref: str, cell: _Cell, budget_type: str, history_days: int) -> Person:
        rnd = self.rng.random
        count = bisect(_COUNT_CUM, rnd() * _COUNT_CUM[-1]) + 1
        if budget_type == "DP_PART":
            count = max(count, 2)  # part direct payment, the rest council-arranged
        if budget_type in ("DP_SELF_MANAGED", "THIRD_PARTY_MANAGED"):
            kinds = ["DIRECT_PAYMENT"] * count
        elif budget_type == "DP_PART":
            kinds = ["DIRECT_PAYMENT"] + ["COUNCIL"] * (count - 1)
        elif budget_type == "ISF":
            kinds = ["ISF"] * count
        else:
            kinds = ["COUNCIL"] * count
        chosen: list[int] = []
        services = []
        for kind in kinds:
            cum = cell.council_service_cum if kind == "COUNCIL" else cell.service_cum
            total = cum[-1]
            k = bisect(cum, rnd() * total)
            while k in chosen:  # each service type at most once per person
                k = bisect(cum, rnd() * total)
            chosen.append(k)
            services.append(self._service(SERVICE_TYPES[k], kind))
        allocation, plan, directs = self._criteria(budget_type, history_days)
        return Person(ref, cell.age, cell.reason, budget_type, services, allocation, plan, directs)

    def _service(self, service_type: str, kind: str) -> Service:
        rnd = self.rng.random
        arrangement = kind
        if kind == "COUNCIL":
            block = rnd() < mix.BLOCK_SHARE[service_type]
            arrangement = "BLOCK_CONTRACT" if block else "SPOT_CONTRACT"
        provider = None
        if arrangement != "DIRECT_PAYMENT":
            refs, cum = self.providers[service_type, arrangement]
            provider = refs[bisect(cum, rnd() * cum[-1])]
        hours: float | None = None
        if service_type in mix.HOURLY:
            (h_lo, h_hi), (r_lo, r_hi) = mix.HOURLY[service_type]
            hours = _between(rnd, h_lo, h_hi) / 2  # half-hours, so sums are exact in binary
            cost = round(hours * _between(rnd, r_lo, r_hi))
        else:
            lo, hi = mix.WEEKLY_COST_PENCE[service_type]
            cost = _between(rnd, lo, hi)
        return Service(service_type, arrangement, provider, cost, hours)

    def _criteria(
        self, budget_type: str, history_days: int
    ) -> tuple[datetime.date | None, datetime.date | None, str | None]:
        rnd = self.rng.random
        day = self.snapshot.toordinal()
        if budget_type == NO_BUDGET:
            # No allocation and no say in the support; most still have a care plan.
            if rnd() < 0.85:
                return None, _date(day - _between(rnd, 0, history_days)), None
            return None, None, None
        allocated = day - _between(rnd, 14, history_days)
        allocation = _date(allocated)
        plan = _date(min(day, allocated + _between(rnd, 0, 90)))
        if budget_type == "COUNCIL_MANAGED":
            if rnd() < mix.NOMINAL_SHARE:
                # A nominal budget: told the money but no agreed plan, or no choice.
                return (allocation, None, "Y") if rnd() < 0.5 else (allocation, plan, "N")
            return allocation, plan, "Y"
        return allocation, plan if rnd() < 0.95 else None, "Y" if rnd() < 0.95 else "N"

    # --- for generators that place budgets and services themselves (anchored.py) -----------

    def join_unbudgeted(self, n: int, *, age: str | None = None, history_days: int = 365) -> int:
        """Add ``n`` people on commissioned support only (of ``age``, if given), drawn as
        joiners are; returns the index of the first of them in ``people``."""
        first = len(self.people)
        cells = [c for c in self.cells if age is None or c.age == age]
        cum = list(
            accumulate(
                mix.AGE_BAND_WEIGHTS[c.age]
                * mix.SUPPORT_REASON_WEIGHTS[c.age][c.reason]
                / sum(mix.SUPPORT_REASON_WEIGHTS[c.age].values())
                for c in cells
            )
        )
        for cell in self.rng.choices(cells, cum_weights=cum, k=n):
            person = self._person(self._new_ref(), cell, NO_BUDGET, history_days)
            self.people.append(person)
            self.tally.add(person)
        return first

    def draw_service(self, service_type: str, kind: str) -> Service:
        """One service of ``service_type``; ``kind`` is COUNCIL (block or spot, drawn), ISF or
        DIRECT_PAYMENT."""
        return self._service(service_type, kind)

    def criteria(
        self, budget_type: str, history_days: int
    ) -> tuple[datetime.date | None, datetime.date | None, str | None]:
        """Allocation date, support plan date and person_directs_support for a budget type,
        drawn as for a new person (council-managed: a share nominal, as mix.NOMINAL_SHARE)."""
        return self._criteria(budget_type, history_days)

    def remove_at(self, indices: Iterable[int]) -> None:
        """Take the people at ``indices`` out of the panel (they leave)."""
        gone = set(indices)
        for i in gone:
            self.tally.remove(self.people[i])
        self.people = [p for i, p in enumerate(self.people) if i not in gone]

    # --- planted changes ----------------------------------------------------------------

    def replace(self, index: int, new: Person) -> None:
        """Put ``new`` in place of ``people[index]`` (the same client); keep the tallies right."""
        self.tally.remove(self.people[index])
        self.tally.add(new)
        self.people[index] = new

    def new_provider(self) -> str:
        ref = f"PRV{self._next_provider:04d}"
        self._next_provider += 1
        return ref

    def sorted_people(self) -> list[Person]:
        return sorted(self.people, key=lambda p: p.client_ref)

    def check_tallies(self) -> None:
        """Raise if the running tallies differ from the sheets derived from the people."""
        if self.tally.budgets_grid() != budgets_grid(self.people):
            raise RuntimeError("running Budgets tally differs from the people")
        if self.tally.services_grid() != services_grid(self.people):
            raise RuntimeError("running Services tally differs from the people")
