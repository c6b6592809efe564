"""Time `returns aggregate` on every council's returns for ten years: cold, then one file changed.

A report, not a test: it prints medians, peak memory and the file count, and asserts
nothing.

    python benchmarks/aggregate.py                      # 152 councils x 2010-11..2019-20
    python benchmarks/aggregate.py --councils 20 --periods 3 --runs 1

The returns come from tools.synth.national without Clients sheets (about 1,520
small workbooks, the active councils of each period: Bournemouth, Poole and Dorset
County give way to Bournemouth, Christchurch and Poole and Dorset Council in 2019-20).
They are generated once and cached under benchmarks/.cache/aggregate/. Each run, in
fresh processes:

  cold   returns aggregate DIR --out OUT --cache-dir EMPTY --quiet
  warm   the same again, after one file's content was replaced (the same council and
         period generated with another seed), with the cache the cold run filled.

The changed file is put back after each run, so the cached returns stay as generated.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = HERE / ".cache" / "aggregate"  # git-ignored: regenerated on demand

sys.path.insert(0, str(REPO))
from returns_kit.periods import Period  # noqa: E402
from returns_kit.reference import load_reference  # noqa: E402

FIRST_PERIOD = "2010-11"


def periods_from(first: str, count: int) -> list[str]:
    start = Period.parse(first)
    if start is None:
        raise SystemExit(f"--first-period must look like 2010-11, not {first!r}")
    return [str(Period(start.start_year + i)) for i in range(count)]


def chosen_councils(first: str, count: int | None) -> list[str]:
    """The first ``count`` councils active in the first period (all when None)."""
    start = Period.parse(first)
    assert start is not None
    codes = [c.gss_code for c in load_reference().active(start)]
    return codes if count is None else codes[:count]


def ensure_returns(
    councils: list[str], periods: list[str], seed: int, all_councils: bool
) -> tuple[Path, dict[str, object]]:
    """The cached folder of returns and its facts, generated on first use."""
    name = f"{'all' if all_councils else len(councils)}c-{periods[0]}-{len(periods)}p-seed{seed}"
    folder = CACHE / name
    facts_path = CACHE / f"{name}.json"
    if not (folder.is_dir() and facts_path.exists()):
        from tools.synth.national import generate_national

        shutil.rmtree(folder, ignore_errors=True)
        tmp = CACHE / f"{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        t0 = time.perf_counter()
        paths = generate_national(
            tmp,
            periods=periods,
            seed=seed,
            clients=False,
            councils=None if all_councils else councils,
        )
        elapsed = time.perf_counter() - t0
        facts = {
            "files": len(paths),
            "bytes": sum(p.stat().st_size for p in paths),
            "generate_s": round(elapsed, 1),
        }
        tmp.rename(folder)  # never leave a half-generated folder in the cache
        facts_path.write_text(json.dumps(facts, indent=1))
    return folder, json.loads(facts_path.read_text())


def aggregate_command(
    folder: Path, out: Path, cache_dir: Path, extra: list[str]
) -> tuple[list[str], dict[str, str]]:
    """`returns aggregate`, from the venv that runs this script."""
    args = ["aggregate", str(folder), "--out", str(out), "--cache-dir", str(cache_dir), "--quiet"]
    args += extra
    env = dict(os.environ)
    script = Path(sys.executable).parent / "returns"
    if script.exists():
        return [str(script), *args], env
    # Not installed (e.g. a bare checkout): the same entry point, importable from the repo.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    entry = "import sys; from returns_kit import cli; sys.exit(cli.run())"
    return [sys.executable, "-c", entry, *args], env


def run_once(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall seconds, exit code and peak RSS in KiB of one fresh process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        # wait4 gives this child's own rusage (as in validate.py), so each run's peak is
        # its own; on Linux it is the largest of the process and its waited-for children.
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read()
    if code != 0:  # 1 may mean an input was excluded; show why, whatever it was
        tail = stderr.decode(errors="replace").strip().splitlines()[-5:]
        print(f"  exit {code}: " + " | ".join(tail), file=sys.stderr)
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    return elapsed, code, rss


def changed_content(path: Path, periods: list[str], seed: int) -> bytes:
    """The bytes of ``path``'s return generated with another seed."""
    from tools.synth.national import national_return
    from tools.synth.write import write_xlsx

    code, period = path.stem.split("-", 1)
    ret = national_return(code, period, periods=periods, seed=seed, clients=False)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / path.name
        write_xlsx(ret, target)
        return target.read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--councils",
        type=int,
        default=None,
        help="the first N councils active in the first period, and their successors "
        "(default: all, 152 in 2010-11)",
    )
    parser.add_argument("--periods", type=int, default=10, help="consecutive periods (10)")
    parser.add_argument("--first-period", default=FIRST_PERIOD, help="(2010-11)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command (3)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (0)")
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="ARG",
        help="one more argument for returns aggregate, e.g. --extra=--no-report (repeatable)",
    )
    args = parser.parse_args()

    periods = periods_from(args.first_period, args.periods)
    councils = chosen_councils(args.first_period, args.councils)
    folder, facts = ensure_returns(councils, periods, args.seed, args.councils is None)
    files = sorted(folder.glob("*.xlsx"))
    print(f"returns   {folder.relative_to(REPO)}")
    print(
        f"files     {len(files):,} ({len(councils)} councils from {periods[0]}, "
        f"{periods[0]}..{periods[-1]}), {int(str(facts['bytes'])) / 1e6:.1f} MB"
    )
    print(f"generated in {facts['generate_s']} s (cached)")

    # The file to change: a council in the middle of the list, in the last period.
    last = [f for f in files if f.stem.endswith(periods[-1])]
    target = last[len(last) // 2]
    original = target.read_bytes()
    changed = changed_content(target, periods, args.seed + 1)
    if changed == original:
        raise SystemExit(f"regenerating {target.name} with another seed gave the same bytes")
    print(f"changed   {target.name} (regenerated with seed {args.seed + 1} before each warm run)")

    results: dict[str, list[tuple[float, int, int]]] = {"cold": [], "warm": []}
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="aggregate-bench-") as tmp:
            cache_dir, out = Path(tmp) / "cache", Path(tmp) / "out"
            cache_dir.mkdir()
            cmd, env = aggregate_command(folder, out, cache_dir, args.extra)
            if i == 0:
                print(f"\ncommand: {shlex.join(cmd)}")
            cold = run_once(cmd, env)
            try:
                target.write_bytes(changed)
                warm = run_once(cmd, env)
            finally:
                target.write_bytes(original)
        for name, r in (("cold", cold), ("warm", warm)):
            results[name].append(r)
        print(
            f"  run {i + 1}: cold {cold[0]:7.2f} s exit {cold[1]} {cold[2] / 1024:7.1f} MiB"
            f"   warm {warm[0]:7.2f} s exit {warm[1]} {warm[2] / 1024:7.1f} MiB"
        )

    print()
    for name, rs in results.items():
        median = statistics.median(r[0] for r in rs)
        peak = max(r[2] for r in rs) / 1024
        print(
            f"{name:5} median {median:7.2f} s   peak RSS {peak:7.1f} MiB   ({len(files):,} files)"
        )
    print("peak RSS: the largest single process (the command or one of its workers), by wait4")


if __name__ == "__main__":
    main()
