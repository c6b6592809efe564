"""Derive each sheet's grid from the people, so that sheets agree by construction."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict

from tools.synth.model import Cell, Grid
from tools.synth.people import Person
from tools.synth.reference import codes, columns

_HOURLY = ("HOME_CARE", "PERSONAL_ASSISTANT")


def about_grid(fields: dict[str, Cell]) -> Grid:
    """The About sheet: header `field`, `value`, then one row per field in the given order."""
    return [["field", "value"], *([k, v] for k, v in fields.items())]


def budgets_grid(people: list[Person]) -> Grid:
    """Budgets: all 26 age band x support reason rows, zeros included."""
    budget_types = codes("budget_type")
    counts: Counter[tuple[str, str, str]] = Counter(
        (p.age_band, p.support_reason, p.budget_type) for p in people
    )
    grid: Grid = [list(columns("Budgets"))]
    for age in codes("age_band"):
        for reason in codes("support_reason"):
            by_type = [counts[age, reason, b] for b in budget_types]
            grid.append([age, reason, sum(by_type), *by_type])
    return grid


def services_grid(people: list[Person]) -> Grid:
    """Services: one row per service type x arrangement that anyone receives."""
    # Each person has a service type at most once, so services on a row = distinct people.
    n: Counter[tuple[str, str]] = Counter()
    hours: defaultdict[tuple[str, str], float] = defaultdict(float)
    pence: Counter[tuple[str, str]] = Counter()
    providers: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for p in people:
        for s in p.services:
            key = (s.service_type, s.arrangement)
            n[key] += 1
            pence[key] += s.weekly_cost_pence
            if s.planned_hours is not None:
                hours[key] += s.planned_hours
            if s.provider_ref is not None:
                providers[key].add(s.provider_ref)
    grid: Grid = [list(columns("Services"))]
    for service_type in codes("service_type"):
        for arrangement in codes("arrangement"):
            key = (service_type, arrangement)
            if not n[key]:
                continue
            grid.append(
                [
                    service_type,
                    arrangement,
                    n[key],
                    round(hours[key], 1) if service_type in _HOURLY else None,
                    pence[key] * 52 / 100,  # a year of the weekly costs, exact to the penny
                    None if arrangement == "DIRECT_PAYMENT" else len(providers[key]),
                ]
            )
    return grid


def clients_grid(people: list[Person]) -> Grid:
    """Clients: one row per person per service, in schema column order."""
    grid: Grid = [list(columns("Clients"))]
    for p in people:
        for s in p.services:
            grid.append(
                [
                    p.client_ref,
                    p.age_band,
                    p.support_reason,
                    p.budget_type,
                    s.service_type,
                    s.arrangement,
                    s.provider_ref,
                    s.weekly_cost_pence / 100,
                    s.planned_hours,
                    p.allocation_notified_on,
                    p.support_plan_agreed_on,
                    p.person_directs_support,
                ]
            )
    return grid


def explanations_grid(explanations: list[tuple[str, str, str]]) -> Grid:
    """Explanations: rule, scope (blank when ""), explanation."""
    grid: Grid = [list(columns("Explanations"))]
    grid.extend([rule, scope or None, text] for rule, scope, text in explanations)
    return grid


def default_submitted_on(period: str) -> datetime.date:
    """15 June after the period ends, when returns are typically signed off."""
    return datetime.date(int(period[:4]) + 1, 6, 15)
