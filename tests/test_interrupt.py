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
  the swap, just after the swap, and after the swap as the old outputs are being deleted.

On Linux the swap is one atomic exchange of the two folders (renameat2). Elsewhere, or where
the file system cannot exchange, it is two renames, --out moved aside to ``.<out>.old-*``
and then staging in; a kill between the two leaves no --out, and the next run puts the
previous outputs back. The cases marked ``fallback`` force the two renames, on Linux too.

Every folder a run makes beside --out holds an ``.owner`` file naming the run's process;
the next run removes those whose process has gone, and never those of a running one.

The tables are written without report.html (``--no-report``): the swap does not depend on
which outputs are in the staging folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from returns_kit.aggregate import write
from returns_kit.aggregate.write import OWNER, check_destination, write_outputs
from returns_kit.cli import cli
from tools.synth import generate_return, write_xlsx

COUNCILS = ("E06000001", "E06000002", "E06000003", "E06000004", "E06000005", "E06000006")
Snapshot = dict[str, bytes]

#: Run the CLI with one step of write_outputs made fatal (SIGKILL), chosen by KILL_AT; with
#: FALLBACK set, the swap is made by two renames as where the folders cannot be exchanged.
HOOK = textwrap.dedent(
    """
    import os, shutil, signal, sys, tempfile
    from pathlib import Path

    import polars as pl

    from returns_kit import cli
    from returns_kit.aggregate import write

    def die(*_args, **_kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if os.environ.get("FALLBACK"):
        write._exchange = lambda *_args: False
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
        write._swap = die
    elif point == "exchanged":
        exchange = write._exchange
        def exchanged(*a):
            if not exchange(*a):
                sys.exit("the folders could not be exchanged")
            die()
        write._exchange = exchanged
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
            if any(part.startswith(".out.") for part in Path(path).parts):
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
        ret = generate_return(code, "2015-16", seed=index, people=40, with_clients=True)
        write_xlsx(ret, current / f"{code}.xlsx")
        if index < 2:
            shutil.copy(current / f"{code}.xlsx", previous / f"{code}.xlsx")
    _aggregate(previous, base / "previous-out")
    _aggregate(current, base / "new-out")
    old, new = _snapshot(base / "previous-out"), _snapshot(base / "new-out")
    assert old.keys() == new.keys() and old != new
    assert OWNER not in new  # the owner file stays beside the outputs, never among them
    assert all(old[name] != new[name] for name in ("manifest.csv", "councils.parquet"))
    return {"inputs": current, "previous": base / "previous-out", "old": old, "new": new}


def _start(
    runs: dict[str, Path | Snapshot],
    folder: Path,
    kill_at: str | None = None,
    *,
    fallback: bool = False,
    previous_outputs: bool = True,
) -> tuple[subprocess.Popen[bytes], Path]:
    """`returns aggregate` in a subprocess, into ``folder/out`` (first a copy of the previous
    run's outputs, unless ``previous_outputs`` is false), killed at ``kill_at``."""
    out = folder / "out"
    previous = runs["previous"]
    assert isinstance(previous, Path)
    if previous_outputs:
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
        if fallback:
            env["FALLBACK"] = "1"
    command += ["aggregate", str(runs["inputs"]), "--out", str(out), "--no-report", "--no-cache"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return process, out


def _killed(process: subprocess.Popen[bytes]) -> None:
    _, errors = process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL, errors.decode()


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


#: Where folders can be exchanged in one step (else the swap is always the fallback).
EXCHANGE = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="renameat2(RENAME_EXCHANGE) is Linux's"
)


@pytest.mark.parametrize(
    ("kill_at", "fallback", "expected"),
    [
        pytest.param("before-staging", False, "previous", id="before-staging-previous"),
        pytest.param("between-tables", False, "previous", id="between-tables-previous"),
        pytest.param("before-swap", False, "previous", id="before-swap-previous"),
        pytest.param("exchanged", False, "new", id="exchanged-new", marks=EXCHANGE),
        pytest.param("after-swap", False, "new", id="after-swap-new", marks=EXCHANGE),
        pytest.param("mid-swap", True, "previous", id="fallback-mid-swap-previous"),
        pytest.param("after-swap", True, "new", id="fallback-after-swap-new"),
    ],
)
@pytest.mark.slow
def test_killed_at_a_step(
    runs: dict[str, Path | Snapshot], tmp_path: Path, kill_at: str, fallback: bool, expected: str
) -> None:
    process, out = _start(runs, tmp_path, kill_at, fallback=fallback)
    _killed(process)
    left = sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".out."))
    if kill_at in ("between-tables", "before-swap"):
        assert len(left) == 1 and left[0].startswith(".out.new-")  # the staging folder
    if kill_at in ("exchanged", "after-swap") and not fallback:
        # Exchanged: the previous outputs are where the staging folder's were.
        assert len(left) == 1 and left[0].startswith(".out.new-")
        assert _snapshot(tmp_path / left[0] / "outputs") == runs["old"]
    if fallback:
        # The staging folder, and --out moved aside.
        assert len(left) == 2 and left[0].startswith(".out.new-")
        assert left[1].startswith(".out.old-")
        assert _snapshot(tmp_path / left[1] / "outputs") == runs["old"]
    if kill_at == "mid-swap":
        assert not out.exists()
        # The next run, killed before it makes its staging folder, has put them back.
        process, _ = _start(runs, tmp_path, "before-staging", previous_outputs=False)
        _killed(process)
    try:
        assert _outcome(runs, out) == expected
    finally:
        # Whatever the outcome, the next run is not stopped by what is left behind.
        _next_run_replaces(runs, out)
    # ...and removes it, its process being gone.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["hook.py", "out"]


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
            lambda: any(
                (staging / "outputs" / "tables.xlsx").exists() for staging in _staging(tmp_path)
            ),
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


