"""Time `returns validate` on a large return against a bare polars read of the same file."""

# A report, not a test: it prints medians, spreads, the ratio, each stage's share and peak
# memory, and asserts nothing.
#     python benchmarks/validate.py --runs 9 --people 27000
# The machine this runs on may be shared: the two commands run interleaved (validate, bare,
# validate, bare, ...) so that a change of load falls on both, and each is reported as the
# median with its spread, in wall seconds and in CPU seconds (user + system of the process
# and its threads), which a busy machine disturbs less.
#     python benchmarks/validate.py --runs 9 --baseline /path/to/other/checkout
# also times `returns validate` from another checkout (say, main before a change), in the
# same interleaving, so that a before/after comparison sees the same load on both sides.
#
# The checkouts' bytecode is compiled first, as installing the package does: with
# PYTHONDONTWRITEBYTECODE set (as on some shared machines) every run would otherwise compile
# returns_kit's sources again, about 0.1 s that no installed copy pays (polars, installed,
# has its bytecode). --no-compile measures without it.

from __future__ import annotations

import argparse
import compileall
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = HERE / ".cache"  # git-ignored: the workbook is regenerated on demand
COUNCIL, PERIOD = "E10000016", "2016-17"  # Kent: a large county, plausible at 27,000 people


def ensure_workbook(people: int, seed: int) -> tuple[Path, dict[str, Any]]:
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


def _repo_env(repo: Path = REPO) -> dict[str, str]:
    """The checkout's returns_kit first on the path, whatever is installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo), env.get("PYTHONPATH")]))
    return env


def compile_bytecode(repo: Path) -> None:
    """Compile the checkout's package as installing it does (its __pycache__ is git-ignored)."""
    if not compileall.compile_dir(repo / "returns_kit", quiet=1):
        sys.exit(f"could not compile {repo / 'returns_kit'}")


def validate_command(path: Path, repo: Path = REPO) -> tuple[list[str], dict[str, str]]:
    """`returns validate FILE --format json`, as `python -m returns_kit` from a checkout.

    Not the installed `returns` script: in a worktree that would run another checkout. And
    -P: `python -m` puts the working directory before PYTHONPATH, so that a --baseline run
    from this checkout's root would time this checkout again.
    """
    command = [sys.executable, "-P", "-m", "returns_kit", "validate", str(path), "--format", "json"]
    return command, _repo_env(repo)


def bare_command(path: Path) -> list[str]:
    """Read every sheet with polars (fastexcel underneath): the floor for any validator."""
    code = f"import polars as pl; pl.read_excel({str(path)!r}, sheet_id=0)"
    return [sys.executable, "-c", code]


class Run(NamedTuple):
    wall: float  # seconds
    cpu: float  # user + system seconds, the process and its threads
    status: int
    rss_kib: int  # peak resident set
    stdout: bytes


