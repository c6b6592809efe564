"""`returns aggregate` killed at any point leaves --out holding exactly the complete previous
outputs or exactly the complete new ones, never a mix; and what a killed run leaves behind
does not stop the next run.

Each case starts from an --out folder of a previous run (on fewer returns), runs
`returns aggregate` in a subprocess, and kills it with SIGKILL, which no handler can catch:

* from outside, as an operator or a time-limited job would: at once, when the staging
  folder ``.<out>.new-*`` appears beside --out, and once tables.xlsx is in it. Where the kill
  lands depends on timing, so these accept either outcome;
* from inside, at a chosen step, so that every step is covered whatever the timing: before
  the staging folder is made, between two tables, once every output is written but before
  the swap, between the two renames of the swap, and after the swap before the old outputs
  are deleted.

The tables are written without report.html (``--no-report``): the swap does not depend on
which outputs are in the staging folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from returns_kit.cli import cli
from returns_kit.synth import generate_return, write_xlsx

COUNCILS = ("E06000001", "E06000002", "E06000003", "E06000004", "E06000005", "E06000006")
Snapshot = dict[str, bytes]

#: Run the CLI with one step of write_outputs made fatal (SIGKILL), chosen by KILL_AT.
HOOK = textwrap.dedent(
    """
    import os, shutil, signal, sys, tempfile
    from pathlib import Path

    import polars as pl

    from returns_kit import cli

    def die(*_args, **_kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    point = os.environ["KILL_AT"]
    if point == "before-staging":
        make = tempfile.mkdtemp
        def staging(*a, **k):
            return die() if ".new-" in k.get("prefix", "") else make(*a, **k)
        tempfile.mkdtemp = staging
    elif point == "between-tables":
        write_csv, calls = pl.DataFrame.write_csv, []
        def counted(self, *a, **k):
            calls.append(1)
            if len(calls) == 3:
                die()
            return write_csv(self, *a, **k)
        pl.DataFrame.write_csv = counted
    elif point == "before-swap":
        from returns_kit.aggregate import write
        write._swap = die
    elif point == "mid-swap":
        replace = os.replace
        def replaced(source, target):
            replace(source, target)
            if Path(target).name == "outputs":  # --out moved aside, staging not yet in
                die()
        os.replace = replaced
    elif point == "after-swap":
        rmtree = shutil.rmtree
        def removing(path, *a, **k):
            if Path(path).name.startswith(".out.old-"):
                die()
            return rmtree(path, *a, **k)
        shutil.rmtree = removing
    sys.exit(cli.main(sys.argv[1:]))
    """
)


def _snapshot(folder: Path) -> Snapshot:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _aggregate(inputs: Path, out: Path) -> None:
    result = CliRunner().invoke(
        cli, ["aggregate", str(inputs), "--out", str(out), "--no-report", "--no-cache"]
    )
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | Snapshot]:
    """Inputs for the previous run (two councils) and the new one (six), with the complete
    outputs of each."""
    base = tmp_path_factory.mktemp("interrupt")
    previous, current = base / "previous-inputs", base / "inputs"
    previous.mkdir()
    current.mkdir()
    for index, code in enumerate(COUNCILS):
        ret = generate_return(code, "2015-16", seed=index, people=200, with_clients=True)
        write_xlsx(ret, current / f"{code}.xlsx")
        if index < 2:
            shutil.copy(current / f"{code}.xlsx", previous / f"{code}.xlsx")
    _aggregate(previous, base / "previous-out")
    _aggregate(current, base / "new-out")
    old, new = _snapshot(base / "previous-out"), _snapshot(base / "new-out")
    assert old.keys() == new.keys() and old != new
    assert all(old[name] != new[name] for name in ("manifest.csv", "councils.parquet"))
    return {"inputs": current, "previous": base / "previous-out", "old": old, "new": new}


def _start(
    runs: dict[str, Path | Snapshot], folder: Path, kill_at: str | None = None
) -> tuple[subprocess.Popen[bytes], Path]:
    out = folder / "out"
    previous = runs["previous"]
    assert isinstance(previous, Path)
    shutil.copytree(previous, out)
    command = [sys.executable]
    env = dict(os.environ)
    if kill_at is None:
        command += ["-m", "returns_kit"]
    else:
        hook = folder / "hook.py"
        hook.write_text(HOOK)
        command.append(str(hook))
        env["KILL_AT"] = kill_at
    command += ["aggregate", str(runs["inputs"]), "--out", str(out), "--no-report", "--no-cache"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return process, out


def _outcome(runs: dict[str, Path | Snapshot], out: Path) -> str:
    """ "previous" or "new": which complete set of outputs --out holds (fails on anything else)."""
    assert out.is_dir(), "--out is missing"
    found = _snapshot(out)
    if found == runs["old"]:
        return "previous"
    assert found == runs["new"], "--out holds a mix of previous and new outputs, or a part"
    return "new"


def _next_run_replaces(runs: dict[str, Path | Snapshot], out: Path) -> None:
    """What the killed run left (staging or retired folders beside --out, or no --out at all)
    does not stop the next run, which leaves the complete new outputs."""
    inputs = runs["inputs"]
    assert isinstance(inputs, Path)
    _aggregate(inputs, out)
    assert _snapshot(out) == runs["new"]


@pytest.mark.parametrize(
    ("kill_at", "expected"),
    [
        ("before-staging", "previous"),
        ("between-tables", "previous"),
        ("before-swap", "previous"),
        pytest.param(
            "mid-swap",
            "previous",
            marks=pytest.mark.xfail(
                strict=True,
                reason="between the swap's two renames --out does not exist: the previous "
                "outputs are in .out.old-*/outputs and nothing puts them back; a fix is "
                "needed in aggregate/write.py",
            ),
        ),
        ("after-swap", "new"),
    ],
)
def test_killed_at_a_step(
    runs: dict[str, Path | Snapshot], tmp_path: Path, kill_at: str, expected: str
) -> None:
    process, out = _start(runs, tmp_path, kill_at)
    _, errors = process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL, errors.decode()
    left = sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".out."))
    try:
        assert _outcome(runs, out) == expected
    finally:
        # Whatever the outcome, the next run is not stopped by what is left behind.
        _next_run_replaces(runs, out)
    if kill_at in ("between-tables", "before-swap"):
        assert len(left) == 1 and left[0].startswith(".out.new-")  # the staging folder
    if kill_at == "after-swap":
        assert len(left) == 1 and left[0].startswith(".out.old-")  # the previous outputs


def _kill_when(process: subprocess.Popen[bytes], ready: Callable[[], bool]) -> None:
    while process.poll() is None:
        if ready():
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.001)
    process.communicate(timeout=120)


def _staging(folder: Path) -> list[Path]:
    return sorted(folder.glob(".out.new-*"))


@pytest.mark.parametrize("when", ["at-once", "staging-appears", "staging-has-workbook"])
def test_killed_from_outside(runs: dict[str, Path | Snapshot], tmp_path: Path, when: str) -> None:
    process, out = _start(runs, tmp_path)
    if when == "at-once":
        _kill_when(process, lambda: True)
    elif when == "staging-appears":
        _kill_when(process, lambda: bool(_staging(tmp_path)))
    else:
        _kill_when(
            process,
            lambda: any((staging / "tables.xlsx").exists() for staging in _staging(tmp_path)),
        )
    outcome = _outcome(runs, out)
    if when == "at-once":
        assert outcome == "previous"
    _next_run_replaces(runs, out)


def test_an_uninterrupted_run_leaves_nothing_beside_out(
    runs: dict[str, Path | Snapshot], tmp_path: Path
) -> None:
    process, out = _start(runs, tmp_path)
    _, errors = process.communicate(timeout=120)
    assert process.returncode == 0, errors.decode()
    assert _outcome(runs, out) == "new"
    with contextlib.suppress(FileNotFoundError):
        (tmp_path / "hook.py").unlink()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
