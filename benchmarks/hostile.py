"""Time and peak memory of `returns validate` refusing hostile workbooks, each in a fresh process.

A report, not a test: the tests check that each file is refused with the right rule and
without the memory blowing up; this script says how fast and how small.

    python benchmarks/hostile.py
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import struct
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"


def _small_xlsx() -> bytes:
    book = openpyxl.Workbook()
    book.active["A1"] = "x"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rezip(source: bytes, path: Path, replace: dict[str, bytes]) -> Path:
    with (
        zipfile.ZipFile(io.BytesIO(source)) as old,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new,
    ):
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info.filename)))
    return path


def zip_bomb(folder: Path) -> Path:
    """A workbook with a 700 MB member of zeros (about 700 KB on disk)."""
    path = _rezip(_small_xlsx(), folder / "bomb.xlsx", {})
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/worksheets/sheet2.xml", "w", force_zip64=True) as member:
            for _ in range(700):
                member.write(zeros)
    return path


def lying_header(folder: Path) -> Path:
    """A sheet that inflates to 300 MB while both its headers declare 1,000 bytes."""
    source = _small_xlsx()
    sheet = zipfile.ZipFile(io.BytesIO(source)).read(SHEET)
    head, tail = sheet.split(b"<sheetData>")
    path = _rezip(
        source, folder / "lying.xlsx", {SHEET: head + b"<sheetData>" + b" " * (300 << 20) + tail}
    )
    data = bytearray(path.read_bytes())
    name = SHEET.encode()
    at = data.find(name)
    while at >= 0:
        if data[at - 30 : at - 26] == b"PK\x03\x04":
            struct.pack_into("<I", data, at - 30 + 22, 1000)
        elif data[at - 46 : at - 42] == b"PK\x01\x02":
            struct.pack_into("<I", data, at - 46 + 24, 1000)
        at = data.find(name, at + 1)
    path.write_bytes(bytes(data))
    return path


def billion_laughs(folder: Path) -> Path:
    entities = "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10 if i else "lol"}">' for i in range(10)
    )
    sheet = (
        f'<?xml version="1.0"?><!DOCTYPE w [{entities}]><worksheet xmlns="http://schemas.'
        'openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" '
        't="inlineStr"><is><t>&l9;</t></is></c></row></sheetData></worksheet>'
    )
    return _rezip(_small_xlsx(), folder / "laughs.xlsx", {SHEET: sheet.encode()})


def grid_elsewhere(folder: Path) -> Path:
    """A1 and XFD1048576 filled, the sheet in xl/data/ (where calamine follows the workbook)."""
    book = openpyxl.Workbook()
    book.active["A1"] = 1
    book.active["XFD1048576"] = 2
    buffer = io.BytesIO()
    book.save(buffer)
    path = folder / "grid-elsewhere.xlsx"
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as old,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new,
    ):
        for info in old.infolist():
            data = old.read(info).replace(b"/xl/worksheets/", b"/xl/data/")
            new.writestr(info.filename.replace("xl/worksheets/", "xl/data/"), data)
    return path


def ods_repeats(folder: Path) -> Path:
    """An .ods of under 1 KB whose one row of 16,384 values repeats 100,000 times."""
    namespaces = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {namespaces}>'
        '<office:body><office:spreadsheet><table:table table:name="Budgets">'
        '<table:table-row table:number-rows-repeated="100000"><table:table-cell '
        'office:value-type="float" office:value="1" table:number-columns-repeated="16384"/>'
        "</table:table-row></table:table></office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    path = folder / "repeats.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


def not_a_zip(folder: Path) -> Path:
    path = folder / "text.xlsx"
    path.write_text("council_code,period\nE06000001,2013-14\n")
    return path


def measure(path: Path, runs: int) -> tuple[float, float, str]:
    """Median seconds and peak RSS (MiB) of `returns validate PATH` in fresh processes."""
    times, peaks, rule = [], [], ""
    for _ in range(runs):
        read, write = os.pipe()
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.dup2(write, 1)
            os.execv(
                sys.executable,
                [sys.executable, "-m", "returns_kit", "validate", str(path), "--format", "json"],
            )
        os.close(write)
        output = b""
        while chunk := os.read(read, 65536):
            output += chunk
        _, _, usage = os.wait4(pid, 0)
        times.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss / 1024)
        rule = output.split(b'"rule": "', 1)[1][:4].decode() if b'"rule"' in output else "none"
    return statistics.median(times), max(peaks), rule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        print(f"{'file':<16} {'size':>10} {'rule':>5} {'median s':>9} {'peak MiB':>9}")
        makers = (zip_bomb, lying_header, billion_laughs, grid_elsewhere, ods_repeats, not_a_zip)
        for make in makers:
            path = make(base)
            seconds, peak, rule = measure(path, args.runs)
            print(
                f"{make.__name__:<16} {path.stat().st_size:>10,} {rule:>5} {seconds:>9.3f} "
                f"{peak:>9.1f}"
            )


if __name__ == "__main__":
    main()
