"""Time the screens of returns_kit.screening on 152 councils x 10 periods (target: 0.5 s).

A report, not a test: it prints the median of several runs and asserts nothing.

    python benchmarks/screening.py [--runs 5]

The panel is HSCIC's real counts (returns_kit/data/hscic_activity.csv, 2009-10 to
2013-14, nine measures) followed by five made-up years (2014-15 to 2018-19: each council's
2013-14 count times a seeded random walk), so that every screen sees ten periods.
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

from returns_kit.hscic import ENGLAND, load_activity  # noqa: E402
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


if __name__ == "__main__":
    main()
