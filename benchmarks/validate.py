"""Time `returns validate` on a large return against a bare polars read of the same file."""

# A report, not a test: it prints medians, the ratio and peak memory, and asserts nothing.
#     python benchmarks/validate.py --runs 5 --people 27000

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = HERE / ".cache"  # git-ignored: the workbook is regenerated on demand
COUNCIL, PERIOD = "E10000016", "2016-17"  # Kent: a large county, plausible at 27,000 people


def ensure_workbook(people: int, seed: int) -> tuple[Path, dict[str, object]]:
    """The cached benchmark workbook and its facts, generated on first use."""
    path = CACHE / f"{COUNCIL}-{PERIOD}-{people}p-seed{seed}.xlsx"
    facts_path = path.with_suffix(".json")
    if not (path.exists() and facts_path.exists()):
        sys.path.insert(0, str(REPO))
        from tools.synth import generate_return, write_xlsx

        CACHE.mkdir(exist_ok=True)
        t0 = time.perf_counter()
        ret = generate_return(COUNCIL, PERIOD, seed=seed, people=people, with_clients=True)
        t1 = time.perf_counter()
        tmp = path.with_suffix(".tmp.xlsx")
        write_xlsx(ret, tmp)
        tmp.replace(path)  # never leave a half-written workbook in the cache
        facts = {
            "rows": {name: len(grid) - 1 for name, grid in ret.sheets.items()},
            "generate_s": round(t1 - t0, 2),
            "write_s": round(time.perf_counter() - t1, 2),
        }
        facts_path.write_text(json.dumps(facts, indent=1))
    return path, json.loads(facts_path.read_text())


def validate_command(path: Path) -> tuple[list[str], dict[str, str]]:
    """`returns validate FILE --format json`, from the venv that runs this script."""
    env = dict(os.environ)
    script = Path(sys.executable).parent / "returns"
    if script.exists():
        return [str(script), "validate", str(path), "--format", "json"], env
    # Not installed (e.g. a bare checkout): the same entry point, importable from the repo.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    entry = (
        "import sys; from returns_kit import cli; "
        "sys.exit((getattr(cli, 'run', None) or cli.main)())"
    )
    return [sys.executable, "-c", entry, "validate", str(path), "--format", "json"], env


def bare_command(path: Path) -> list[str]:
    """Read every sheet with polars (fastexcel underneath): the floor for any validator."""
    code = f"import polars as pl; pl.read_excel({str(path)!r}, sheet_id=0)"
    return [sys.executable, "-c", code]


def run_once(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, int, bytes]:
    """Wall seconds, exit code, peak RSS in KiB, and stdout of one fresh process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        # wait4 gives this child's own rusage, so each run's peak RSS is its own
        # (RUSAGE_CHILDREN would be the running maximum over every child so far).
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode not in (0, 1):  # 1 may just mean "the return has errors"
        tail = stderr.decode(errors="replace").strip().splitlines()[-5:]
        print(f"  exit {proc.returncode}: " + " | ".join(tail), file=sys.stderr)
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    return elapsed, proc.returncode, rss, stdout


def summarise_findings(stdout: bytes) -> str:
    """A one-line summary of the validator's JSON output, whatever its exact shape."""
    try:
        data = json.loads(stdout)
    except ValueError:
        return f"not JSON ({len(stdout)} bytes)"
    findings: object = data
    if isinstance(data, dict):
        # {"files": [{"findings": [...]}, ...]} or {"findings": [...]}
        files = data.get("files")
        if isinstance(files, list):
            findings = [f for x in files if isinstance(x, dict) for f in x.get("findings", [])]
        else:
            findings = data.get("findings", data)
    if isinstance(findings, list):
        rules: dict[str, int] = {}
        for f in findings:
            if isinstance(f, dict):
                rules[str(f.get("rule"))] = rules.get(str(f.get("rule")), 0) + 1
        valid = f"valid={data.get('valid')}, " if isinstance(data, dict) else ""
        return f"{valid}{len(findings)} findings {rules}"
    return f"JSON {type(data).__name__} ({len(stdout)} bytes)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (default 5)")
    parser.add_argument("--people", type=int, default=27_000, help="people in the return")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    args = parser.parse_args()

    path, facts = ensure_workbook(args.people, args.seed)
    size_mb = path.stat().st_size / 1e6
    print(f"workbook  {path.relative_to(REPO)}  {size_mb:.1f} MB")
    print(f"rows      {facts['rows']}")
    print(f"generated in {facts['generate_s']} s, written in {facts['write_s']} s (cached)")

    validate_cmd, env = validate_command(path)
    commands = {"validate": (validate_cmd, env), "bare read": (bare_command(path), None)}
    results: dict[str, list[tuple[float, int, int, bytes]]] = {}
    for name, (cmd, cmd_env) in commands.items():
        print(f"\n{name}: {shlex.join(cmd)}")
        results[name] = []
        for i in range(args.runs):
            r = run_once(cmd, cmd_env)
            results[name].append(r)
            print(f"  run {i + 1}: {r[0]:7.2f} s  exit {r[1]}  peak RSS {r[2] / 1024:7.1f} MiB")

    print()
    medians = {name: statistics.median(r[0] for r in rs) for name, rs in results.items()}
    for name, rs in results.items():
        peak = max(r[2] for r in rs) / 1024
        print(f"{name:10} median {medians[name]:7.2f} s   peak RSS {peak:7.1f} MiB")
    if medians["bare read"] > 0:
        print(f"ratio validate / bare read: {medians['validate'] / medians['bare read']:.2f}")
    print(f"validate output (last run): {summarise_findings(results['validate'][-1][3])}")


if __name__ == "__main__":
    main()
