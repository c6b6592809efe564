"""Long fuzz run: damage the fixtures at random and validate each; report any internal error,
slow case or traceback, and keep the failing files.

    python benchmarks/fuzz.py --cases 5000 --seed 1
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tools/ (the damage generator) is never installed

from returns_kit.validate import validate_file  # noqa: E402
from tools.synth.damage import damage  # noqa: E402

SEEDS = sorted((ROOT / "fixtures" / "valid").iterdir())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=ROOT / "benchmarks" / ".cache" / "fuzz")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    args.keep.mkdir(parents=True, exist_ok=True)
    internal, slowest, started = 0, 0.0, time.perf_counter()
    for case in range(args.cases):
        source = rng.choice(SEEDS)
        path = args.keep / f"case{source.suffix}"
        path.write_bytes(damage(source.read_bytes(), rng))
        began = time.perf_counter()
        report = validate_file(path)
        slowest = max(slowest, time.perf_counter() - began)
        if any("internal error" in f.message for f in report.findings):
            internal += 1
            kept = args.keep / f"internal-{args.seed}-{case}{source.suffix}"
            path.rename(kept)
            print(f"internal error: {kept}")
    print(
        f"{args.cases} cases in {time.perf_counter() - started:.1f} s; "
        f"{internal} internal errors; slowest case {slowest:.2f} s"
    )


if __name__ == "__main__":
    main()