#: Tables enough for write_outputs: manifest.csv marks --out as an aggregate's folder.
TABLES = {"manifest": pl.DataFrame({"file": ["a.xlsx"], "status": ["used"]})}


@pytest.fixture
def running() -> Iterator[int]:
    """The process id of another process, running until the test ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        yield process.pid
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=60)


@pytest.fixture
def gone() -> int:
    """The process id of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=60)
    return process.pid


def _left(folder: Path, name: str, owner: int | None, *, hours_old: float = 0) -> Path:
    """A folder as a run leaves beside --out, with outputs/ and (unless None) its owner."""
    left = folder / name
    (left / "outputs").mkdir(parents=True)
    (left / "outputs" / "manifest.csv").write_text("file,status\n")
    if owner is not None:
        (left / OWNER).write_text(f"{owner}\n")
    if hours_old:
        then = time.time() - hours_old * 3600
        os.utime(left, (then, then))
    return left


def test_a_run_removes_only_what_ended_runs_left(tmp_path: Path, running: int, gone: int) -> None:
    out = tmp_path / "out"
    write_outputs(TABLES, out)
    ended = [
        _left(tmp_path, ".out.new-abcd1234", gone),
        _left(tmp_path, ".out.old-abcd1234", gone),
        _left(tmp_path, ".out.new-0ld_0wnr", None, hours_old=2),  # from an older returns_kit
    ]
    kept = [
        _left(tmp_path, ".out.new-efgh5678", running),  # a run writing its outputs
        _left(tmp_path, ".out.old-efgh5678", running),  # a run between its two renames
        _left(tmp_path, ".out.new-n0_0wner", None),  # a run that has just made it
        _left(tmp_path, ".out2.new-abcd1234", gone),  # another --out's
        _left(tmp_path, ".out.new-abcd12345", gone),  # not a name a run gives
    ]
    write_outputs(TABLES, out)
    assert not any(folder.exists() for folder in ended)
    assert all((folder / "outputs" / "manifest.csv").exists() for folder in kept)
    assert sorted(path.name for path in out.iterdir()) == [
        "manifest.csv",
        "manifest.parquet",
        "tables.xlsx",
    ]


def test_outputs_moved_aside_are_put_back_only_when_their_run_has_ended(
    tmp_path: Path, running: int, gone: int
) -> None:
    out = tmp_path / "out"
    mid_swap = _left(tmp_path, ".out.old-efgh5678", running)
    check_destination(out)
    assert not out.exists() and (mid_swap / "outputs").is_dir()
    earlier = _left(tmp_path, ".out.old-abcd1234", gone, hours_old=1)
    killed = _left(tmp_path, ".out.old-ijkl9012", gone)
    (killed / "outputs" / "manifest.csv").write_text("file,status\nlatest.xlsx,used\n")
    check_destination(out)  # the latest of the killed runs' outputs
    assert (out / "manifest.csv").read_text() == "file,status\nlatest.xlsx,used\n"
    assert (earlier / "outputs").is_dir() and (mid_swap / "outputs").is_dir()


@pytest.fixture
def umask() -> Iterator[int]:
    mask = 0o027
    previous = os.umask(mask)
    try:
        yield mask
    finally:
        os.umask(previous)


@pytest.mark.parametrize("swap", ["new", "exchange", "fallback"])
def test_out_has_the_mode_the_umask_gives(
    tmp_path: Path, umask: int, swap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    if swap != "new":
        write_outputs(TABLES, out)
        out.chmod(0o700)
    if swap == "fallback":
        monkeypatch.setattr(write, "_exchange", lambda *_args: False)
    write_outputs(TABLES, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask
    assert stat.S_IMODE((out / "manifest.csv").stat().st_mode) == 0o666 & ~umask
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
