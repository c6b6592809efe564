"""Funnel plot control limits with over-dispersion (Spiegelhalter 2005).

Reference: D. J. Spiegelhalter, "Handling over-dispersion of performance indicators",
*Quality and Safety in Health Care* 14 (2005) 347-351.

Each unit (a council) has a value ``y_i`` (a rate, or a change in a rate) and, under the
hypothesis that it is on target, a standard error ``s_i``. Then:

1. z-scores ``z_i = (y_i - target) / s_i``;
2. winsorised at 10% each end: the ``floor(0.1 I)`` lowest z-scores are set to the next
   lowest, the ``floor(0.1 I)`` highest to the next highest (no change below 10 units);
3. ``phi = (1/I) sum z_i^2`` over the winsorised z-scores;
4. if ``I phi > I - 1`` (and there are at least :data:`MIN_UNITS` units) the units are
   over-dispersed, and an additive random effect has
   ``tau^2 = (I phi - (I - 1)) / (sum w_i - sum w_i^2 / sum w_i)`` with ``w_i = 1 / s_i^2``
   (DerSimonian and Laird's estimator); otherwise ``tau^2 = 0``;
5. limits ``target +/- z_a sqrt(s_i^2 + tau^2)`` with ``z_a`` the normal quantile for 95%
   (1.96) and 99.8% (3.09) two-sided.

Proportions (:func:`proportion_funnel`): ``target`` is the pooled rate of all units and
``s_i^2 = target (1 - target) / n_i``. Changes in a rate between two periods
(:func:`change_funnel`): ``target`` is the pooled rate after less the pooled rate before,
and ``s_i^2 = p_b (1 - p_b) / n_bi + p_a (1 - p_a) / n_ai`` with the pooled rates ``p_b``
and ``p_a``: the normal approximation to the difference of two binomial proportions, the
two periods taken as independent samples. The same people are mostly in both periods, so
the true variance of a council's change is smaller and these limits are wider (they flag
less) than exact ones would be; over-dispersion then widens them for every council alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

#: Two-sided normal quantiles of the funnel's two pairs of limits.
Z95 = NormalDist().inv_cdf(0.975)  # 1.960
Z998 = NormalDist().inv_cdf(0.999)  # 3.090
#: Share of z-scores winsorised at each end before phi is estimated.
WINSORISE = 0.1
#: Fewer units than this and no random effect is estimated (tau^2 = 0, phi still given):
#: the spread between two or three councils says little about councils in general, and
#: would widen the limits to take in whatever they are (our choice, not the paper's).
MIN_UNITS = 10


@dataclass(frozen=True)
class Unit:
    """One unit's place in the funnel; the limits are None where it has no standard error."""

    value: float
    #: standard error under the target (without the random effect)
    se: float | None
    #: the x of the funnel: ``variance / se^2`` (for proportions, the denominator n)
    size: float | None
    z: float | None
    lower_95: float | None
    upper_95: float | None
    lower_998: float | None
    upper_998: float | None

    @property
    def outside_95(self) -> bool | None:
        if self.lower_95 is None or self.upper_95 is None:
            return None
        return not self.lower_95 <= self.value <= self.upper_95

    @property
    def outside_998(self) -> bool | None:
        if self.lower_998 is None or self.upper_998 is None:
            return None
        return not self.lower_998 <= self.value <= self.upper_998


@dataclass(frozen=True)
class Funnel:
    """The target, the over-dispersion found, and every unit's limits (in input order)."""

    target: float
    #: the variance of one unit of size 1 under the target: ``s^2 = variance / size``
    variance: float
    phi: float | None
    tau2: float
    units: tuple[Unit, ...]

    @property
    def overdispersed(self) -> bool:
        return self.tau2 > 0

    def limits_at(self, size: float, z: float) -> tuple[float, float]:
        """The limits for a unit of ``size``: what the chart's curves draw."""
        half = z * math.sqrt(self.variance / size + self.tau2)
        return self.target - half, self.target + half


