"""A deterministic national example: every council's return for several periods.

Each council's people are a panel (see ``panel``): the same clients persist from one
period to the next, a few percent leaving and joining, so that returns with a Clients
sheet can be compared client by client. Sizes add up to about 600,000 people in
community long-term support in England, spread by type of council; personal budget
rates spread from about 15% to 95% and drift up by a few points a year.

Two events are planted (see ``PLANTED``):

- ``relabelling``: Somerset (E10000027) sends about 3,000 home-care clients on
  commissioned support only a letter stating what their care costs. They become
  COUNCIL_MANAGED with nominal budgets and nothing else changes; the personal budget
  rate goes from about 7% to about 33%. The aggregate must raise P001, P002 and P003.
- ``isf_rise``: Leeds (E08000035) moves about 15% of its people from block-contract
  home care and day opportunities on commissioned support only to Individual Service
  Funds with providers they chose. P001 only: the choice rate, the service mix and the
  block-contract share move with the rate.

Only Somerset and Leeds carry a Clients sheet, to keep the example small.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import random
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from returns_kit.periods import Period
from returns_kit.reference import Council, load_reference
from tools.synth.derive import about_grid, clients_grid, default_submitted_on
from tools.synth.model import SyntheticReturn
from tools.synth.panel import (
    CHOICE_TYPES,
    COUNCIL_ARRANGED,
    NO_BUDGET,
    Panel,
    Style,
)
from tools.synth.people import Service
from tools.synth.reference import email_slug
from tools.synth.write import write_xlsx

__all__ = [
    "DEFAULT_PERIODS",
    "ISF_COUNCIL",
    "PLANTED",
    "SOMERSET",
    "generate_national",
    "measures",
    "national_return",
    "national_returns",
]

SOMERSET = "E10000027"
ISF_COUNCIL = "E08000035"  # Leeds
#: The planted events: name -> (council, period before, period after).
PLANTED: dict[str, tuple[str, str, str]] = {
    "relabelling": (SOMERSET, "2012-13", "2013-14"),
    "isf_rise": (ISF_COUNCIL, "2012-13", "2013-14"),
}
#: Councils whose returns carry a Clients sheet.
CLIENTS_COUNCILS = (SOMERSET, ISF_COUNCIL)
DEFAULT_PERIODS = ("2011-12", "2012-13", "2013-14", "2014-15")

NATIONAL_PEOPLE = 600_000
#: People drawn (log-uniformly) by type of council, before scaling to NATIONAL_PEOPLE.
SIZE_RANGES = {
    "CTY": (7_500, 18_000),
    "MD": (1_800, 7_000),
    "LBO": (1_400, 4_500),
    "UA": (700, 3_500),
    "CC": (90, 160),  # City of London
}
#: People in the first period, not drawn: the planted councils, and the largest and
#: smallest councils by population, so that the spread looks like England's.
FIXED_SIZES = {
    SOMERSET: 11_500,
    ISF_COUNCIL: 9_000,  # Leeds
    "E10000016": 19_000,  # Kent
    "E10000012": 17_000,  # Essex
    "E10000014": 16_000,  # Hampshire
    "E10000017": 16_000,  # Lancashire
    "E08000025": 13_000,  # Birmingham
    "E06000052": 7_000,  # Cornwall
    "E06000017": 450,  # Rutland
    "E06000053": 45,  # Isles of Scilly
}

# Somerset's history: ~7% before the letter, ~33% after; choice (DP, third party, ISF)
# a small part of it, most budgets council-managed, most people commissioned-only.
SOMERSET_STYLE = Style(
    {
        "DP_SELF_MANAGED": 1.2,
        "DP_PART": 0.8,
        "THIRD_PARTY_MANAGED": 0.6,
        "ISF": 0.3,
        "COUNCIL_MANAGED": 0.9,
    }
)
SOMERSET_RATE_2011 = 0.065  # rate in 2011-12; +0.5 points a year until the letter
SOMERSET_RATE_AFTER = 0.33
LEEDS_STYLE = Style(
    {
        "DP_SELF_MANAGED": 1.0,
        "DP_PART": 1.0,
        "THIRD_PARTY_MANAGED": 0.8,
        "ISF": 0.4,
        "COUNCIL_MANAGED": 1.0,
    }
)
LEEDS_RATE_2011 = 0.40  # rate in 2011-12; +1.5 points a year besides the ISFs
ISF_SHARE = 0.15  # of Leeds's people moved to ISFs
NOMINAL_AFTER_REVIEW = 0.15  # Somerset's nominal share once the letters are reviewed


@dataclass
class _Series:
    """One council's run of returns: the same council, or its one-to-one successor."""

    returns: list[tuple[Council, Period]]

    @property
    def root(self) -> Council:
        return self.returns[0][0]

    @property
    def start(self) -> Period:
        return self.returns[0][1]


