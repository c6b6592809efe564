"""Time `returns aggregate fixtures/national --publish` and count what it suppresses.

A report, not a test: it prints the wall time of each run (median), the peak memory of
the run's whole process tree (the CLI and its worker processes, sampled from /proc every
20 ms), the attacker's LP count and the cells suppressed, split into counts and rate
numerators (cells no table shows, whose suppression blanks a rate).

    python benchmarks/publish.py                 # 3 runs, cache warmed first
    python benchmarks/publish.py --runs 1
    python benchmarks/publish.py --full-breakdown --limit 120 --cache-dir DIR

Each run is a fresh process with the validation cache already filled, so it measures
reading the cached returns, building the tables and protecting them. --full-breakdown
instead times the protection of ONE period of the council x age band x support reason
breakdown (the level --publish leaves out), stopping after --limit seconds, to show
whether that level fits the time bar.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NATIONAL = REPO / "fixtures" / "national"


def tree_rss(root: int) -> int:
    """Resident memory in bytes of ``root`` and every process descended from it."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, parent = int(entry), int(fields[1])
        children.setdefault(parent, []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run(out: Path, cache: Path) -> tuple[float, int]:
    """One run: wall seconds and peak memory of the process tree."""
    command = [
        sys.executable,
        "-m",
        "returns_kit",
        "aggregate",
        str(NATIONAL),
        "--out",
        str(out),
        "--publish",
        "--quiet",
        "--no-report",
        "--cache-dir",
        str(cache),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss(process.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"returns aggregate failed with exit status {process.returncode}")
    return seconds, peak


def counts(out: Path) -> dict[str, int]:
    document = json.loads((out / "disclosure.json").read_text("utf-8"))
    numerators = ("pb_holders", "dp_people", "choice_people", "clients_people")
    found = {"linear_programs": document["linear_programs"]}
    for cell in document["cells"]:
        kind = "rate numerators" if cell["measure"] in numerators else "counts"
        name = f"{cell['reason']} {kind}"
        found[name] = found.get(name, 0) + 1
    return found


def full_breakdown(limit: float, cache: Path | None) -> None:
    """Protect one period of the full council breakdown, for at most ``limit`` seconds."""
    import signal

    import polars as pl

    sys.path.insert(0, str(REPO))
    from returns_kit.aggregate import publish
    from returns_kit.aggregate.run import AggregateOptions, aggregate
    from returns_kit.disclosure import primary_cells, protection

    with tempfile.TemporaryDirectory() as empty:
        options = AggregateOptions(cache_dir=cache or Path(empty))
        tables = aggregate([NATIONAL], options).tables
    period = sorted(set(tables["breakdowns"]["period"]))[0]
    tables = {**tables, "breakdowns": tables["breakdowns"].filter(pl.col("period") == period)}
    values, equations, derived = publish.period_system(tables, period)
    base = {k: v for k, v in values.items() if k[5] not in publish.DERIVED}
    print(
        f"full breakdown, {period}: {len(base):,} counts, {len(equations):,} relations, "
        f"{len(primary_cells(base)):,} counts of 1 to 4"
    )
    settled = [0, 0]

    def progress(done: int, total: int) -> None:
        settled[:] = [done, total]

    def stop(*_: object) -> None:
        raise TimeoutError

    signal.signal(signal.SIGALRM, stop)
    signal.alarm(int(limit))
    started = time.perf_counter()
    try:
        found = protection(values, equations, derived=derived, progress=progress)
    except TimeoutError:
        print(
            f"  stopped after {limit:.0f} s with {settled[0]:,} of {settled[1]:,} primary "
            "cells settled (0 of 0: still choosing cells before the first LP)"
        )
        return
    finally:
        signal.alarm(0)
    print(
        f"  protected in {time.perf_counter() - started:.1f} s: {len(found.secondary):,} "
        f"secondary cells, {found.linear_programs:,} LPs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--full-breakdown", action="store_true")
    parser.add_argument("--limit", type=float, default=120.0)
    parser.add_argument("--cache-dir", type=Path, help="validation cache for --full-breakdown")
    args = parser.parse_args()
    if args.full_breakdown:
        full_breakdown(args.limit, args.cache_dir)
        return
    with tempfile.TemporaryDirectory() as work:
        cache = Path(work) / "cache"
        run(Path(work) / "warm", cache)  # fills the validation cache
        times, peaks = [], []
        for number in range(args.runs):
            seconds, peak = run(Path(work) / f"out{number}", cache)
            times.append(seconds)
            peaks.append(peak)
        found = counts(Path(work) / "out0")
    load = os.getloadavg()[0]
    print(f"national example, --publish, {args.runs} run(s) on {os.cpu_count()} cores")
    each = ", ".join(f"{t:.2f}" for t in times)
    print(f"  wall: median {statistics.median(times):.2f} s (runs: {each})")
    print(f"  peak memory (process tree): {max(peaks) / 2**20:.0f} MiB")
    print(f"  load average at the end: {load:.1f} (other work on the machine slows every run)")
    for name, value in sorted(found.items()):
        print(f"  {name}: {value:,}")


if __name__ == "__main__":
    main()