def run_once(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    """Wall and CPU seconds, exit code, peak RSS in KiB, and stdout of one fresh process."""
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
    cpu = usage.ru_utime + usage.ru_stime
    return Run(elapsed, cpu, proc.returncode, rss, stdout)


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


def spread(values: list[float]) -> str:
    """Median, and the lowest and highest, of a list of seconds."""
    return f"{statistics.median(values):6.2f} s  ({min(values):.2f}-{max(values):.2f})"


# --- stages, measured inside one validate process --------------------------------------

#: Names in returns_kit.validate that are the stages of one validation, by stage. Wrapping
#: the names validate.py calls keeps the measurement on the real path, whatever the modules
#: behind them are called. A name that is not there is skipped (and said to be).
STAGES = {
    "container pass": ["inspect_container"],
    "reference list": ["load_reference"],
    "read (calamine)": ["WorkbookReader.open", "WorkbookReader.read"],
    "tables located": ["locate_table"],
    "cell checks": ["check_table"],
    "rules": ["run_rules"],
    "explanations": ["explanations", "mark_explained"],
    "summary": ["summarise"],
}


def _stage_child(path: str) -> None:
    """In a fresh process: import, then run the CLI with each stage timed; JSON on stdout."""
    import contextlib
    import functools
    import io

    t0, t0_cpu = time.perf_counter(), time.process_time()
    # What `returns validate` imports: the CLI at start-up, the rest once the command runs.
    from returns_kit import cli, reference, report  # noqa: F401
    from returns_kit import validate as validate_module

    spent: dict[str, float] = defaultdict(float)
    cpu: dict[str, float] = defaultdict(float)
    spent["imports"] = time.perf_counter() - t0
    cpu["imports"] = time.process_time() - t0_cpu
    missing = []

    def timed(stage: str, function: Any) -> Any:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start, start_cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[stage] += time.perf_counter() - start
                cpu[stage] += time.process_time() - start_cpu

        return wrapper

    for stage, names in STAGES.items():
        for name in names:
            owner_name, _, attribute = name.rpartition(".")
            owner: Any = getattr(validate_module, owner_name) if owner_name else validate_module
            raw = owner.__dict__.get(attribute) if owner_name else getattr(owner, attribute, None)
            if raw is None:
                missing.append(name)
                continue
            if isinstance(raw, classmethod):
                setattr(owner, attribute, classmethod(timed(stage, raw.__func__)))
            else:
                setattr(owner, attribute, timed(stage, raw))
    out = io.StringIO()
    t1, t1_cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        cli.main(["validate", path, "--format", "json"])
    # The rest of the command: option parsing, the report, its JSON.
    rest = time.perf_counter() - t1 - sum(v for k, v in spent.items() if k != "imports")
    rest_cpu = time.process_time() - t1_cpu - sum(v for k, v in cpu.items() if k != "imports")
    spent["CLI and output"], cpu["CLI and output"] = rest, rest_cpu
    print(json.dumps({"wall": spent, "cpu": cpu, "missing": missing}))


def import_groups(env: dict[str, str]) -> dict[str, float]:
    """Seconds of `python -X importtime` of what validate imports, by top-level package."""
    code = "from returns_kit import cli, reference, report, validate"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    groups: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line.split(":", 1)[1].split("|")  # self, cumulative, name
        groups[name.strip().split(".")[0]] += int(self_us) / 1e6
    return dict(groups)


def measure_stages(path: Path, runs: int) -> None:
    env = _repo_env()
    per_stage: dict[str, list[float]] = defaultdict(list)
    per_stage_cpu: dict[str, list[float]] = defaultdict(list)
    per_group: dict[str, list[float]] = defaultdict(list)
    missing: set[str] = set()
    for _ in range(runs):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--stage-child", str(path)]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        for stage, seconds in result["wall"].items():
            per_stage[stage].append(seconds)
            per_stage_cpu[stage].append(result["cpu"][stage])
        missing.update(result["missing"])
        for group, seconds in import_groups(env).items():
            per_group[group].append(seconds)
    print(f"\nstages inside one validate process (median of {runs}, lowest-highest):")
    for stage, values in per_stage.items():
        print(f"  {stage:16} wall {spread(values)}   CPU {spread(per_stage_cpu[stage])}")
    total = sum(statistics.median(v) for v in per_stage.values())
    total_cpu = sum(statistics.median(v) for v in per_stage_cpu.values())
    print(f"  {'sum of medians':16} wall {total:6.2f} s{'':15}CPU {total_cpu:6.2f} s")
    if missing:
        print(f"  (not found in returns_kit.validate, so not timed: {', '.join(sorted(missing))})")
    print(f"\nimports by package, python -X importtime self times (median of {runs}):")
    medians = {group: statistics.median(v) for group, v in per_group.items()}
    for group, seconds in sorted(medians.items(), key=lambda item: -item[1])[:12]:
        print(f"  {group:16} {seconds:6.3f} s")
    print(f"  {'all':16} {sum(medians.values()):6.3f} s")


def main() -> None:
    if sys.argv[1:2] == ["--stage-child"]:
        _stage_child(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of each command (default 9)")
    parser.add_argument("--people", type=int, default=27_000, help="people in the return")
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--no-stages", action="store_true", help="skip the per-stage times")
    parser.add_argument("--stages-only", action="store_true", help="only the per-stage times")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="CHECKOUT",
        help="also time `returns validate` from this other checkout, interleaved",
    )
    parser.add_argument(
        "--no-compile",
        action="store_true",
        help="do not compile the checkouts' bytecode first (as installing would)",
    )
    args = parser.parse_args()

    path, facts = ensure_workbook(args.people, args.seed)
    size_mb = path.stat().st_size / 1e6
    print(f"workbook  {path.relative_to(REPO)}  {size_mb:.1f} MB")
    print(f"rows      {facts['rows']}")
    print(f"generated in {facts['generate_s']} s, written in {facts['write_s']} s (cached)")
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    baseline = args.baseline.resolve() if args.baseline else None
    if not args.no_compile:
        for repo in filter(None, (REPO, baseline)):
            compile_bytecode(repo)
    print("bytecode: " + ("as the environment leaves it" if args.no_compile else "compiled"))

    if args.stages_only:
        measure_stages(path, args.runs)
        return
    validate_cmd, env = validate_command(path)
    commands = {"validate": (validate_cmd, env), "bare read": (bare_command(path), None)}
    if baseline is not None:
        commands["baseline"] = validate_command(path, baseline)
    for name, (cmd, cmd_env) in commands.items():
        where = f"  (from {cmd_env['PYTHONPATH'].split(os.pathsep)[0]})" if cmd_env else ""
        print(f"{name}: {shlex.join(cmd)}{where}")
    results: dict[str, list[Run]] = {name: [] for name in commands}
    for i in range(args.runs):  # interleaved, so that a change of load falls on both
        line = []
        for name, (cmd, cmd_env) in commands.items():
            r = run_once(cmd, cmd_env)
            results[name].append(r)
            line.append(f"{name} {r.wall:5.2f} s ({r.cpu:4.2f} s CPU, exit {r.status})")
        print(f"  run {i + 1}: " + "; ".join(line))

    print(f"\nmedian of {args.runs} (lowest-highest):")
    for name, rs in results.items():
        peak = max(r.rss_kib for r in rs) / 1024
        print(
            f"  {name:10} wall {spread([r.wall for r in rs])}   "
            f"CPU {spread([r.cpu for r in rs])}   peak RSS {peak:6.1f} MiB"
        )
    for name in [name for name in results if name != "bare read"]:
        for measure in ("wall", "cpu"):
            ours = [getattr(r, measure) for r in results[name]]
            bare = [getattr(r, measure) for r in results["bare read"]]
            pairs = sorted(a / b for a, b in zip(ours, bare, strict=True))
            of_medians = statistics.median(ours) / statistics.median(bare)
            print(
                f"ratio {name} / bare read, {measure}: {of_medians:.2f} (of the medians; run "
                f"by run {statistics.median(pairs):.2f}, {pairs[0]:.2f}-{pairs[-1]:.2f})"
            )
    print(f"validate output (last run): {summarise_findings(results['validate'][-1].stdout)}")
    if "baseline" in results and results["baseline"][-1].stdout != results["validate"][-1].stdout:
        print("  the baseline's output differs from this checkout's")
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if not args.no_stages:
        measure_stages(path, args.runs)


if __name__ == "__main__":
    main()
