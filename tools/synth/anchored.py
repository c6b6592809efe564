"""The national example anchored to HSCIC's published counts: fixtures/national.

Every council's return for 2011-12 to 2014-15 carries, in each period, exactly the people on
direct payments and the people receiving home care that HSCIC published for that council at
31 March (``returns_kit/data/hscic_activity.csv``):

- people on direct payments = dp_self_managed + dp_part + third_party_managed, all rows of
  Budgets (HSCIC ``dp_all``); of them, the 65+ rows carry HSCIC's ``dp_65_plus`` (capped at
  ``dp_all``, which happens where the two rounded figures disagree) and the 18-64 rows the rest;
- people receiving home care = the people of the Services rows HOME_CARE x BLOCK_CONTRACT,
  SPOT_CONTRACT and ISF (HSCIC counts home care provided or commissioned by the council; what a
  person buys with a direct payment is counted under direct payments, not home care).

What HSCIC does not publish is modelled around them, per council and seeded: people in
long-term support (people_total, smooth from year to year), the personal budget rate (a path
that rises by about 12 points nationally in 2012-13, the year of the national push towards
the April 2013 target, from 43% to about 55%; then a few points a year), how budgets split
between council-managed, ISF and no budget, every service other than counted home care, costs,
hours and providers. Where HSCIC has no count (Islington 2012-13, "not available") it is
modelled as the mean of the council's years either side; 2014-15 is not in HSCIC's series at
all (the first SALT year), so its counts are modelled from 2013-14. ``anchors`` says which
figure is which.

Two published artefacts are kept as HSCIC printed them, unsmoothed: Bury (E08000002) 1,195
people on direct payments in 2012-13 and 480 in 2013-14 while its home care went 255 -> 1,105;
Somerset (E10000027) direct payments aged 65+ 255 -> 870 -> 335 (2011-12 to 2013-14).

Somerset's letter (reported: in 2013-14 Somerset sent 3,000 home-care clients a letter
stating what their care cost, and its personal budget rate went to 33%) is planted as a
label-only move: 3,000 of its people on commissioned support only with council-arranged home
care, present the year before with the same services, become COUNCIL_MANAGED with
allocation_notified_on 2013-11-15, no agreed plan and no say (nominal budgets); nothing else
about them changes. In 2014-15 reviews agree plans for most of them.

Somerset, Bury and three more councils (``CLIENTS_COUNCILS``) carry a Clients sheet in every
period, so that client-level transitions can be followed.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl

from returns_kit.hscic import load_activity
from returns_kit.periods import Period
from returns_kit.reference import Council, load_reference
from tools.synth import mix
from tools.synth.model import SyntheticReturn
from tools.synth.national import panel_return
from tools.synth.panel import NO_BUDGET, Panel, Style
from tools.synth.people import Person, Service
from tools.synth.write import write_xlsx

__all__ = [
    "CLIENTS_COUNCILS",
    "PERIODS",
    "PUBLISHED_PERIODS",
    "SOMERSET",
    "Anchor",
    "anchored_returns",
    "anchors",
    "generate_anchored",
    "home_care_people",
]

PERIODS = ("2011-12", "2012-13", "2013-14", "2014-15")
#: The periods HSCIC published counts for (its series ends with 2013-14).
PUBLISHED_PERIODS = ("2011-12", "2012-13", "2013-14")

SOMERSET = "E10000027"
BURY = "E08000002"
#: Councils whose returns carry a Clients sheet: Somerset (the letter), Bury (the published
#: direct payment / home care artefact), Swindon (under a quarter on personal budgets in
#: 2012-13), Richmond upon Thames (over 90%) and Rutland (a small council).
CLIENTS_COUNCILS = (SOMERSET, BURY, "E06000030", "E09000027", "E06000017")

#: The reported size of Somerset's letter, and when it went out.
LETTER = 3_000
LETTER_DATE = datetime.date(2013, 11, 15)
LETTER_PERIOD = "2013-14"
#: Somerset's people in long-term support (modelled): enough that 3,000 letters move its
#: rate by about 23 points, to about 33%, as reported.
SOMERSET_PEOPLE = 13_000
#: Somerset's nominal share of council-managed budgets once the letters are reviewed.
NOMINAL_AFTER_REVIEW = 0.15

#: England's personal budget (self-directed support) rate: 43% in 2011-12 and 55.5% in
#: 2012-13 as reported; the later two are modelled (a few points a year).
NATIONAL_RATE = {"2011-12": 0.43, "2012-13": 0.555}
#: 2012-13 rates of the councils the period's reporting named at either end.
FIXED_RATE_2012 = {
    "E06000030": 0.20,  # Swindon (Somerset is below a quarter by construction)
    "E09000027": 0.93,  # Richmond upon Thames
    "E10000024": 0.92,  # Nottinghamshire
    "E09000019": 0.91,  # Islington
}

DP_TYPES = ("DP_SELF_MANAGED", "DP_PART", "THIRD_PARTY_MANAGED")
#: Arrangements whose home care HSCIC counts as home care (not bought with a direct payment).
HOME_CARE_ARRANGEMENTS = ("BLOCK_CONTRACT", "SPOT_CONTRACT", "ISF")
_OTHER_SERVICES = ("DAY_OPPORTUNITIES", "COMMUNITY_ACTIVITIES", "EQUIPMENT_TECHNOLOGY", "OTHER")


def _round5(x: float) -> int:
    return 5 * round(x / 5)


@dataclass(frozen=True)
class Anchor:
    """The counts one council's return carries in one period, and where they come from."""

    dp_all: int
    dp_65_plus: int  # the 65+ rows' direct payments (HSCIC's, capped at dp_all)
    home_care: int
    source: str  # "published", or "modelled: <how>"

    @property
    def dp_18_64(self) -> int:
        return self.dp_all - self.dp_65_plus


