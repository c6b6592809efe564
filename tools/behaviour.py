"""Capture what the product writes, so a restructure can be shown to change none of it.

A refactor that moves modules must leave every output byte alone. This captures, through
the command line only (so it runs on any commit, before or after a move):

- ``returns validate --format json`` of every fixture in ``fixtures/valid`` and
  ``fixtures/invalid`` (stdout and exit status, one file each);
- the tables of ``returns aggregate fixtures/national --no-report --no-cache`` (every file
  of --out except tables.xlsx, whose zip is compared member by member), and its summary
  line on stdout;
- ``returns template --council E06000001 --period 2013-14`` (the bytes; its zip members
  carry a fixed time, so the whole file should be identical).

Usage, from a worktree root::

    python tools/behaviour.py capture /tmp/before     # on the commit before the change
    python tools/behaviour.py capture /tmp/after      # after it
    python tools/behaviour.py compare /tmp/before /tmp/after
    python tools/behaviour.py compare /tmp/before /tmp/after --ignore-key params \
        --ignore-key version

``--ignore-key`` drops a key wherever it appears in two JSON outputs before comparing them:
for a change that adds a field on purpose (the report's ``params`` in version 1.1), so that
everything else is still shown to be the same.
``compare`` prints every difference and exits 1 when there is one. Not a test: it takes a
minute or two (one process per fixture) and compares two checkouts, not one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _returns(*args: str, out: Path | None = None) -> tuple[int, bytes]:
    """Run ``returns`` from this checkout (its tree first on the path); exit status, stdout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "returns_kit", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=False,
    )
    return done.returncode, done.stdout


def capture(folder: Path) -> None:
    """Write every captured output under ``folder`` (which must not exist yet)."""
    folder.mkdir(parents=True)
    validate = folder / "validate"
    validate.mkdir()
    for fixture in sorted([*ROOT.glob("fixtures/valid/*"), *ROOT.glob("fixtures/invalid/*")]):
        if fixture.is_dir():
            continue
        # Relative to the checkout (the command runs there), so that two checkouts in
        # different folders report the same path.
        relative = fixture.relative_to(ROOT)
        status, stdout = _returns("validate", "--format", "json", str(relative))
        name = f"{fixture.parent.name}__{fixture.name}"
        (validate / f"{name}.json").write_bytes(stdout)
        (validate / f"{name}.status").write_text(f"{status}\n")
    status, stdout = _returns(
        "aggregate", "fixtures/national", "--out", str(folder / "aggregate"),
        "--no-report", "--no-cache",
    )  # fmt: skip
    (folder / "aggregate.status").write_text(f"{status}\n")
    # The summary line names --out, which differs between captures.
    (folder / "aggregate.stdout").write_bytes(stdout.replace(str(folder).encode(), b"CAPTURE"))
    status, _ = _returns(
        "template", "--council", "E06000001", "--period", "2013-14", str(folder / "template.xlsx")
    )
    (folder / "template.status").write_text(f"{status}\n")


def _zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _without(value: object, keys: frozenset[str]) -> object:
    """A JSON value with ``keys`` removed from every object in it."""
    if isinstance(value, dict):
        return {k: _without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(v, keys) for v in value]
    return value


def compare(before: Path, after: Path, ignore: frozenset[str] = frozenset()) -> list[str]:
    """Every difference between two captures, one line each; empty when identical."""
    differences = []
    names_before = {p.relative_to(before) for p in before.rglob("*") if p.is_file()}
    names_after = {p.relative_to(after) for p in after.rglob("*") if p.is_file()}
    for name in sorted(names_before ^ names_after):
        side = "before" if name in names_before else "after"
        differences.append(f"{name}: only {side}")
    for name in sorted(names_before & names_after):
        old, new = (before / name).read_bytes(), (after / name).read_bytes()
        if old == new:
            continue
        if name.suffix == ".json" and ignore:
            try:
                same = _without(json.loads(old), ignore) == _without(json.loads(new), ignore)
            except ValueError:
                same = False
            if same:
                continue
        if name.suffix == ".xlsx":
            # A workbook may differ only in a zip header (a timestamp): then its members agree.
            members_old, members_new = _zip_members(before / name), _zip_members(after / name)
            if members_old == members_new:
                differences.append(f"{name}: zip bytes differ, every member identical")
                continue
            changed = sorted(
                m for m in members_old.keys() | members_new.keys()
                if members_old.get(m) != members_new.get(m)
            )  # fmt: skip
            differences.append(f"{name}: members differ: {', '.join(changed)}")
            continue
        differences.append(f"{name}: bytes differ")
    return differences


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "capture":
        capture(Path(argv[1]))
        return 0
    if len(argv) >= 3 and argv[0] == "compare" and len(argv) % 2 == 1:
        before, after = Path(argv[1]), Path(argv[2])
        options = argv[3:]
        if any(flag != "--ignore-key" for flag in options[::2]):
            print(__doc__, file=sys.stderr)
            return 2
        differences = compare(before, after, frozenset(options[1::2]))
        files = sum(1 for p in before.rglob("*") if p.is_file())
        for line in differences:
            print(line)
        print(json.dumps({"files": files, "differences": len(differences)}))
        return 1 if differences else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
