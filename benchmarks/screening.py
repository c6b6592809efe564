"""Time the screens on 152 councils x 10 periods (target: 0.5 s).

A report, not a test: it prints the median of several runs and asserts nothing.

    python benchmarks/screening.py [--runs 5]

Two parts. First the statistics of returns_kit.screening on a panel of HSCIC's real counts
(returns_kit/data/hscic_activity.csv, 2009-10 to 2013-14, nine measures) followed by five
made-up years (2014-15 to 2018-19: each council's 2013-14 count times a seeded random walk),
so that every screen sees ten periods. Then what the aggregate runs, P010-P012 from the
included returns' summaries (returns_kit.aggregate.screens.screen_returns: the panel of
rates and counts built from 1,520 summaries, the three screens, the findings), on every
council of 2010-11 to 2019-20 with seeded counts (2014-15 is a series break, as in the
defaults, so the history restarts there as it would in a real run).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import polars as pl  # noqa: E402

from returns_kit.aggregate.screens import screen_returns  # noqa: E402
from returns_kit.config import Thresholds  # noqa: E402
from returns_kit.hscic import ENGLAND, load_activity  # noqa: E402
from returns_kit.measures import BUDGET_TYPES, ReturnSummary  # noqa: E402
from returns_kit.periods import Period  # noqa: E402
from returns_kit.reference import load_reference  # noqa: E402
from returns_kit.screening import hb_scores, opposite_moves, out_of_line  # noqa: E402


def panel() -> pl.DataFrame:
    real = load_activity().filter(pl.col("council_code") != ENGLAND)
    last = real.filter(pl.col("period") == "2013-14").drop_nulls("people")
    rng = random.Random(15)
    frames = [real.select("council_code", "period", "measure", "people")]
    latest = last.select("council_code", "measure", "people").rows()
    level = {(code, measure): float(v) for code, measure, v in latest}
    for start in range(2014, 2019):
        period = f"{start}-{(start + 1) % 100:02d}"
        rows = []
        for (code, measure), value in level.items():
            level[(code, measure)] = value * rng.lognormvariate(0.02, 0.15)
            rows.append((code, period, measure, 5 * round(level[(code, measure)] / 5)))
        frames.append(
            pl.DataFrame(
                rows,
                schema={
                    "council_code": pl.Utf8,
                    "period": pl.Utf8,
                    "measure": pl.Utf8,
                    "people": pl.Int64,
                },
                orient="row",
            )
        )
    return pl.concat(frames)


def summaries(periods: int = 10) -> dict[tuple[str, str], ReturnSummary]:
    """Every council active throughout, ``periods`` years from 2010-11, with seeded counts on
    26 Budgets rows and four Services rows, as the aggregate's summaries hold them."""
    reference = load_reference()
    years = [str(Period.parse(f"{2010 + i}-{(11 + i) % 100:02d}")) for i in range(periods)]
    rng = random.Random(15)
    bands = [(age, f"R{index}") for age in ("18-64", "65+") for index in range(13)]
    out = {}
    levels: dict[str, dict[str, int]] = {}
    homes: dict[str, int] = {}
    for year in years:
        for council in reference.active(Period.parse(year)):  # type: ignore[arg-type]
            level = levels.setdefault(
                council.gss_code, {name: rng.randint(20, 400) for name in BUDGET_TYPES}
            )
            for name in level:
                level[name] = max(1, round(level[name] * rng.lognormvariate(0.02, 0.12)))
            before = homes.get(council.gss_code, rng.randint(100, 2000))
            home = homes[council.gss_code] = max(1, round(before * rng.lognormvariate(0, 0.12)))
            rows = []
            for age, reason in bands:
                counts = {name: level[name] // 26 for name in BUDGET_TYPES}
                rows.append(
                    {
                        "age_band": age,
                        "support_reason": reason,
                        "people_total": sum(counts.values()),
                        **counts,
                    }
                )
            services = [
                ("HOME_CARE", "BLOCK_CONTRACT", home),
                ("HOME_CARE", "DIRECT_PAYMENT", level["dp_self_managed"]),
                ("DAY_OPPORTUNITIES", "SPOT_CONTRACT", home // 3),
                ("SUPPORTED_LIVING", "ISF", level["isf"]),
            ]
            out[(council.gss_code, year)] = ReturnSummary(
                council_code=council.gss_code,
                period=year,
                submitted_on=None,
                budgets=pl.DataFrame(rows),
                services=pl.DataFrame(
                    [
                        {"service_type": s, "arrangement": a, "people": n, "gross_spend_gbp": 1e3}
                        for s, a, n in services
                    ]
                ),
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    frame = panel()
    councils = frame["council_code"].n_unique()
    periods = frame["period"].n_unique()
    print(f"{councils} councils x {periods} periods x {frame['measure'].n_unique()} measures")
    for name, screen in (
        ("hb_scores", hb_scores),
        ("opposite_moves", opposite_moves),
        ("out_of_line", out_of_line),
    ):
        times = []
        for _ in range(args.runs):
            began = time.perf_counter()
            screen(frame)
            times.append(time.perf_counter() - began)
        print(f"{name:15} median {statistics.median(times) * 1000:7.1f} ms")
    returns = summaries()
    reference = load_reference()
    periods = len({period for _, period in returns})
    print(
        f"aggregate screens P010-P012: {len(returns):,} returns, {periods} periods of "
        f"{len(returns) // periods} councils"
    )
    times, cpu, found = [], [], {}
    for _ in range(args.runs):
        # A fresh copy each run; its counts and measures filled in first, as the worker that
        # makes a summary fills them (the aggregate's tables use them too).
        fresh = {key: fresh_copy(item) for key, item in returns.items()}
        for item in fresh.values():
            item.measures()
        began, began_cpu = time.perf_counter(), time.process_time()
        found = screen_returns(fresh, reference, Thresholds())
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    flagged = sum(len(items) for items in found.values())
    print(
        f"{'screen_returns':15} median {statistics.median(times) * 1000:7.1f} ms, CPU "
        f"{statistics.median(cpu) * 1000:.1f} ms ({flagged} findings on {len(found)} "
        "council-periods)"
    )


def fresh_copy(summary: ReturnSummary) -> ReturnSummary:
    """The summary without its cached counts and measures."""
    return ReturnSummary(
        council_code=summary.council_code,
        period=summary.period,
        submitted_on=summary.submitted_on,
        budgets=summary.budgets,
        services=summary.services,
    )


if __name__ == "__main__":
    main()