@cache
def _published() -> dict[tuple[str, str], dict[str, int | None]]:
    frame = load_activity().filter(
        pl.col("measure").is_in(["dp_all", "dp_65_plus", "home_care"])
        & pl.col("period").is_in(list(PUBLISHED_PERIODS))
    )
    out: dict[tuple[str, str], dict[str, int | None]] = {}
    for code, period, measure, people in frame.select(
        "council_code", "period", "measure", "people"
    ).iter_rows():
        out.setdefault((code, period), {})[measure] = people
    return out


@cache
def anchors(seed: int = 0) -> dict[tuple[str, str], Anchor]:
    """Every council's anchored counts for each of ``PERIODS``: HSCIC's where published."""
    published = _published()
    ref = load_reference()
    out: dict[tuple[str, str], Anchor] = {}
    for council in ref.active(Period.parse(PERIODS[0])):  # type: ignore[arg-type]
        code = council.gss_code
        for period in PUBLISHED_PERIODS:
            row = published[code, period]
            dp, dp65, hc = row.get("dp_all"), row.get("dp_65_plus"), row.get("home_care")
            if dp is not None and dp65 is not None and hc is not None:
                out[code, period] = Anchor(dp, min(dp65, dp), hc, "published")
        for k, period in enumerate(PUBLISHED_PERIODS):
            if (code, period) in out:
                continue
            # Not available: the mean of the council's published years either side.
            near = [
                out[code, p]
                for p in PUBLISHED_PERIODS[max(0, k - 1) : k + 2]
                if (code, p) in out and p != period
            ]
            dp = _round5(sum(a.dp_all for a in near) / len(near))
            dp65 = min(dp, _round5(sum(a.dp_65_plus for a in near) / len(near)))
            hc = _round5(sum(a.home_care for a in near) / len(near))
            how = "modelled: not available in HSCIC's table; mean of the years either side"
            out[code, period] = Anchor(dp, dp65, hc, how)
        last = out[code, PUBLISHED_PERIODS[-1]]
        rng = random.Random(f"anchored:{seed}:{code}:2014-15")
        dp = _round5(last.dp_all * rng.uniform(1.00, 1.10))
        share = last.dp_65_plus / last.dp_all if last.dp_all else 0.0
        hc = _round5(last.home_care * rng.uniform(0.92, 1.02))
        out[code, "2014-15"] = Anchor(
            dp,
            _round5(dp * share) if dp else 0,
            hc,
            "modelled: after HSCIC's series (first SALT year); 2013-14's counts, "
            "direct payments x 1.00-1.10 and home care x 0.92-1.02",
        )
    return out


