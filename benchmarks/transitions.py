"""Time the client-level transitions and the funnels on the national example.

A report, not a test: it prints the median of several runs and asserts nothing.

    python benchmarks/transitions.py [--runs 5] [--cache-dir DIR]

It validates fixtures/national once (through the aggregate's cache, so a second run is
warm), then times: ``transition_tables`` (every pair of consecutive returns that both have
a Clients sheet: Somerset's and Leeds's in the example, about 176,000 Clients rows), the
change funnels of 152 councils over 9 pairs of periods (the example's four periods,
repeated), and the report's funnel and transitions sections (their charts drawn).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from returns_kit.aggregate.run import AggregateOptions, aggregate  # noqa: E402
from returns_kit.config import Thresholds  # noqa: E402
from returns_kit.funnel import change_funnel  # noqa: E402
from returns_kit.html.transitions_page import transitions_context  # noqa: E402
from returns_kit.measures import PERSONAL_BUDGETS  # noqa: E402
from returns_kit.reference import load_reference  # noqa: E402
from returns_kit.transitions import transition_tables  # noqa: E402

NATIONAL = Path(__file__).resolve().parent.parent / "fixtures" / "national"


def median_seconds(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()
    result = aggregate([NATIONAL], AggregateOptions(cache_dir=args.cache_dir))
    reference, thresholds = load_reference(), Thresholds()
    selection = result.selection
    rows = sum(
        item.summary.clients.height
        for item in selection.included.values()
        if item.summary is not None and item.summary.clients is not None
    )
    seconds = median_seconds(lambda: transition_tables(selection, reference, thresholds), args.runs)
    print(f"transition_tables: {seconds:.3f} s ({rows:,} Clients rows in the returns used)")

    councils = result.tables["councils"]
    periods = sorted(councils["period"].unique().to_list())
    by_period = {
        period: {
            row["council_code"]: (sum(row[n] for n in PERSONAL_BUDGETS), row["people_total"])
            for row in councils.filter(councils["period"] == period).iter_rows(named=True)
        }
        for period in periods
    }
    pairs = [
        (periods[i % (len(periods) - 1)], periods[i % (len(periods) - 1) + 1]) for i in range(9)
    ]

    def funnels() -> None:
        for before, after in pairs:
            codes = sorted(set(by_period[before]) & set(by_period[after]))
            change_funnel(
                [by_period[before][c][0] for c in codes],
                [by_period[before][c][1] for c in codes],
                [by_period[after][c][0] for c in codes],
                [by_period[after][c][1] for c in codes],
            )

    seconds = median_seconds(funnels, args.runs)
    print(f"change funnels, 152 councils x 9 pairs of periods: {seconds:.3f} s")
    seconds = median_seconds(
        lambda: transitions_context(result.tables, periods, thresholds.series_breaks), args.runs
    )
    print(f"report sections (funnel and transitions charts drawn): {seconds:.3f} s")


if __name__ == "__main__":
    main()