def winsorise(values: Sequence[float], share: float = WINSORISE) -> list[float]:
    """``values`` with the ``floor(share * n)`` lowest and highest pulled in to the nearest
    value kept, in input order."""
    cut = math.floor(share * len(values))
    if cut == 0:
        return list(values)
    ordered = sorted(values)
    low, high = ordered[cut], ordered[len(ordered) - 1 - cut]
    return [min(max(value, low), high) for value in values]


def overdispersion(z: Sequence[float], se: Sequence[float]) -> tuple[float | None, float]:
    """phi (the mean squared winsorised z-score) and tau^2 (0 unless ``I phi > I - 1``)."""
    count = len(z)
    if count == 0:
        return None, 0.0
    phi = sum(value * value for value in winsorise(z)) / count
    if count < MIN_UNITS or count * phi <= count - 1:
        return phi, 0.0
    weights = [1 / (s * s) for s in se]
    spread = sum(weights) - sum(w * w for w in weights) / sum(weights)
    if spread <= 0:
        return phi, 0.0
    return phi, max(0.0, (count * phi - (count - 1)) / spread)


def funnel(
    values: Sequence[float], se: Sequence[float | None], target: float, variance: float
) -> Funnel:
    """Limits for units with these values and standard errors (None: no limits for it)."""
    known = [(value, s) for value, s in zip(values, se, strict=True) if s is not None and s > 0]
    z = [(value - target) / s for value, s in known]
    phi, tau2 = overdispersion(z, [s for _, s in known])
    units = []
    for value, s in zip(values, se, strict=True):
        if s is None or s <= 0:
            units.append(Unit(value, None, None, None, None, None, None, None))
            continue
        half95, half998 = (q * math.sqrt(s * s + tau2) for q in (Z95, Z998))
        units.append(
            Unit(
                value,
                s,
                variance / (s * s) if variance > 0 else None,
                (value - target) / s,
                target - half95,
                target + half95,
                target - half998,
                target + half998,
            )
        )
    return Funnel(target, variance, phi, tau2, tuple(units))


def proportion_funnel(events: Sequence[int], totals: Sequence[int]) -> Funnel | None:
    """Each unit's rate ``events / total`` against the pooled rate; None with no total."""
    pooled = sum(totals)
    if pooled <= 0:
        return None
    target = sum(events) / pooled
    variance = target * (1 - target)
    rates = [e / n if n > 0 else math.nan for e, n in zip(events, totals, strict=True)]
    se = [math.sqrt(variance / n) if n > 0 and variance > 0 else None for n in totals]
    return funnel(rates, se, target, variance)


def change_funnel(
    events_before: Sequence[int],
    totals_before: Sequence[int],
    events_after: Sequence[int],
    totals_after: Sequence[int],
) -> Funnel | None:
    """Each unit's change of rate (after less before) against the pooled change."""
    all_before, all_after = sum(totals_before), sum(totals_after)
    if all_before <= 0 or all_after <= 0:
        return None
    rate_before, rate_after = sum(events_before) / all_before, sum(events_after) / all_after
    var_before, var_after = rate_before * (1 - rate_before), rate_after * (1 - rate_after)
    changes: list[float] = []
    se: list[float | None] = []
    for eb, nb, ea, na in zip(
        events_before, totals_before, events_after, totals_after, strict=True
    ):
        if nb <= 0 or na <= 0:
            changes.append(math.nan)
            se.append(None)
            continue
        changes.append(ea / na - eb / nb)
        variance = var_before / nb + var_after / na
        se.append(math.sqrt(variance) if variance > 0 else None)
    # A unit of size m has s^2 = (var_before + var_after) / m: m is its people when the two
    # periods have the same number, and an effective number between them otherwise.
    return funnel(changes, se, rate_after - rate_before, var_before + var_after)