@dataclass
class _Path:
    """One council's modelled figures for each period."""

    people: dict[str, int]
    rate: dict[str, float | None]  # None: leave the budgets as they are (Somerset)
    isf: dict[str, float]
    review: float  # share of budgets the push brings that also move block contracts to spot


def _people(code: str, rng: random.Random, seed: int) -> dict[str, int]:
    years = [anchors(seed)[code, p] for p in PERIODS]
    counted = [a.dp_all + a.home_care for a in years]
    if code == SOMERSET:
        base = float(SOMERSET_PEOPLE)
        drift = -0.005
    else:
        base = rng.uniform(1.3, 1.6) * sum(counted[:3]) / 3
        drift = rng.uniform(-0.02, 0.03)
    people = {}
    for k, (period, n) in enumerate(zip(PERIODS, counted, strict=True)):
        smooth = base * (1 + drift) ** k
        people[period] = max(round(smooth), math.ceil(1.1 * n), n + 10, 40)
    return people


@cache
def _paths(seed: int = 0) -> dict[str, _Path]:
    """Every council's path; the unplanted rates calibrated to England's reported ones."""
    ref = load_reference()
    codes = [c.gss_code for c in ref.active(Period.parse(PERIODS[0]))]  # type: ignore[arg-type]
    rngs = {code: random.Random(f"anchored:{seed}:{code}:path") for code in codes}
    people = {code: _people(code, rngs[code], seed) for code in codes}
    level = {}
    push = {}
    later = {}
    isf = {}
    review = {}
    for code in codes:
        rng = rngs[code]
        u = rng.random()
        level[code] = FIXED_RATE_2012.get(code, 0.26 + 0.62 * u * u * (3 - 2 * u))
        if code == SOMERSET:
            level[code] = 0.0  # as few budgets as its direct payments allow (the floor)
        push[code] = rng.uniform(0.0, 0.25)
        later[code] = (rng.uniform(0.0, 0.10), rng.uniform(0.0, 0.10))
        start = rng.uniform(0.0, 0.04)
        isf[code] = start
        review[code] = rng.uniform(0.0, 1.0)

    def floor(code: str, period: str) -> float:
        a = anchors(seed)[code, period]
        return (a.dp_all + 1) / people[code][period] + 0.02 + isf[code]

    def weighted(rates: dict[str, float], period: str) -> float:
        total = sum(people[c][period] for c in codes)
        return sum(rates[c] * people[c][period] for c in codes) / total

    free = [c for c in codes if c not in FIXED_RATE_2012 and c != SOMERSET]

    def rates_2012(shift: float) -> dict[str, float]:
        out = {}
        for c in codes:
            base = level[c] + (shift if c in free else 0.0)
            out[c] = min(0.97, max(floor(c, "2012-13"), base))
        return out

    def solve(f: object, target: float, lo: float, hi: float) -> float:
        for _ in range(40):
            mid = (lo + hi) / 2
            if f(mid) < target:  # type: ignore[operator]
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    shift = solve(lambda s: weighted(rates_2012(s), "2012-13"), NATIONAL_RATE["2012-13"], -0.5, 0.5)
    r12 = rates_2012(shift)

    def rates_2011(scale: float) -> dict[str, float]:
        return {c: max(floor(c, "2011-12"), r12[c] - scale * push[c]) for c in codes}

    scale = solve(
        lambda s: -weighted(rates_2011(s), "2011-12"), -NATIONAL_RATE["2011-12"], 0.0, 5.0
    )
    r11 = rates_2011(scale)
    out = {}
    for c in codes:
        r13 = min(0.97, max(floor(c, "2013-14"), r12[c] + later[c][0]))
        r14 = min(0.97, max(floor(c, "2014-15"), r13 + later[c][1]))
        rate: dict[str, float | None] = {
            "2011-12": r11[c],
            "2012-13": r12[c],
            "2013-14": r13,
            "2014-15": r14,
        }
        if c == SOMERSET:
            # Somerset: as few budgets besides direct payments as its history had, then the
            # letter (2013-14) and a point more after the reviews (2014-15).
            rate = {
                "2011-12": floor(c, "2011-12"),
                "2012-13": floor(c, "2012-13"),
                "2013-14": None,
                "2014-15": None,
            }
        out[c] = _Path(
            people[c],
            rate,
            {p: isf[c] + 0.005 * k for k, p in enumerate(PERIODS)},
            review[c],
        )
    return out