def _parse_periods(periods: Sequence[str]) -> list[Period]:
    parsed = []
    for text in periods:
        period = Period.parse(text)
        if period is None:
            raise ValueError(f"period must look like 2013-14, not {text!r}")
        parsed.append(period)
    if any(b <= a for a, b in zip(parsed, parsed[1:], strict=False)):
        raise ValueError("periods must be in increasing order, without repeats")
    return parsed


def _all_series(periods: list[Period]) -> list[_Series]:
    """Every council active in each period, grouped into series, in order of start."""
    ref = load_reference()
    everything: list[_Series] = []
    previous: dict[str, _Series] = {}
    for period in periods:
        current: dict[str, _Series] = {}
        for council in ref.active(period):
            series = previous.get(council.gss_code)
            if series is None:
                predecessor = ref.continues(council.gss_code)
                if predecessor is not None:
                    series = previous.get(predecessor.gss_code)
            if series is None:
                series = _Series([])
                everything.append(series)
            series.returns.append((council, period))
            current[council.gss_code] = series
        previous = current
    return everything


def _ancestors(code: str) -> set[str]:
    ref = load_reference()
    found = {code}
    todo = [code]
    while todo:
        for council in ref.predecessors(todo.pop()):
            if council.gss_code not in found:
                found.add(council.gss_code)
                todo.append(council.gss_code)
    return found


class _Sizes:
    """Each council's people in its first period, by type of council, scaled nationally."""

    def __init__(self, seed: int, first: Period) -> None:
        self.seed = seed
        ref = load_reference()
        drawn = {c.gss_code: self._draw(c) for c in ref.active(first)}
        fixed = sum(n for code, n in FIXED_SIZES.items() if code in drawn)
        free = sum(n for code, n in drawn.items() if code not in FIXED_SIZES)
        self.scale = (NATIONAL_PEOPLE - fixed) / free if free else 1.0

    def _draw(self, council: Council) -> float:
        lo, hi = SIZE_RANGES.get(council.la_type, SIZE_RANGES["UA"])
        rng = random.Random(f"national:{self.seed}:{council.gss_code}:size")
        return math.exp(rng.uniform(math.log(lo), math.log(hi)))

    def __call__(self, council: Council) -> int:
        if council.gss_code in FIXED_SIZES:
            return FIXED_SIZES[council.gss_code]
        ref = load_reference()
        predecessors = ref.predecessors(council.gss_code)
        if predecessors:
            # A new council made from others: their people, shared among their successors.
            return round(sum(self(p) / len(p.succeeded_by) for p in predecessors))
        return max(20, round(self._draw(council) * self.scale))


def _letter_date(period: Period) -> datetime.date:
    """When Somerset's letter went out: mid-November of the period."""
    return datetime.date(period.start_year, 11, 15)


