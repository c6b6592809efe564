"""Time and peak memory of `returns validate` on a large return with a wide sheet (past Z).

A report, not a test. The return is a valid Kent return plus a "Workings" sheet of numbers
from A to BH (60 columns, or ``--columns``), the kind of scratch sheet an officer keeps beside
the return: it is ignored (F006, info), but measured like every sheet before calamine reads
the workbook. Its rows are chosen so that the file is about ``--mb`` MB on disk, within every
limit. ``--columns 26`` gives an ordinary sheet of the same size, to compare with.

    python benchmarks/wide.py --mb 40 --runs 3
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = HERE / ".cache"  # git-ignored
COUNCIL, PERIOD = "E10000016", "2016-17"
#: Bytes on disk one cell of Workings takes once deflated (measured on the generator's own).
CELL_BYTES_ON_DISK = 6.2

sys.path.insert(0, str(REPO))  # this checkout's returns_kit, installed or not
from returns_kit.workbook.reader import column_letter  # noqa: E402


def _workings_rows(rows: int, columns: int, seed: int, stray: bool = False) -> bytes:
    rng = random.Random(seed)
    letters = [column_letter(i) for i in range(columns)]
    out = [
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheetData>"
    ]
    for row in range(1, rows + 1):
        cells = "".join(
            f'<c r="{letter}{row}"><v>{rng.randrange(100_000) / 100}</v></c>' for letter in letters
        )
        if stray and row == 1:
            cells += '<c r="XFD1" s="0"/>'  # a formatted, empty cell: sends it to be measured
        out.append(f'<row r="{row}">{cells}</row>'.encode())
    out.append(b"</sheetData></worksheet>")
    return b"".join(out)


def add_workings(
    source: Path, path: Path, rows: int, columns: int, seed: int, stray: bool = False
) -> None:
    """``source`` plus a Workings sheet of ``rows`` by ``columns`` cells, written to ``path``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "xl/workbook.xml":
                sheet = b'<sheet name="Workings" sheetId="99" r:id="rIdWorkings"/>'
                data = data.replace(b"</sheets>", sheet + b"</sheets>")
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdWorkings" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/worksheet" '
                    b'Target="worksheets/workings.xml"/></Relationships>',
                )
            elif info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/worksheets/workings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
                )
            new.writestr(info.filename, data)
        new.writestr("xl/worksheets/workings.xml", _workings_rows(rows, columns, seed, stray))


def ensure_workbook(mb: int, columns: int, seed: int, stray: bool = False) -> Path:
    extra = "-stray" if stray else ""
    path = CACHE / f"wide-{COUNCIL}-{mb}mb-{columns}cols{extra}-seed{seed}.xlsx"
    if path.exists():
        return path
    sys.path.insert(0, str(REPO))
    from tools.synth import generate_return, write_xlsx

    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "base.xlsx"
        ret = generate_return(COUNCIL, PERIOD, seed=seed, people=27000, with_clients=True)
        write_xlsx(ret, base)
        room = mb * 1024 * 1024 - base.stat().st_size
        rows = max(1, int(room / (CELL_BYTES_ON_DISK * columns)))
        tmp = Path(folder) / "wide.xlsx"
        add_workings(base, tmp, rows, columns, seed, stray)
        tmp.replace(path)
    return path


def run_once(path: Path) -> tuple[float, float, list[str]]:
    """Seconds, peak RSS (MiB) and rules found of `returns validate PATH`, in a fresh process."""
    code = (
        "import resource, sys, json; from returns_kit.cli import main; "
        "code = main(['validate', sys.argv[1], '--format', 'json']); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    seconds = time.perf_counter() - start
    peak = int(done.stderr.strip().splitlines()[-1]) / 1024
    files = json.loads(done.stdout)["files"]
    return seconds, peak, sorted({f["rule"] for f in files[0]["findings"]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=40, help="size of the return on disk")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--columns", type=int, default=60, help="Workings columns (26 or fewer: an ordinary sheet)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--stray",
        action="store_true",
        help="add a formatted empty cell at XFD1, so the sheet is measured exactly",
    )
    args = parser.parse_args()
    path = ensure_workbook(args.mb, args.columns, args.seed, args.stray)
    with zipfile.ZipFile(path) as archive:
        inflated = sum(info.file_size for info in archive.infolist())
    runs = [run_once(path) for _ in range(args.runs)]
    seconds = statistics.median(run[0] for run in runs)
    peak = max(run[1] for run in runs)
    size = path.stat().st_size / 1024 / 1024
    print(f"file: {path.name}, {size:.1f} MB on disk, {inflated / 1024 / 1024:.0f} MB inflated")
    print(f"rules found: {', '.join(runs[0][2]) or 'none'}")
    print(
        f"median {seconds:.2f} s over {args.runs} runs, {size / seconds:.1f} MB/s on disk, "
        f"{inflated / 1024 / 1024 / seconds:.0f} MB/s inflated; peak RSS {peak:.0f} MiB"
    )


if __name__ == "__main__":
    main()