def home_care_people(people: Sequence[Person]) -> int:
    """People receiving home care as HSCIC counts it (see the module's docstring)."""
    return sum(
        1
        for p in people
        if any(
            s.service_type == "HOME_CARE" and s.arrangement in HOME_CARE_ARRANGEMENTS
            for s in p.services
        )
    )


class _Run:
    """One council, period by period: a panel whose counts are set to the anchors."""

    def __init__(self, council: Council, seed: int, clients: bool) -> None:
        self.council = council
        self.code = council.gss_code
        self.rng = random.Random(f"anchored:{seed}:{self.code}:run")
        self.path = _paths(seed)[self.code]
        self.anchors = {p: anchors(seed)[self.code, p] for p in PERIODS}
        self.style = Style.draw(self.rng)
        self.panel = Panel(self.rng, self.style, self.path.people[PERIODS[0]])
        self.clients = clients and self.code in CLIENTS_COUNCILS
        self.changed: set[str] = set()  # client_refs whose services changed this period
        self.stayed = 0
        self.lettered: set[str] = set()

    # --- one period ----------------------------------------------------------------------

    def returns(self) -> Iterator[SyntheticReturn]:
        panel = self.panel
        for k, text in enumerate(PERIODS):
            period = Period.parse(text)
            assert period is not None
            panel.snapshot = period.snapshot
            self.changed = set()
            target = self.path.people[text]
            if k == 0:
                panel.join_unbudgeted(target, history_days=5 * 365)
                self.stayed = 0
            else:
                before = len(panel.people)
                leavers = self.rng.sample(
                    range(before), round(self.rng.uniform(0.04, 0.08) * before)
                )
                panel.remove_at(leavers)
                if len(panel.people) > target:
                    panel.remove_at(
                        self.rng.sample(range(len(panel.people)), len(panel.people) - target)
                    )
                self.stayed = len(panel.people)
                panel.join_unbudgeted(target - self.stayed)
            anchor = self.anchors[text]
            self._set_direct_payments("18-64", anchor.dp_18_64)
            self._set_direct_payments("65+", anchor.dp_65_plus)
            self._set_home_care(anchor.home_care)
            if self.code == SOMERSET and text == LETTER_PERIOD:
                self._letter()
            elif self.lettered:
                self._review(period)
            rate = self.path.rate[text]
            if rate is not None:
                self._set_budgets(rate, self.path.isf[text])
            if self.clients:
                panel.check_tallies()
            yield self._return(period)

    # --- direct payments ------------------------------------------------------------------

    def _order(self, indices: list[int]) -> list[int]:
        """Candidates to change, joiners first (new people take up new arrangements), each
        group in a seeded random order."""
        joiners = [i for i in indices if i >= self.stayed]
        stayers = [i for i in indices if i < self.stayed]
        self.rng.shuffle(joiners)
        self.rng.shuffle(stayers)
        return joiners + stayers

    def _set_direct_payments(self, age: str, target: int) -> None:
        people = self.panel.people
        holders = [
            i for i, p in enumerate(people) if p.age_band == age and p.budget_type in DP_TYPES
        ]
        if len(holders) > target:
            # Somerset's 2012-13 spike of direct payments aged 65+ (255 -> 870 -> 335) was
            # gone the next year: those people are modelled back on commissioned support
            # only; elsewhere a person leaving direct payments keeps a council-managed budget.
            keep = self.code != SOMERSET
            for i in sorted(self.rng.sample(holders, len(holders) - target)):
                self._to_council(i, keep_budget=keep)
            return
        need = target - len(holders)
        candidates = [
            i for i, p in enumerate(people) if p.age_band == age and p.budget_type not in DP_TYPES
        ]
        if len(candidates) < need:
            first = self.panel.join_unbudgeted(need - len(candidates), age=age)
            candidates += range(first, len(self.panel.people))
        for i in self._order(candidates)[:need]:
            self._to_direct_payment(i)

    def _dp_type(self, person: Person) -> str:
        weights = [
            mix.BUDGET_TYPE_WEIGHTS[person.age_band][b] * self.style.factors[b] for b in DP_TYPES
        ]
        kind = self.rng.choices(DP_TYPES, weights=weights)[0]
        return "DP_SELF_MANAGED" if kind == "DP_PART" and len(person.services) < 2 else kind

    def _council_service(self, s: Service, budget_type: str) -> Service:
        """The same support, arranged by the council (a personal assistant becomes home care)."""
        service_type = "HOME_CARE" if s.service_type == "PERSONAL_ASSISTANT" else s.service_type
        if budget_type == "ISF":
            fresh = self.panel.draw_service(service_type, "ISF")
        else:
            fresh = self.panel.draw_service(service_type, "COUNCIL")
        if service_type == s.service_type:
            return fresh._replace(
                weekly_cost_pence=s.weekly_cost_pence, planned_hours=s.planned_hours
            )
        return fresh

    def _replace(self, i: int, person: Person, *, services_changed: bool = True) -> None:
        if services_changed:
            self.changed.add(person.client_ref)
        self.panel.replace(i, person)

    def _to_direct_payment(self, i: int) -> None:
        person = self.panel.people[i]
        kind = self._dp_type(person)
        services = list(person.services)
        if kind == "DP_PART":
            # The personal assistant, if any, is the part bought with the direct payment.
            services.sort(key=lambda s: s.service_type != "PERSONAL_ASSISTANT")
            first = services[0]
            services = [
                first._replace(arrangement="DIRECT_PAYMENT", provider_ref=None),
                *(
                    s
                    if s.arrangement in ("BLOCK_CONTRACT", "SPOT_CONTRACT")
                    else self._council_service(s, "COUNCIL_MANAGED")
                    for s in services[1:]
                ),
            ]
        else:
            services = [
                s._replace(arrangement="DIRECT_PAYMENT", provider_ref=None) for s in services
            ]
        allocation, plan, directs = self.panel.criteria(kind, 365)
        self._replace(
            i,
            person.moved_to(kind, services, allocation, plan, directs),
        )

    def _to_council(self, i: int, *, keep_budget: bool = True) -> None:
        """A direct payment holder whose support the council now arranges (a budget kept)."""
        person = self.panel.people[i]
        services = [s for s in person.services if s.arrangement != "DIRECT_PAYMENT"]
        for s in person.services:
            if s.arrangement == "DIRECT_PAYMENT":
                moved = self._council_service(s, "COUNCIL_MANAGED")
                if all(t.service_type != moved.service_type for t in services):
                    services.append(moved)
        if not keep_budget:
            _, plan, _ = self.panel.criteria(NO_BUDGET, 365)
            new = person.moved_to(NO_BUDGET, services, None, plan, None)
        else:
            allocation, plan, _ = self.panel.criteria("COUNCIL_MANAGED", 365)
            new = person.moved_to("COUNCIL_MANAGED", services, allocation, plan or allocation, "Y")
        self._replace(i, new)

    # --- home care ------------------------------------------------------------------------

    @staticmethod
    def _counted(person: Person) -> bool:
        return any(
            s.service_type == "HOME_CARE" and s.arrangement in HOME_CARE_ARRANGEMENTS
            for s in person.services
        )

    def _set_home_care(self, target: int) -> None:
        people = self.panel.people
        current = sum(1 for p in people if self._counted(p))
        # DP_PART holders' council-arranged care is left as drawn; the others are adjusted.
        free = ("ISF", "COUNCIL_MANAGED", NO_BUDGET)
        if current < target:
            need = target - current
            candidates = [
                i for i, p in enumerate(people) if p.budget_type in free and not self._counted(p)
            ]
            if len(candidates) < need:
                first = self.panel.join_unbudgeted(need - len(candidates))
                candidates += range(first, len(self.panel.people))
            # People on commissioned support only first, then older people: most home care
            # was commissioned for people without a budget, and most of it for older people.
            ordered = self._order(candidates)
            ordered.sort(
                key=lambda i: (
                    self.panel.people[i].budget_type != NO_BUDGET,
                    self.panel.people[i].age_band != "65+",
                )
            )
            for i in ordered[:need]:
                self._add_home_care(i)
        elif current > target:
            # Part direct payment holders' council-arranged care goes last.
            holders = [
                i for i, p in enumerate(people) if p.budget_type in free and self._counted(p)
            ]
            extra = [
                i for i, p in enumerate(people) if p.budget_type == "DP_PART" and self._counted(p)
            ]
            drop = current - target
            # Care that is newest goes first: joiners', then budget holders'.
            holders = self._order(holders)
            holders.sort(key=lambda i: i < self.stayed and people[i].budget_type == NO_BUDGET)
            chosen = holders[:drop]
            chosen += self.rng.sample(extra, drop - len(chosen))
            for i in sorted(chosen):
                self._drop_home_care(i)

    def _add_home_care(self, i: int) -> None:
        person = self.panel.people[i]
        kind = "ISF" if person.budget_type == "ISF" else "COUNCIL"
        services = [s for s in person.services if s.service_type != "HOME_CARE"]
        services.append(self.panel.draw_service("HOME_CARE", kind))
        self._replace(i, dataclasses.replace(person, services=services))

    def _drop_home_care(self, i: int) -> None:
        person = self.panel.people[i]
        services = [s for s in person.services if s.service_type != "HOME_CARE"]
        if all(s.arrangement == "DIRECT_PAYMENT" for s in services):
            # Nothing left that the council arranges: something else it arranges instead.
            kind = "ISF" if person.budget_type == "ISF" else "COUNCIL"
            services = [*services, self.panel.draw_service(self.rng.choice(_OTHER_SERVICES), kind)]
        self._replace(i, dataclasses.replace(person, services=services))

    # --- personal budgets -------------------------------------------------------------------

    def _set_budgets(self, rate: float, isf_share: float) -> None:
        people = self.panel.people
        n = len(people)
        dp = sum(1 for p in people if p.budget_type in DP_TYPES)
        budgets = max(dp, round(rate * n))
        isf_target = min(round(isf_share * n), budgets - dp)
        isf = [i for i, p in enumerate(people) if p.budget_type == "ISF"]
        if len(isf) < isf_target:
            pool = [i for i, p in enumerate(people) if p.budget_type == NO_BUDGET]
            pool = pool or [i for i, p in enumerate(people) if p.budget_type == "COUNCIL_MANAGED"]
            for i in self._order(pool)[: isf_target - len(isf)]:
                self._to_isf(i)
        managed_target = budgets - dp - sum(1 for p in people if p.budget_type == "ISF")
        managed = [i for i, p in enumerate(people) if p.budget_type == "COUNCIL_MANAGED"]
        if len(managed) < managed_target:
            pool = [i for i, p in enumerate(people) if p.budget_type == NO_BUDGET]
            for i in self._order(pool)[: managed_target - len(managed)]:
                self._to_managed(i)
        elif len(managed) > managed_target:
            for i in sorted(self.rng.sample(managed, len(managed) - max(0, managed_target))):
                self._to_no_budget(i)

    def _to_isf(self, i: int) -> None:
        person = self.panel.people[i]
        services = [
            self.panel.draw_service(s.service_type, "ISF")._replace(
                weekly_cost_pence=s.weekly_cost_pence, planned_hours=s.planned_hours
            )
            for s in person.services
        ]
        allocation, plan, directs = self.panel.criteria("ISF", 365)
        self._replace(
            i,
            person.moved_to("ISF", services, allocation, plan, directs),
        )

    def _to_managed(self, i: int) -> None:
        """A council-managed budget after a review: the allocation and an agreed plan that
        re-costs the support (every weekly cost 7-25% up, or every one 7-25% down, so that each
        service's cost and the person's total both move by more than P003's 5%); in some
        councils' reviews (``review``), care bought on a block contract is bought for the
        person instead."""
        person = self.panel.people[i]
        spot = self.rng.random() < self.path.review
        down = self.rng.random() < 0.5
        # Costs have a floor of 300p a week (mix.WEEKLY_COST_PENCE): near it, only up.
        if down and any(s.weekly_cost_pence * 0.75 < 300 for s in person.services):
            down = False
        services = []
        for s in person.services:
            if spot and s.arrangement == "BLOCK_CONTRACT":
                s = s._replace(
                    arrangement="SPOT_CONTRACT", provider_ref=self._provider(s.service_type)
                )
            change = self.rng.uniform(0.07, 0.25) * (-1 if down else 1)
            services.append(s._replace(weekly_cost_pence=round(s.weekly_cost_pence * (1 + change))))
        allocation, plan, directs = self.panel.criteria("COUNCIL_MANAGED", 365)
        self._replace(
            i,
            person.moved_to("COUNCIL_MANAGED", services, allocation, plan, directs),
        )

    def _provider(self, service_type: str) -> str:
        refs, cum = self.panel.providers[service_type, "SPOT_CONTRACT"]
        return self.rng.choices(refs, cum_weights=cum)[0]

    def _to_no_budget(self, i: int) -> None:
        person = self.panel.people[i]
        _, plan, _ = self.panel.criteria(NO_BUDGET, 365)
        self._replace(
            i,
            person.moved_to(NO_BUDGET, person.services, None, plan, None),
            services_changed=False,
        )

    # --- Somerset ---------------------------------------------------------------------------

    def _letter(self) -> None:
        """3,000 letters: people on commissioned support only with council-arranged home care,
        there the year before with the same services, get a nominal budget and nothing else."""
        people = self.panel.people
        candidates = [
            i
            for i, p in enumerate(people[: self.stayed])
            if p.budget_type == NO_BUDGET
            and p.client_ref not in self.changed
            and any(
                s.service_type == "HOME_CARE"
                and s.arrangement in ("BLOCK_CONTRACT", "SPOT_CONTRACT")
                for s in p.services
            )
        ]
        if len(candidates) < LETTER:
            raise RuntimeError(f"Somerset has {len(candidates)} people to write to, not {LETTER}")
        for i in sorted(self.rng.sample(candidates, LETTER)):
            person = people[i]
            self._replace(
                i,
                dataclasses.replace(
                    person,
                    budget_type="COUNCIL_MANAGED",
                    allocation_notified_on=LETTER_DATE,
                    support_plan_agreed_on=None,
                    person_directs_support="N",
                ),
                services_changed=False,
            )
            self.lettered.add(person.client_ref)

    def _review(self, period: Period) -> None:
        """The next year reviews agree plans for most letter budgets: nominal falls back."""
        people = self.panel.people
        still = [
            i
            for i, p in enumerate(people)
            if p.client_ref in self.lettered
            and p.budget_type == "COUNCIL_MANAGED"
            and p.support_plan_agreed_on is None
        ]
        managed = [p for p in people if p.budget_type == "COUNCIL_MANAGED"]
        other_nominal = sum(
            1
            for p in managed
            if p.client_ref not in self.lettered
            and (p.support_plan_agreed_on is None or p.person_directs_support != "Y")
        )
        keep = max(0, math.floor(NOMINAL_AFTER_REVIEW * len(managed)) - other_nominal)
        start = datetime.date(period.start_year, 4, 1)
        for i in sorted(self.rng.sample(still, max(0, len(still) - keep))):
            agreed = start + datetime.timedelta(days=self.rng.randint(0, 330))
            self._replace(
                i,
                dataclasses.replace(
                    people[i], support_plan_agreed_on=agreed, person_directs_support="Y"
                ),
                services_changed=False,
            )
        self.lettered = set()

    # --- the return -------------------------------------------------------------------------

    def _return(self, period: Period) -> SyntheticReturn:
        return panel_return(self.council, period, self.panel, self.clients)


def anchored_returns(*, seed: int = 0, clients: bool = True) -> Iterator[SyntheticReturn]:
    """Every council's return for each of ``PERIODS``, council by council."""
    ref = load_reference()
    first = Period.parse(PERIODS[0])
    assert first is not None
    for council in ref.active(first):
        yield from _Run(council, seed, clients).returns()


def generate_anchored(out_dir: Path, *, seed: int = 0, clients: bool = True) -> list[Path]:
    """Write every return as ``<gss_code>-<period>.xlsx`` in ``out_dir``; the paths, sorted.
    The same arguments give byte-identical files."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ret in anchored_returns(seed=seed, clients=clients):
        path = out_dir / f"{ret.council_code}-{ret.period}.xlsx"
        write_xlsx(ret, path)
        paths.append(path)
    return sorted(paths)