class _SeriesRun:
    """Simulates one series period by period, planting the events that fall in it."""

    def __init__(self, series: _Series, sizes: _Sizes, seed: int, clients: bool) -> None:
        self.series = series
        root = series.root.gss_code
        self.rng = random.Random(f"national:{seed}:{root}:{series.start}")
        self.codes = {c.gss_code for c, _ in series.returns}
        if SOMERSET in self.codes:
            self.style = SOMERSET_STYLE
        elif ISF_COUNCIL in self.codes:
            self.style = LEEDS_STYLE
        else:
            self.style = Style.draw(self.rng)
        self.size = sizes(series.root)
        self.panel = Panel(self.rng, self.style, self.size)
        self.clients = clients and bool(self.codes & set(CLIENTS_COUNCILS))
        self.relabelled: set[str] = set()

    def _start_rate(self, period: Period) -> float:
        if SOMERSET in self.codes:
            return max(0.03, SOMERSET_RATE_2011 + 0.005 * (period.start_year - 2011))
        if ISF_COUNCIL in self.codes:
            return LEEDS_RATE_2011 + 0.015 * (period.start_year - 2011)
        # Spread from about 15% to 93%, most councils in the middle.
        u = self.rng.random()
        return 0.15 + 0.78 * u * u * (3 - 2 * u)

    def _drift(self, period: Period) -> float:
        if SOMERSET in self.codes:
            return 0.005 if not self.relabelled else self.rng.uniform(0.0, 0.02)
        if ISF_COUNCIL in self.codes:
            return 0.015
        return self.rng.uniform(-0.01, 0.05)

    def returns(self) -> Iterator[SyntheticReturn]:
        panel = self.panel
        previous: Period | None = None
        for council, period in self.series.returns:
            if previous is None:
                panel.start(period.snapshot, self.size, self._start_rate(period))
            else:
                rate = min(0.95, panel.rate() + self._drift(period))
                stayed = panel.advance(
                    period.snapshot,
                    leave=self.rng.uniform(0.04, 0.08),
                    growth=self.rng.uniform(-0.03, 0.04),
                    rate=rate,
                )
                self._plant(council.gss_code, previous, period, stayed)
            if self.clients:
                panel.check_tallies()
            yield self._return(council, period)
            previous = period

    def _plant(self, code: str, before: Period, after: Period, stayed: int) -> None:
        event = (code, str(before), str(after))
        if event == PLANTED["relabelling"]:
            self._relabel(after, stayed)
        elif self.relabelled:
            self._review(after)
        if event == PLANTED["isf_rise"]:
            self._isf_rise(after, stayed)

    def _relabel(self, period: Period, stayed: int) -> None:
        """Somerset's letter: home-care clients on no budget get a nominal one, and no more."""
        panel = self.panel
        candidates = [
            i
            for i, p in enumerate(panel.people[:stayed])
            if p.budget_type == NO_BUDGET
            and any(
                s.service_type == "HOME_CARE" and s.arrangement in COUNCIL_ARRANGED
                for s in p.services
            )
        ]
        wanted = round(SOMERSET_RATE_AFTER * len(panel.people)) - round(
            panel.rate() * len(panel.people)
        )
        letter = _letter_date(period)
        for i in sorted(self.rng.sample(candidates, min(len(candidates), max(0, wanted)))):
            person = panel.people[i]
            panel.replace(
                i,
                dataclasses.replace(
                    person,
                    budget_type="COUNCIL_MANAGED",
                    allocation_notified_on=letter,
                    support_plan_agreed_on=None,
                    person_directs_support="N",
                ),
            )
            self.relabelled.add(person.client_ref)

    def _review(self, period: Period) -> None:
        """The next year, reviews agree plans for most letter budgets: nominal falls back."""
        panel = self.panel
        managed = [p for p in panel.people if p.budget_type == "COUNCIL_MANAGED"]
        still = [
            i
            for i, p in enumerate(panel.people)
            if p.client_ref in self.relabelled
            and p.budget_type == "COUNCIL_MANAGED"
            and p.support_plan_agreed_on is None
        ]
        if not still:
            return
        other_nominal = sum(
            1
            for p in managed
            if p.client_ref not in self.relabelled
            and (p.support_plan_agreed_on is None or p.person_directs_support != "Y")
        )
        keep = max(0, math.floor(NOMINAL_AFTER_REVIEW * len(managed)) - other_nominal)
        reviewed = sorted(self.rng.sample(still, max(0, len(still) - keep)))
        start = datetime.date(period.start_year, 4, 1)
        for i in reviewed:
            person = panel.people[i]
            agreed = start + datetime.timedelta(days=self.rng.randint(0, 330))
            panel.replace(
                i,
                dataclasses.replace(
                    person, support_plan_agreed_on=agreed, person_directs_support="Y"
                ),
            )

    def _isf_rise(self, period: Period, stayed: int) -> None:
        """Leeds: people on block-contract care move to ISFs with providers they chose."""
        panel = self.panel
        rng = self.rng
        candidates = [
            i
            for i, p in enumerate(panel.people[:stayed])
            if p.budget_type == NO_BUDGET
            and any(
                s.service_type in ("HOME_CARE", "DAY_OPPORTUNITIES")
                and s.arrangement == "BLOCK_CONTRACT"
                for s in p.services
            )
        ]
        moving = sorted(rng.sample(candidates, min(len(candidates), round(ISF_SHARE * stayed))))
        # Providers the people chose: new to the council, many small ones.
        chosen: dict[str, tuple[list[str], list[float]]] = {}
        for service_type in sorted(
            {s.service_type for i in moving for s in panel.people[i].services}
        ):
            refs = [panel.new_provider() for _ in range(5 + len(moving) // 60)]
            chosen[service_type] = (refs, [1 / math.sqrt(k) for k in range(1, len(refs) + 1)])
        first = datetime.date(period.start_year, 6, 1)
        for i in moving:
            person = panel.people[i]
            services = []
            for s in person.services:
                refs, weights = chosen[s.service_type]
                cost = round(s.weekly_cost_pence * rng.uniform(0.97, 1.08))
                provider = rng.choices(refs, weights=weights)[0]
                services.append(Service(s.service_type, "ISF", provider, cost, s.planned_hours))
            allocation = first + datetime.timedelta(days=rng.randint(0, 240))
            plan = min(period.snapshot, allocation + datetime.timedelta(days=rng.randint(7, 30)))
            panel.replace(
                i,
                person.moved_to("ISF", services, allocation, plan, "Y"),
            )

    def _return(self, council: Council, period: Period) -> SyntheticReturn:
        return panel_return(council, period, self.panel, self.clients)


def panel_return(council: Council, period: Period, panel: Panel, clients: bool) -> SyntheticReturn:
    """One council's return for ``period`` as ``panel`` stands: About, Budgets and Services
    from its tally, Clients from its people when asked for."""
    about = about_grid(
        {
            "schema_version": "1.0",
            "council_code": council.gss_code,
            "council_name": council.name,
            "period": str(period),
            "submitted_on": default_submitted_on(str(period)),
            "contact_email": f"returns@{email_slug(council.name)}.gov.uk",
        }
    )
    sheets = {
        "About": about,
        "Budgets": panel.tally.budgets_grid(),
        "Services": panel.tally.services_grid(),
    }
    if clients:
        sheets["Clients"] = clients_grid(panel.sorted_people())
    return SyntheticReturn(council.gss_code, str(period), sheets)


def national_returns(
    periods: Sequence[str] = DEFAULT_PERIODS,
    *,
    seed: int = 0,
    clients: bool = True,
    councils: Collection[str] | None = None,
) -> Iterator[SyntheticReturn]:
    """Every active council's return for each period, council by council.

    ``clients`` False leaves out the Clients sheets (Somerset's and Leeds's);
    ``councils`` keeps only these councils and the councils that succeed them.
    The same arguments give the same returns, whatever else is asked for.
    """
    parsed = _parse_periods(periods)
    if not parsed:
        return
    sizes = _Sizes(seed, parsed[0])
    wanted = None if councils is None else set(councils)
    for series in _all_series(parsed):
        if wanted is not None and not any(
            _ancestors(c.gss_code) & wanted for c, _ in series.returns
        ):
            continue
        yield from _SeriesRun(series, sizes, seed, clients).returns()


def national_return(
    council_code: str,
    period: str,
    *,
    periods: Sequence[str] = DEFAULT_PERIODS,
    seed: int = 0,
    clients: bool = True,
) -> SyntheticReturn:
    """One return of ``national_returns`` with the same arguments, simulating only its series."""
    parsed = _parse_periods(periods)
    for series in _all_series(parsed):
        if (council_code, period) in {(c.gss_code, str(p)) for c, p in series.returns}:
            for ret in _SeriesRun(series, _Sizes(seed, parsed[0]), seed, clients).returns():
                if ret.period == period:
                    return ret
    raise ValueError(f"{council_code} sends no return for {period} among {list(periods)}")


def generate_national(
    out_dir: Path,
    *,
    periods: Sequence[str] = DEFAULT_PERIODS,
    seed: int = 0,
    clients: bool = True,
    councils: Collection[str] | None = None,
) -> list[Path]:
    """Write every active council's return for each period as ``<gss_code>-<period>.xlsx``.

    Returns the paths written, sorted. The same arguments give byte-identical files.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ret in national_returns(periods, seed=seed, clients=clients, councils=councils):
        path = out_dir / f"{ret.council_code}-{ret.period}.xlsx"
        write_xlsx(ret, path)
        paths.append(path)
    return sorted(paths)


def _number(cell: object) -> int:
    return int(cell) if isinstance(cell, int | float) else 0


def measures(ret: SyntheticReturn) -> dict[str, float]:
    """A return's people_total, personal budget rate, choice rate and block-contract share."""
    budgets = ret.sheets["Budgets"]
    header = [str(name) for name in budgets[0]]
    totals = {
        name: sum(_number(row[k]) for row in budgets[1:]) for k, name in enumerate(header) if k >= 2
    }
    people = totals["people_total"]
    choice = sum(totals[b.lower()] for b in CHOICE_TYPES)
    rows = ret.sheets["Services"][1:]
    served = sum(_number(row[2]) for row in rows)
    block = sum(_number(row[2]) for row in rows if row[1] == "BLOCK_CONTRACT")
    return {
        "people_total": people,
        "personal_budget_rate": (people - totals["no_personal_budget"]) / people if people else 0.0,
        "choice_rate": choice / people if people else 0.0,
        "block_share": block / served if served else 0.0,
    }
