"""Tests for the look inside a workbook file before any spreadsheet parser sees it."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from unittest import mock

import fastexcel
import openpyxl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msoffcrypto.format.ooxml import OOXMLFile

from returns_kit.config import Limits
from returns_kit.validate import validate_return
from returns_kit.workbook import extent as extent_module
from returns_kit.workbook import formulas as formulas_module
from returns_kit.workbook import stream as stream_module
from returns_kit.workbook.container import Container, inspect_container
from tools.synth import generate_return
from tools.synth import write_xlsx as write_synthetic_xlsx

from .conftest import examples, libreoffice_convert

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET_PART = "xl/worksheets/sheet1.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
ODS_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"'
)


# --- builders ---------------------------------------------------------------------------


def xlsx_bytes(cells: dict[str, object] | None = None, title: str = "Budgets") -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for address, value in (cells or {"A1": "age_band", "B1": "people_total", "B2": 12}).items():
        sheet[address] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_xlsx(path: Path, cells: dict[str, object] | None = None) -> Path:
    path.write_bytes(xlsx_bytes(cells))
    return path


def rezip(
    source: bytes,
    path: Path,
    replace: dict[str, bytes] | None = None,
    add: dict[str, bytes] | None = None,
) -> Path:
    """Copy a zip, swapping the contents of some members and adding others."""
    replace = replace or {}
    with (
        zipfile.ZipFile(io.BytesIO(source)) as old,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new,
    ):
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info)))
        for name, data in (add or {}).items():
            new.writestr(name, data)
    return path


def sheet_xml(cells_xml: str, *, root: str = "worksheet", prefix: str = "") -> bytes:
    """A worksheet part whose <sheetData> holds ``cells_xml`` (rows included)."""
    if prefix:
        cells_xml = cells_xml.replace("<", f"<{prefix}:").replace(f"<{prefix}:/", f"</{prefix}:")
        open_root = f'<{prefix}:{root} xmlns:{prefix}="{MAIN_NS}">'
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n{open_root}<{prefix}:sheetData>'
            f"{cells_xml}</{prefix}:sheetData></{prefix}:{root}>"
        ).encode()
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{MAIN_NS}"><sheetData>'
        f"{cells_xml}</sheetData></{root}>"
    ).encode()


def write_sheet(path: Path, cells_xml: str, **kwargs: str) -> Path:
    return rezip(xlsx_bytes(), path, replace={SHEET_PART: sheet_xml(cells_xml, **kwargs)})


def ods_content(tables: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<office:document-content {ODS_NAMESPACES} office:version="1.3">'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )


def write_ods(path: Path, tables: str, *, manifest_extra: str = "") -> Path:
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
        ' manifest:version="1.3">'
        '<manifest:file-entry manifest:full-path="/" manifest:version="1.3"'
        ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
        f"{manifest_extra}</manifest:file-entry></manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        # ODF wants mimetype first and stored, so a file sniffer can read it in place.
        mimetype = "application/vnd.oasis.opendocument.spreadsheet"
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", ods_content(tables), zipfile.ZIP_DEFLATED)
    return path


CLEAN_TABLE = (
    '<table:table table:name="Budgets"><table:table-row>'
    '<table:table-cell office:value-type="string"><text:p>age_band</text:p></table:table-cell>'
    '<table:table-cell office:value-type="float" office:value="12"><text:p>12</text:p>'
    "</table:table-cell></table:table-row></table:table>"
)


def assert_refused(result: Container, rule: str, *words: str) -> None:
    assert result.kind is None
    assert [f.rule for f in result.findings] == [rule], result.findings
    assert result.unreadable_cells == {}
    message = result.findings[0].message.lower()
    for word in words:
        assert word in message, message


def assert_accepted(result: Container, kind: str) -> None:
    assert result.findings == []
    assert result.kind == kind


@pytest.fixture(params=[None, 61], ids=["1MiB-reads", "61-byte-reads"])
def chunk(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run a test with the real read size, then with tiny reads so that every needle,
    tag and prolog straddles a chunk boundary somewhere."""
    if request.param is None:
        yield
    else:
        with small_reads(request.param):
            yield


def small_reads(size: int) -> AbstractContextManager[Any]:
    # The head read (prolog and root start tag) shrinks too, so that long sheets are
    # read in many small pieces after it.
    return mock.patch.multiple(stream_module, CHUNK=size, HEAD_BYTES=256)


def measure_in_subprocess(path: Path, limits: str = "Limits()") -> tuple[str, float, int]:
    """(rule of the only finding, seconds, growth of peak RSS in bytes) in a fresh process."""
    code = textwrap.dedent(
        f"""
        import resource, sys, time
        from pathlib import Path
        from returns_kit.config import Limits
        from returns_kit.workbook.container import inspect_container
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        result = inspect_container(Path(sys.argv[1]), {limits})
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert len(result.findings) == 1, result.findings
        print(result.findings[0].rule, elapsed, after - before)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rule, elapsed, grown = done.stdout.split()
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return rule, float(elapsed), int(grown) * scale


# --- accepted files -----------------------------------------------------------------------


def test_clean_openpyxl_workbook_is_xlsx(tmp_path: Path) -> None:
    result = inspect_container(write_xlsx(tmp_path / "return.xlsx"))
    assert_accepted(result, "xlsx")
    assert result.unreadable_cells == {}


def test_clean_xlsxwriter_workbook_with_relative_targets(tmp_path: Path) -> None:
    path = tmp_path / "return.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Services")
    sheet.write_row(0, 0, ["service_type", "people"])
    sheet.write_formula(1, 1, "=1+1", None, 2)  # a formula with its cached value
    workbook.close()
    result = inspect_container(path)
    assert_accepted(result, "xlsx")
    assert result.unreadable_cells == {}


def test_clean_minimal_ods_is_ods(tmp_path: Path) -> None:
    result = inspect_container(write_ods(tmp_path / "return.ods", CLEAN_TABLE))
    assert_accepted(result, "ods")
    assert result.unreadable_cells == {}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_ods_is_ods(tmp_path: Path) -> None:
    source = write_xlsx(tmp_path / "return.xlsx", {"A1": 1, "B1": "=A1*2", "C1": '=IF(A1>0,"",1)'})
    libreoffice_convert(source, "ods", tmp_path).check_returncode()
    result = inspect_container(tmp_path / "return.ods")
    assert_accepted(result, "ods")
    # LibreOffice recalculates on load: B1 gets a value; C1's "" is written as an empty
    # paragraph with no value type, which is a cached empty string, not a gap.
    assert result.unreadable_cells == {}


# --- refused before the zip is opened ------------------------------------------------------


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    assert_refused(inspect_container(path), "F001", "empty")


def test_directory(tmp_path: Path) -> None:
    assert_refused(inspect_container(tmp_path), "F001", "could not be opened")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    # Opening a pipe for reading would wait for a writer for ever.
    path = tmp_path / "pipe.xlsx"
    os.mkfifo(path)
    assert_refused(inspect_container(path), "F001", "could not be opened")


def test_missing_file(tmp_path: Path) -> None:
    assert_refused(inspect_container(tmp_path / "nope.xlsx"), "F001", "could not be opened")


def test_plain_text_named_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "return.xlsx"
    path.write_text("age_band,people_total\n18-64,12\n")
    assert_refused(inspect_container(path), "F001", "not a workbook")


def test_truncated_zip(tmp_path: Path) -> None:
    data = xlsx_bytes()
    path = tmp_path / "half.xlsx"
    path.write_bytes(data[: len(data) // 2])
    assert_refused(inspect_container(path), "F001", "corrupt")


def test_password_protected_xlsx(tmp_path: Path, chunk: None) -> None:
    encrypted = io.BytesIO()
    OOXMLFile(io.BytesIO(xlsx_bytes())).encrypt("Secret123", encrypted)
    path = tmp_path / "locked.xlsx"
    path.write_bytes(encrypted.getvalue())
    assert_refused(inspect_container(path), "F001", "password", "remove the password", ".xlsx")


def test_excel_default_password_is_not_called_a_password(tmp_path: Path) -> None:
    # Excel opens a file encrypted with its built-in password without asking: telling its
    # owner to "remove the password" would be advice they cannot follow.
    encrypted = io.BytesIO()
    OOXMLFile(io.BytesIO(xlsx_bytes())).encrypt("VelvetSweatshop", encrypted)
    path = tmp_path / "readonly.xlsx"
    path.write_bytes(encrypted.getvalue())
    result = inspect_container(path)
    assert_refused(result, "F001", "excel's built-in default password", "without a password")
    assert "password-protected" not in result.findings[0].message


def test_a_password_like_the_default_is_still_a_password(tmp_path: Path) -> None:
    encrypted = io.BytesIO()
    OOXMLFile(io.BytesIO(xlsx_bytes())).encrypt("velvetsweatshop", encrypted)
    path = tmp_path / "locked.xlsx"
    path.write_bytes(encrypted.getvalue())
    assert_refused(inspect_container(path), "F001", "password-protected")


def test_legacy_xls(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    ole_magic = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    path.write_bytes(ole_magic + bytes(4088) + "Workbook".encode("utf-16-le"))
    assert_refused(inspect_container(path), "F002", ".xls", "save it as an excel workbook (.xlsx)")


def test_file_over_size_limit_is_not_read(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "return.xlsx")
    result = inspect_container(path, Limits(max_file_bytes=1000))
    assert_refused(result, "F003", "over the 1,000 bytes limit")


# --- refused on the zip's structure -----------------------------------------------------------


@pytest.mark.parametrize("how", ["vba-project-part", "vba-project-relationship"])
def test_macro_enabled_workbook(tmp_path: Path, how: str) -> None:
    source = xlsx_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        types = archive.read("[Content_Types].xml")
        rels = archive.read(WORKBOOK_RELS)
    types = types.replace(
        b"spreadsheetml.sheet.main+xml", b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    )
    if how == "vba-project-part":
        add = {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 not really vba"}
    else:
        # Named otherwise, but the workbook says what it is.
        add = {"xl/macros.dat": b"\xd0\xcf\x11\xe0 not really vba"}
        rels = rels.replace(
            b"</Relationships>",
            b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/'
            b'relationships/vbaProject" Target="macros.dat"/></Relationships>',
        )
    replace = {"[Content_Types].xml": types, WORKBOOK_RELS: rels}
    path = rezip(source, tmp_path / "macros.xlsm", replace=replace, add=add)
    assert_refused(inspect_container(path), "F002", "macro", ".xlsx")


def test_too_many_members(tmp_path: Path) -> None:
    extra = {f"xl/media/image{i}.png": b"\x89PNG" for i in range(20)}
    path = rezip(xlsx_bytes(), tmp_path / "many.xlsx", add=extra)
    with zipfile.ZipFile(path) as archive:
        members = len(archive.infolist())
    assert_accepted(inspect_container(path, Limits(max_members=members)), "xlsx")
    result = inspect_container(path, Limits(max_members=members - 1))
    assert_refused(result, "F003", f"more than {members - 1}")


def test_huge_central_directory_refused_before_zipfile_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 70,000 entries need the zip64 end record; zipfile would build 70,000 objects
    # before anyone could count them.
    path = tmp_path / "entries.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(70_000):
            archive.writestr(zipfile.ZipInfo(f"{i}"), b"")
    opened: list[object] = []
    monkeypatch.setattr(zipfile, "ZipFile", lambda *a, **k: opened.append(a))
    assert_refused(inspect_container(path), "F003", "more than 10,000")
    assert opened == []


def test_declared_uncompressed_total_over_limit(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "return.xlsx")
    assert_refused(inspect_container(path, Limits(max_uncompressed_bytes=2000)), "F003", "limit")


@pytest.fixture(scope="module")
def bomb_700mb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real xlsx plus a 700 MB member of zeros, deflated to about 700 KB."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.xlsx"
    rezip(xlsx_bytes(), path)
    zeros = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/worksheets/sheet2.xml", "w", force_zip64=True) as member:
            for _ in range(700):
                member.write(zeros)
    assert path.stat().st_size < 2 * 1024 * 1024
    return path


def test_zip_bomb_refused_from_the_directory(bomb_700mb: Path) -> None:
    # How fast is reported by benchmarks/hostile.py; here, that it is refused at all.
    result = inspect_container(bomb_700mb)
    assert_refused(result, "F003", "700 mb", "500 mb limit")


def test_zip_bomb_refused_with_little_memory(bomb_700mb: Path) -> None:
    rule, _, grown = measure_in_subprocess(bomb_700mb)
    assert rule == "F003"
    assert grown < 200 * 1024 * 1024


@pytest.fixture(scope="module")
def lying_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An xlsx whose 200 MB member claims, in both headers, to be 1,000 bytes."""
    path = tmp_path_factory.mktemp("lie") / "lie.xlsx"
    rezip(xlsx_bytes(), path)
    name = "xl/media/padding.bin"
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(name, "w") as member:
            for _ in range(200):
                member.write(bytes(1024 * 1024))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        local = archive.getinfo(name).header_offset
    assert data[local : local + 4] == b"PK\x03\x04"
    struct.pack_into("<L", data, local + 22, 1000)  # uncompressed size, local header
    central = data.find(b"PK\x01\x02" + data[local + 4 : local + 6])
    while data[central + 46 : central + 46 + len(name)] != name.encode():
        central = data.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<L", data, central + 24, 1000)  # uncompressed size, central directory
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo(name).file_size == 1000
    return path


def test_lying_header_is_refused_not_crashed(lying_zip: Path) -> None:
    result = inspect_container(lying_zip)
    assert result.kind is None
    assert len(result.findings) == 1
    assert result.findings[0].rule in {"F001", "F003"}


def test_lying_header_keeps_memory_bounded(lying_zip: Path) -> None:
    rule, _, grown = measure_in_subprocess(lying_zip)
    assert rule in {"F001", "F003"}
    assert grown < 200 * 1024 * 1024


def test_encrypted_zip_member(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "return.xlsx")
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 0x01  # general purpose flag bit 0: encrypted
    path.write_bytes(bytes(data))
    assert_refused(inspect_container(path), "F001", "password")


def test_duplicate_member_names(tmp_path: Path) -> None:
    path = tmp_path / "twice.xlsx"
    source = xlsx_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as old, zipfile.ZipFile(path, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info))
        with pytest.warns(UserWarning, match="Duplicate name"):
            new.writestr(SHEET_PART, sheet_xml(""))
    assert_refused(inspect_container(path), "F001", "same name")


def test_office_document_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "letter.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    assert_refused(inspect_container(path), "F001", "holds no workbook")


def test_zip_that_is_not_a_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("holiday.jpg", b"\xff\xd8\xff\xe0")
    assert_refused(inspect_container(path), "F001", "not a spreadsheet")


def test_opendocument_text_is_not_a_spreadsheet(tmp_path: Path) -> None:
    path = tmp_path / "letter.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<document/>")
    assert_refused(inspect_container(path), "F001", "not a spreadsheet")


def test_password_protected_ods(tmp_path: Path, chunk: None) -> None:
    encryption = (
        '<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="x">'
        '<manifest:algorithm manifest:algorithm-name="Blowfish CFB"/></manifest:encryption-data>'
    )
    path = write_ods(tmp_path / "locked.ods", CLEAN_TABLE, manifest_extra=encryption)
    assert_refused(inspect_container(path), "F001", "password")


# --- refused for a DTD -------------------------------------------------------------------------


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + f']>\n<worksheet xmlns="{MAIN_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr">'
    "<is><t>&lol9;</t></is></c></row></sheetData></worksheet>"
).encode()


def test_billion_laughs_sheet_is_refused_unexpanded(tmp_path: Path, chunk: None) -> None:
    path = rezip(xlsx_bytes(), tmp_path / "laughs.xlsx", replace={SHEET_PART: BILLION_LAUGHS})
    result = inspect_container(path)
    assert_refused(result, "F001", "document type declaration", "refused for safety")


def test_billion_laughs_never_reaches_a_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = rezip(xlsx_bytes(), tmp_path / "laughs.xlsx", replace={SHEET_PART: BILLION_LAUGHS})

    def no_parser(*args: object, **kwargs: object) -> None:
        raise AssertionError("an XML parser was created for a file with a DTD")

    monkeypatch.setattr("returns_kit.workbook.stream.expat.ParserCreate", no_parser)
    assert_refused(inspect_container(path), "F001", "document type declaration")


def test_doctype_hidden_after_5kb_of_prolog(tmp_path: Path, chunk: None) -> None:
    # The processing instruction ends at the first "?>", leaving stray text behind it.
    padding = "<!-- padding -->\n" * 200 + " \t\r\n" * 600 + '<?pi "?>" ?> < 3 stray text'
    assert len(padding) > 5000
    sheet = sheet_xml("").replace(b"\n<worksheet", f"\n{padding}<!DOCTYPE x>\n<worksheet".encode())
    path = rezip(xlsx_bytes(), tmp_path / "hidden.xlsx", replace={SHEET_PART: sheet})
    assert_refused(inspect_container(path), "F001", "document type declaration")


def test_doctype_in_relationships_part(tmp_path: Path) -> None:
    source = xlsx_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        rels = archive.read("_rels/.rels")
    rels = b'<!DOCTYPE r SYSTEM "http://example.invalid/x.dtd">' + rels
    path = rezip(source, tmp_path / "rels.xlsx", replace={"_rels/.rels": rels})
    assert_refused(inspect_container(path), "F001", "document type declaration")


def test_doctype_in_utf16_part(tmp_path: Path, chunk: None) -> None:
    sheet = sheet_xml("").decode().replace("UTF-8", "UTF-16")
    sheet = sheet.replace("\n<worksheet", "\n<!DOCTYPE x>\n<worksheet")
    path = rezip(
        xlsx_bytes(), tmp_path / "utf16.xlsx", replace={SHEET_PART: sheet.encode("utf-16")}
    )
    assert_refused(inspect_container(path), "F001", "document type declaration")


def test_prolog_longer_than_1mib(tmp_path: Path) -> None:
    padding = b" " * (1024 * 1024 + 10)
    sheet = sheet_xml("").replace(b"\n<worksheet", b"\n" + padding + b"<worksheet")
    path = rezip(xlsx_bytes(), tmp_path / "long.xlsx", replace={SHEET_PART: sheet})
    assert_refused(inspect_container(path), "F001", "refused for safety")


def test_doctype_in_ods_content(tmp_path: Path) -> None:
    path = write_ods(tmp_path / "dtd.ods", CLEAN_TABLE)
    with zipfile.ZipFile(path) as archive:
        content = archive.read("content.xml")
    content = content.replace(b"?>\n", b'?>\n<!DOCTYPE d [<!ENTITY e "e">]>\n', 1)
    path = tmp_path / "dtd2.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
    assert_refused(inspect_container(path), "F001", "document type declaration")


def test_comment_and_processing_instruction_in_prolog_are_fine(tmp_path: Path, chunk: None) -> None:
    prolog = b"\n<!-- <!DOCTYPE in a comment> -->\n<?x <!DOCTYPE y?>\n<worksheet"
    sheet = sheet_xml("").replace(b"\n<worksheet", prolog)
    path = rezip(xlsx_bytes(), tmp_path / "ok.xlsx", replace={SHEET_PART: sheet})
    assert_accepted(inspect_container(path), "xlsx")


# --- unreadable cells ---------------------------------------------------------------------------


def test_formula_without_cached_value(tmp_path: Path, chunk: None) -> None:
    path = write_xlsx(tmp_path / "f.xlsx", {"A1": "people_total", "D7": "=SUM(1,2)"})
    result = inspect_container(path)
    assert_accepted(result, "xlsx")
    assert result.unreadable_cells == {"Budgets": [("D7", "formula-without-value")]}


def test_error_cell(tmp_path: Path, chunk: None) -> None:
    path = write_xlsx(tmp_path / "e.xlsx", {"A1": "people_total", "B2": "#DIV/0!"})
    result = inspect_container(path)
    assert_accepted(result, "xlsx")
    assert result.unreadable_cells == {"Budgets": [("B2", "error:#DIV/0!")]}


def test_error_text_that_is_not_an_error_code_is_never_echoed(tmp_path: Path) -> None:
    cells = '<row r="3"><c r="C3" t="e"><v>Jane Smith</v></c></row>'
    path = write_sheet(tmp_path / "e.xlsx", cells)
    assert inspect_container(path).unreadable_cells == {"Budgets": [("C3", "error:unknown")]}


SHAPES_XML = (
    '<row r="1"><c r="A1"><f>1+1</f><v>2</v></c>'  # cached value: fine
    '<c r="B1"><f>1+1</f></c>'  # no <v>
    '<c r="C1"><f>1+1</f><v/></c>'  # empty <v/>
    '<c r="D1"><f>1+1</f><v></v></c>'  # empty <v></v>
    '<c r="E1" t="str"><f>IF(A1&gt;0,"",1)</f><v></v></c>'  # cached empty string: fine
    '<c r="F1" t="str"><f>"x"</f></c>'  # string formula, no <v>
    "</row>"
    '<row r="2"><c r="A2"><f t="shared" ref="A2:A4" si="0">B2*2</f><v>4</v></c></row>'
    '<row r="3"><c r="A3"><f t="shared" si="0"/></c>'  # shared formula, no value
    '<c r="B3" s="1"/><c r="C3" t="e"><v>#N/A</v></c>'
    '<c r="AA3" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
    '<row r="10"><c r="B10" t="inlineStr"><is><t>f#e "e"</t></is></c>'
    '<c r="C10" t="s"><v>0</v></c></row>'
)
SHAPES_EXPECTED = [
    ("B1", "formula-without-value"),
    ("C1", "formula-without-value"),
    ("D1", "formula-without-value"),
    ("F1", "formula-without-value"),
    ("A3", "formula-without-value"),
    ("C3", "error:#N/A"),
    ("AA3", "error:#DIV/0!"),
]


def test_cell_shapes_quick_scan(tmp_path: Path, chunk: None) -> None:
    result = inspect_container(write_sheet(tmp_path / "s.xlsx", SHAPES_XML))
    assert_accepted(result, "xlsx")
    assert result.unreadable_cells == {"Budgets": SHAPES_EXPECTED}


@pytest.mark.parametrize("variant", ["prefixed", "comment", "cdata"])
def test_cell_shapes_full_parse_agrees(tmp_path: Path, variant: str, chunk: None) -> None:
    # Each variant sends the sheet past the quick scan to the expat parse.
    if variant == "prefixed":
        path = write_sheet(tmp_path / "s.xlsx", SHAPES_XML, prefix="x")
    elif variant == "comment":
        path = write_sheet(tmp_path / "s.xlsx", "<!-- a note -->" + SHAPES_XML)
    else:
        shapes = SHAPES_XML.replace("<f>1/0</f>", "<f><![CDATA[1/0]]></f>")
        path = write_sheet(tmp_path / "s.xlsx", shapes)
    result = inspect_container(path)
    assert_accepted(result, "xlsx")
    assert result.unreadable_cells == {"Budgets": SHAPES_EXPECTED}


def test_rows_and_cells_without_references(tmp_path: Path, chunk: None) -> None:
    cells = (
        "<row><c><v>1</v></c><c><f>1+1</f></c></row>"
        '<row><c><v>1</v></c><c/><c t="e"><v>#REF!</v></c></row>'
        '<row r="9"><c r="C9"><v>1</v></c><c><f>2</f><v/></c></row>'
    )
    result = inspect_container(write_sheet(tmp_path / "s.xlsx", cells))
    assert result.unreadable_cells == {
        "Budgets": [
            ("B1", "formula-without-value"),
            ("C2", "error:#REF!"),
            ("D9", "formula-without-value"),
        ]
    }


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('<c r="B{row}"><f>SUM(1,2)</f></c>', ("B{row}", "formula-without-value")),
        ('<c r="C{row}" t="e"><v>Jane Smith</v></c>', ("C{row}", "error:unknown")),
        ("<c r='D{row}' t='e'><v>Jane Smith</v></c>", ("D{row}", "error:unknown")),
    ],
    ids=["formula", "error", "error-in-single-quotes"],
)
@pytest.mark.slow
@pytest.mark.parametrize("row", [100, 180_000, 239_990], ids=["first", "second", "last-batch"])
def test_one_unreadable_cell_in_a_long_sheet(
    tmp_path: Path, cell: str, expected: tuple[str, str], row: int
) -> None:
    """A sheet of many megabytes is searched for formulas and errors in batches of reads
    (polars' search, not Python's): one cell anywhere in it, the last batch included, is found.
    """
    rows = [f'<row r="{r}"><c r="A{r}"><v>{r % 97}</v></c></row>' for r in range(1, 240_001)]
    rows[row - 1] = f'<row r="{row}">{cell.format(row=row)}</row>'
    path = write_sheet(tmp_path / "long.xlsx", "".join(rows))
    assert (tmp_path / "long.xlsx").stat().st_size < 2_000_000  # well within the limits
    assert inspect_container(path).unreadable_cells == {
        "Budgets": [(expected[0].format(row=row), expected[1])]
    }


# The far-reach hint (extent.SheetReach) searches each read with what the read before left
# unfinished: a match the pattern looks for, cut by a read boundary, must be whole in the next
# read's text, however long. Each file below reaches past the limits (calamine would allocate
# the whole rectangle; with XFD1048576 instead, 17 billion cells, and abort the process), with
# the giveaway longer than 512 characters; tiny reads put a boundary inside it.
HIDDEN_ACROSS_A_READ = {
    # white space inside r = "...", which XML allows: a row past Excel's grid
    "padded-reference": '<row r="1"><c r="A1"><v>1</v></c></row>'
    '<row r="2"><c r' + " " * 600 + '="A2000000"><v>1</v></c></row>',
    # a cell without r, placed by counting (column AA), in a start tag longer than 512:
    # 769,230 rows by 27 columns, over the 20,000,000-cell limit
    "long-counted-cell": '<row r="1"><c r="Z1"><v>1</v></c><c s="1" note="' + "y" * 600 + '">'
    '<v>1</v></c></row><row r="769230"><c r="A769230"><v>1</v></c></row>',
    # the same with a raw "<" in the long attribute, which calamine reads all the same and
    # which must not become where the next read's text starts (the measure, expat, then
    # calls the sheet corrupt: refused all the same, F001)
    "counted-cell-with-a-raw-lt": '<row r="1"><c r="Z1"><v>1</v></c><c s="1" note="'
    + "y" * 600
    + "<"
    + "y" * 600
    + '"><v>1</v></c></row><row r="769230"><c r="A769230"><v>1</v></c></row>',
}


@pytest.mark.parametrize("name", HIDDEN_ACROSS_A_READ)
@pytest.mark.parametrize("size", [61, 1000])
def test_far_reach_cut_by_a_read_is_still_refused(tmp_path: Path, name: str, size: int) -> None:
    path = write_sheet(tmp_path / "hidden.xlsx", HIDDEN_ACROSS_A_READ[name])
    with small_reads(size):
        result = inspect_container(path)
    assert_refused(result, "F001" if "raw-lt" in name else "F003")


# calamine reads an attribute without a value when another follows it (<c x t="n">, not
# <c x/>): such cells and rows carry no reference, so they are placed by counting, and a
# few kilobytes of them reach as far as any reference. The hint must send the sheet to be
# measured, and the measure (expat) finds it is not XML at all.
COUNTED_WITH_VALUELESS_ATTRIBUTES = (
    '<row x t="1">' + '<c x t="n"><v>1</v></c>' * 30_000 + "</row>"
    + '<row x t="1"><c x t="n"><v>1</v></c></row>' * 1_000
)  # fmt: skip


def test_cells_placed_by_counting_with_valueless_attributes_are_measured(tmp_path: Path) -> None:
    # calamine itself reads such cells and rows, and places them by counting (shown small:
    # reading the big one would take a gigabyte in this process)...
    small = (
        '<row x t="1">'
        + '<c x t="n"><v>1</v></c>' * 3
        + "</row>"
        + ('<row x t="1"><c x t="n"><v>1</v></c></row>')
    )
    sheet = fastexcel.read_excel(write_sheet(tmp_path / "small.xlsx", small)).load_sheet(
        0, header_row=None
    )
    assert (sheet.height, sheet.width) == (2, 3)
    # ... so 1,001 rows by 30,000 columns of them reach past the cell limit: refused.
    path = write_sheet(tmp_path / "valueless.xlsx", COUNTED_WITH_VALUELESS_ATTRIBUTES)
    assert_refused(inspect_container(path), "F001", "corrupt")


def test_a_text_longer_than_any_carry_is_measured_and_accepted(tmp_path: Path) -> None:
    """A cell text of megabytes (no "<" in it) is more than the hint carries from read to
    read: the sheet is measured instead, and found to be small."""
    text = "word " * (1024 * 1024)
    cells = f'<row r="1"><c r="A1" t="inlineStr"><is><t>{text}</t></is></c></row>'
    result = inspect_container(write_sheet(tmp_path / "long-text.xlsx", cells))
    assert_accepted(result, "xlsx")


def test_unreadable_cells_keyed_by_sheet_name_as_written(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.title = "About"
    first["B2"] = "=1+1"
    second = workbook.create_sheet(" budgets ")
    second["A1"] = 1
    second["C4"] = "#VALUE!"
    second["A2"] = "=A1"
    path = tmp_path / "two.xlsx"
    workbook.save(path)
    assert inspect_container(path).unreadable_cells == {
        "About": [("B2", "formula-without-value")],
        " budgets ": [("A2", "formula-without-value"), ("C4", "error:#VALUE!")],
    }


@pytest.mark.parametrize("prefix", ["", "x"])
def test_giant_attribute_is_refused_not_buffered(tmp_path: Path, prefix: str) -> None:
    # Too big for the quick scan's carry, so expat gets it, and expat would hold it all.
    giant = "y" * (20 * 1024 * 1024)
    cells = f'<row r="1"><c r="A1" note="{giant}"><f>1</f><v>1</v></c></row>'
    path = write_sheet(tmp_path / "giant.xlsx", cells, prefix=prefix)
    assert_refused(inspect_container(path), "F001", "corrupt")


def test_unreadable_cells_are_capped_per_sheet(tmp_path: Path) -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}"><f>1</f></c></row>' for r in range(1, 1501))
    cells = inspect_container(write_sheet(tmp_path / "s.xlsx", rows)).unreadable_cells
    assert len(cells["Budgets"]) == 1000
    assert cells["Budgets"][0] == ("A1", "formula-without-value")
    assert cells["Budgets"][-1] == ("A1000", "formula-without-value")


def test_ods_formula_without_value_honours_repeats(tmp_path: Path, chunk: None) -> None:
    formula = '<table:table-cell table:formula="of:=SUM(1;2)"/>'
    tables = (
        '<table:table table:name="Budgets">'
        '<table:table-column table:number-columns-repeated="16384"/>'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>x</text:p>'
        "</table:table-cell>"
        '<table:table-cell table:number-columns-repeated="2"/>' + formula + "</table:table-row>"
        '<table:table-row table:number-rows-repeated="1048000"><table:table-cell '
        'table:number-columns-repeated="16384"/></table:table-row>'
        '<table:table-row table:number-rows-repeated="2">'
        '<table:covered-table-cell table:number-columns-repeated="1000000"/>'
        '<table:table-cell table:formula="of:=1+1" table:number-columns-repeated="2"/>'
        "</table:table-row>"
        "<table:table-row>"
        '<table:table-cell table:formula="of:=1/0" office:value-type="string" '
        'office:string-value="" calcext:value-type="error"><text:p>#DIV/0!</text:p>'
        "</table:table-cell>"
        # LibreOffice's cached empty string: a formula, no value type, an empty paragraph.
        '<table:table-cell table:formula="of:=&quot;&quot;"><text:p/></table:table-cell>'
        '<table:table-cell table:formula="of:=2" office:value-type="float" office:value="2">'
        "<text:p>2</text:p></table:table-cell>"
        "</table:table-row></table:table>"
        '<table:table table:name="Services"><table:table-row>'
        + formula
        + "</table:table-row></table:table>"
    )
    path = write_ods(tmp_path / "r.ods", tables)
    # The formulas make calamine build a grid of a million columns by a million rows, so the
    # file is refused as it stands; under a limit raised that far, its cells are read.
    assert_refused(inspect_container(path), "F003", "1,048,004 rows by 1,000,002 columns")
    result = inspect_container(path, Limits(max_sheet_cells=10**13))
    assert_accepted(result, "ods")
    assert result.unreadable_cells == {
        "Budgets": [
            ("D1", "formula-without-value"),
            ("BDWGO1048002", "formula-without-value"),
            ("BDWGP1048002", "formula-without-value"),
            ("BDWGO1048003", "formula-without-value"),
            ("BDWGP1048003", "formula-without-value"),
            ("A1048004", "error:#DIV/0!"),
        ],
        "Services": [("A1", "formula-without-value")],
    }


CELL_SHAPES: list[tuple[str, str | None]] = [
    ('<c r="{ref}"><v>1</v></c>', None),
    ('<c r="{ref}" s="2"/>', None),
    ('<c r="{ref}"><f>1+1</f><v>2</v></c>', None),
    ('<c r="{ref}"><f>1+1</f></c>', "formula-without-value"),
    ('<c r="{ref}"><f>SUM(A1:A2)</f><v/></c>', "formula-without-value"),
    ('<c r="{ref}" t="n"><f>1</f><v> </v></c>', "formula-without-value"),
    ('<c r="{ref}" t="str"><f>""</f><v></v></c>', None),
    ('<c r="{ref}" t="str"><f>"x"</f></c>', "formula-without-value"),
    ('<c r="{ref}"><f t="shared" si="0"/></c>', "formula-without-value"),
    ('<c r="{ref}"><f t="shared" si="0"/><v>3</v></c>', None),
    ('<c r="{ref}" s="1" t="e"><v>#N/A</v></c>', "error:#N/A"),
    ('<c r="{ref}" t="e"><f>1/0</f><v>#DIV/0!</v></c>', "error:#DIV/0!"),
    ('<c r="{ref}" t="e"><v>Jane Smith</v></c>', "error:unknown"),
    ('<c r="{ref}" t="inlineStr"><is><t>&lt;f&gt; t="e" #</t></is></c>', None),
    ('<c r="{ref}" t="s"><v>3</v></c>', None),
    ("<c r='{ref}' t='e'><v>#REF!</v></c>", "error:#REF!"),
]


@pytest.mark.full_examples
@settings(max_examples=examples(60), deadline=None)
@given(
    rows=st.lists(
        st.lists(st.tuples(st.integers(1, 3), st.integers(0, len(CELL_SHAPES) - 1)), max_size=8),
        min_size=1,
        max_size=12,
    ),
    read_size=st.sampled_from([1024 * 1024, 97, 13]),
)
def test_quick_scan_and_full_parse_agree(rows: list[list[tuple[int, int]]], read_size: int) -> None:
    xml, expected = [], []
    for row_number, cells in enumerate(rows, start=1):
        xml.append(f'<row r="{row_number}">')
        column = 0
        for gap, shape in cells:
            column += gap
            ref = formulas_module._a1(row_number, column)
            template, reason = CELL_SHAPES[shape]
            xml.append(template.format(ref=ref))
            if reason is not None:
                expected.append((ref, reason))
        xml.append("</row>")
    want = {"Budgets": expected} if expected else {}
    with tempfile.TemporaryDirectory() as folder, small_reads(read_size):
        for prefix in ("", "x"):  # "x" sends the sheet to the expat parse
            path = write_sheet(Path(folder) / f"s{prefix}.xlsx", "".join(xml), prefix=prefix)
            result = inspect_container(path)
            assert result.findings == []
            assert result.unreadable_cells == want, prefix


# --- never raises ---------------------------------------------------------------------------


_SEEDS: dict[str, bytes] = {}


def seed(kind: str) -> bytes:
    if kind not in _SEEDS:
        if kind == "xlsx":
            _SEEDS[kind] = xlsx_bytes({"A1": "x", "B2": "=1+1", "C3": "#N/A"})
        else:
            with tempfile.TemporaryDirectory() as folder:
                _SEEDS[kind] = write_ods(Path(folder) / "s.ods", CLEAN_TABLE).read_bytes()
    return _SEEDS[kind]


@pytest.mark.full_examples
@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["xlsx", "ods"]),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8),
    cut=st.one_of(st.none(), st.floats(0, 1)),
)
def test_damaged_files_never_raise(
    kind: str, edits: list[tuple[float, int]], cut: float | None
) -> None:
    data = bytearray(seed(kind))
    for where, value in edits:
        data[int(where * len(data))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz.{kind}"
        path.write_bytes(bytes(data))
        result = inspect_container(path)
    if result.kind is None:
        assert len(result.findings) == 1
        assert result.findings[0].rule in {"F001", "F002", "F003"}
        assert result.unreadable_cells == {}
    else:
        assert result.findings == []


@pytest.mark.full_examples
@settings(max_examples=examples(100), deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.xlsx"
        path.write_bytes(b"PK\x03\x04" + data)
        result = inspect_container(path)
    assert result.kind is None
    assert len(result.findings) == 1


# --- sheets whose extent would make calamine allocate without bound -----------------------
# calamine builds a dense grid from a sheet's first to its last cell, and aborts the whole
# process when it cannot allocate it: these tests would die, not fail, without the check.


def _sheet_with(tmp_path: Path, cells: dict[str, object]) -> Path:
    book = openpyxl.Workbook()
    for ref, value in cells.items():
        book.active[ref] = value
    path = tmp_path / "extent.xlsx"
    book.save(path)
    return path


def test_cells_at_opposite_corners_of_the_grid_are_refused(tmp_path: Path) -> None:
    result = inspect_container(_sheet_with(tmp_path, {"A1": 1, "XFD1048576": 2}))
    assert_refused(result, "F003", "stray cells")


def test_a_reference_beyond_the_last_row_is_refused(tmp_path: Path) -> None:
    path = _sheet_with(tmp_path, {"A1": 1, "B7": 2})
    sheet = zipfile.ZipFile(path).read(SHEET_PART).replace(b'r="B7"', b'r="B79999999999999999"')
    rezip(path.read_bytes(), tmp_path / "far.xlsx", replace={SHEET_PART: sheet})
    assert_refused(inspect_container(tmp_path / "far.xlsx"), "F003", "stray cells")


@pytest.mark.parametrize(
    "cells",
    [{"A1": 1, "AZ2000": 2}, {"A1": 1, "B1000000": 2}],
    ids=["wide", "long"],
)
def test_wide_or_long_but_reasonable_sheets_are_accepted(
    tmp_path: Path, cells: dict[str, object]
) -> None:
    assert_accepted(inspect_container(_sheet_with(tmp_path, cells)), "xlsx")


@pytest.mark.full_examples
@settings(max_examples=examples(80), deadline=None)
@given(
    limit=st.one_of(st.integers(1, 3000), st.integers(1, 30_000_000)),
    row=st.one_of(st.integers(1, 3000), st.integers(1, 1_048_576)),
    column=st.one_of(st.integers(1, 26), st.integers(1, 16_384)),
)
def test_a_sheet_is_refused_exactly_when_it_spans_more_cells_than_the_limit(
    limit: int, row: int, column: int
) -> None:
    # Whatever the limit, no sheet over it slips past unmeasured: not one in single-letter
    # columns with short row numbers (A1:Z999999 did, under the fixed quick look), nor a
    # small one under a lowered limit.
    corner = f"{openpyxl.utils.get_column_letter(column)}{row}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "extent.xlsx"
        path.write_bytes(xlsx_bytes({"A1": 1, corner: 2}))
        result = inspect_container(path, Limits(max_sheet_cells=limit))
    if row * column > limit:
        assert_refused(result, "F003", f"{row * column:,} cells")
    else:
        assert_accepted(result, "xlsx")


@pytest.mark.parametrize(
    ("limit", "corner", "refused"),
    [
        (20_000_000, "Z769230", False),  # 19,999,980 cells: within, and never measured
        (20_000_000, "Z769231", True),  # 20,000,006 cells
        (20_000_000, "T1000000", False),  # 20,000,000 cells, measured
        (26, "Z1", False),
        (26, "A27", True),
        (1, "A1", False),
        (1, "B1", True),
        (1, "A2", True),
    ],
)
def test_cells_at_the_edge_of_the_quick_look(
    tmp_path: Path, limit: int, corner: str, refused: bool
) -> None:
    path = write_xlsx(tmp_path / "extent.xlsx", {"A1": 1, corner: 2})
    result = inspect_container(path, Limits(max_sheet_cells=limit))
    if refused:
        assert_refused(result, "F003", "stray cells")
    else:
        assert_accepted(result, "xlsx")


# --- parts found the way calamine finds them ------------------------------------------------
# calamine follows the workbook's relationships and looks a part up ignoring case, with "\"
# for "/"; Excel opens these layouts too. Every sheet calamine reads must be measured, and
# every such workbook read as one.

WORKSHEET_TYPE = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"


def relayout(source: bytes, path: Path, layout: str) -> Path:
    """``source`` (an .xlsx with absolute sheet targets, as openpyxl writes) laid out otherwise."""
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}

    def edit(name: str, old: bytes, new: bytes) -> None:
        assert old in members[name], (name, old)
        members[name] = members[name].replace(old, new)

    if layout == "other-folder":
        members = {name.replace("/worksheets/", "/data/"): data for name, data in members.items()}
        edit(WORKBOOK_RELS, b"/xl/worksheets/", b"/xl/data/")
        edit("[Content_Types].xml", b"/xl/worksheets/", b"/xl/data/")
    elif layout == "other-capitals":
        renames = {
            "xl/workbook.xml": "XL/Workbook.xml",
            WORKBOOK_RELS: "Xl/_RELS/WorkBook.xml.rels",
        }
        members = {
            renames.get(name, name.replace("xl/worksheets/", "xl/Worksheets/")): data
            for name, data in members.items()
        }
    elif layout == "backslashes":
        members = {name.replace("/", "\\"): data for name, data in members.items()}
    elif layout == "root-workbook":
        edit("_rels/.rels", b'Target="xl/workbook.xml"', b'Target="workbook.xml"')
        edit(WORKBOOK_RELS, b'Target="styles.xml"', b'Target="xl/styles.xml"')
        edit(WORKBOOK_RELS, b'Target="theme/', b'Target="xl/theme/')
        renames = {"xl/workbook.xml": "workbook.xml", WORKBOOK_RELS: "_rels/workbook.xml.rels"}
        members = {renames.get(name, name): data for name, data in members.items()}
    else:
        raise AssertionError(layout)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, zipfile.ZIP_DEFLATED)
    return path


LAYOUTS = ["other-folder", "other-capitals", "backslashes", "root-workbook"]


def whole_grid_xlsx() -> bytes:
    return xlsx_bytes({"A1": 1, "XFD1048576": 2})


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_whole_grid_sheet_is_measured_wherever_its_part_is(tmp_path: Path, layout: str) -> None:
    path = relayout(whole_grid_xlsx(), tmp_path / "grid.xlsx", layout)
    assert_refused(inspect_container(path), "F003", 'sheet "budgets" spans 1,048,576 rows')


def test_a_whole_grid_sheet_in_any_layout_never_aborts_the_process(tmp_path: Path) -> None:
    # Without the measure calamine allocates 17 billion cells and the process dies (134).
    paths = [relayout(whole_grid_xlsx(), tmp_path / f"{name}.xlsx", name) for name in LAYOUTS]
    code = (
        "import sys; from returns_kit.validate import validate_return\n"
        "for path in sys.argv[1:]:\n"
        "    print(*[f.rule for f in validate_return(path).report.findings])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, paths)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:-1] == ["F003"] * len(LAYOUTS)


def test_a_part_no_sheet_points_at_is_not_measured(tmp_path: Path) -> None:
    # calamine reads only the parts the workbook's sheets point at.
    stray = zipfile.ZipFile(io.BytesIO(whole_grid_xlsx())).read(SHEET_PART)
    path = rezip(xlsx_bytes(), tmp_path / "stray.xlsx", add={"xl/worksheets/stray.xml": stray})
    assert_accepted(inspect_container(path), "xlsx")


def valid_return(folder: Path) -> bytes:
    ret = generate_return("E06000001", "2015-16", seed=3, people=40)
    path = folder / "valid.xlsx"
    write_synthetic_xlsx(ret, path)
    return path.read_bytes()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_valid_return_in_any_layout_is_read_as_a_workbook(tmp_path: Path, layout: str) -> None:
    path = relayout(valid_return(tmp_path), tmp_path / "return.xlsx", layout)
    assert_accepted(inspect_container(path), "xlsx")
    assert validate_return(path).report.findings == []


def test_two_parts_one_name_apart_from_case_are_refused(tmp_path: Path) -> None:
    # calamine would read one of them, whichever the zip lists last: refuse the doubt.
    path = rezip(xlsx_bytes(), tmp_path / "twice.xlsx", add={"XL/Worksheets/Sheet1.xml": b"<x/>"})
    assert_refused(inspect_container(path), "F001", "same name")


def test_sheetjs_content_types_are_no_macros(tmp_path: Path) -> None:
    # Every SheetJS workbook declares a default type for .bin parts that says "macroEnabled";
    # it writes no such part, and the workbook has no macros.
    source = valid_return(tmp_path)
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        types = archive.read("[Content_Types].xml")
    types = types.replace(
        b"<Default ",
        b'<Default Extension="bin" '
        b'ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/><Default ',
        1,
    )
    path = rezip(source, tmp_path / "sheetjs.xlsx", replace={"[Content_Types].xml": types})
    assert_accepted(inspect_container(path), "xlsx")
    assert validate_return(path).report.findings == []


def test_binary_workbook_is_refused_as_xlsb(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsb"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="xl/workbook.bin"/></Relationships>',
        )
        archive.writestr("xl/workbook.bin", b"\x83\x01\x00")
    assert_refused(inspect_container(path), "F002", "binary workbook (.xlsb)")


# --- other programs' files, told apart by what they hold ------------------------------------


def test_ods_with_macros_is_refused_as_macro_enabled(tmp_path: Path) -> None:
    # LibreOffice writes a DTD in its Basic parts: the file is refused for its macros.
    path = write_ods(tmp_path / "macros.ods", CLEAN_TABLE)
    module = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE script:module PUBLIC '
        '"-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">\n<script:module '
        'xmlns:script="http://openoffice.org/2000/script" script:name="Module1" '
        'script:language="StarBasic">Sub Main\nEnd Sub</script:module>'
    )
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("Basic/Standard/Module1.xml", module)
        archive.writestr("Basic/script-lc.xml", module.replace("Module1", "lc"))
    assert_refused(inspect_container(path), "F002", "macros", ".xlsx")


@pytest.mark.parametrize(
    "head",
    [
        b"\x09\x00\x04\x00\x02\x00\x10\x00",  # Excel 2 worksheet
        b"\x09\x02\x06\x00\x00\x00\x10\x00",  # Excel 3 worksheet
        b"\x09\x04\x06\x00\x00\x00\x00\x01",  # Excel 4 workbook
    ],
    ids=["excel2", "excel3", "excel4"],
)
def test_excel_2_to_4_files_are_legacy_workbooks(tmp_path: Path, head: bytes) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(head + bytes(200) + b"\x0a\x00\x00\x00")
    assert_refused(inspect_container(path), "F002", "excel 2.x to 4.0", "legacy binary workbook")


# --- an .ods's cells, counted before calamine builds them ---------------------------------


def ods_table(name: str, rows: int, columns: int, *, trailing_empty: bool = False) -> str:
    """A table whose one row of ``columns`` values is repeated ``rows`` times."""
    table = (
        f'<table:table table:name="{name}">'
        f'<table:table-row table:number-rows-repeated="{rows}">'
        '<table:table-cell office:value-type="float" office:value="1" '
        f'table:number-columns-repeated="{columns}"/></table:table-row>'
    )
    if trailing_empty:
        # What LibreOffice writes below a table: empty, formatted rows to the end of the grid.
        table += (
            '<table:table-row table:number-rows-repeated="1048000">'
            '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
        )
    return table + "</table:table>"


def test_tiny_ods_declaring_millions_of_cells_is_refused(tmp_path: Path) -> None:
    path = write_ods(tmp_path / "repeats.ods", ods_table("Budgets", 10_000, 5_000))
    assert path.stat().st_size < 2000
    assert_refused(
        inspect_container(path),
        "F003",
        "50,000,000 cells",
        '"budgets", spans 10,000 rows by 5,000 columns',
    )


def test_ods_cells_with_a_valueless_attribute_are_counted(tmp_path: Path) -> None:
    # calamine reads a cell whose attributes include one without a value, repeats and all
    # (shown small), so the count must see it too: 2,000 rows of 16,384 such cells.
    def table(rows: int, columns: int) -> str:
        return (
            '<table:table table:name="Budgets">'
            f'<table:table-row table:number-rows-repeated="{rows}">'
            '<table:table-cell x office:value-type="float" office:value="1" '
            f'table:number-columns-repeated="{columns}"/></table:table-row></table:table>'
        )

    small = fastexcel.read_excel(write_ods(tmp_path / "small.ods", table(3, 4)))
    assert (lambda sheet: (sheet.height, sheet.width))(small.load_sheet(0, header_row=None)) == (
        3,
        4,
    )
    path = write_ods(tmp_path / "valueless.ods", table(2_000, 16_384))
    assert_refused(inspect_container(path), "F003", '"budgets", spans 2,000 rows by 16,384 columns')


def test_ods_cells_are_counted_across_every_table(tmp_path: Path) -> None:
    # calamine builds every table when it opens the file, so the limit is on them together.
    tables = ods_table("Budgets", 3000, 1) + ods_table("Services", 1000, 2)
    path = write_ods(tmp_path / "two.ods", tables)
    assert_accepted(inspect_container(path, Limits(max_sheet_cells=5000)), "ods")
    assert_refused(inspect_container(path, Limits(max_sheet_cells=4999)), "F003", "5,000 cells")


def test_empty_repeats_cost_nothing(tmp_path: Path) -> None:
    # Trailing formatted rows and cells are empty: calamine never builds them.
    path = write_ods(tmp_path / "lo.ods", ods_table("Budgets", 100, 10, trailing_empty=True))
    assert_accepted(inspect_container(path, Limits(max_sheet_cells=1000)), "ods")


def test_ods_counts_from_column_a_and_skips_what_cells_hold(tmp_path: Path, chunk: None) -> None:
    tables = (
        '<table:table table:name="Budgets">'
        '<table:table-row table:number-rows-repeated="5"><table:table-cell/></table:table-row>'
        "<table:table-row>"
        '<table:table-cell table:number-columns-repeated="99"/>'
        '<table:table-cell table:formula="of:=1"><text:p>'
        '<table:table table:name="nested"><table:table-row table:number-rows-repeated="999999">'
        '<table:table-cell office:value-type="float" office:value="1"/></table:table-row>'
        "</table:table></text:p></table:table-cell>"
        "</table:table-row>"
        '<table:table-row table:number-rows-repeated="9"><table:table-cell/></table:table-row>'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>x</text:p>'
        "</table:table-cell></table:table-row></table:table>"
    )
    path = write_ods(tmp_path / "r.ods", tables)
    # Rows 6 to 16 (11 rows), columns A to CV (100): calamine keeps each row from column A.
    assert_accepted(inspect_container(path, Limits(max_sheet_cells=1100)), "ods")
    assert_refused(inspect_container(path, Limits(max_sheet_cells=1099)), "F003", "1,100 cells")


def test_repeats_past_calamines_own_cap_are_f003_not_damage(tmp_path: Path) -> None:
    # Under a limit raised past calamine's own cap (100 million cells), calamine refuses the
    # file itself: that too is a file too big (F003), not a damaged one.
    path = write_ods(tmp_path / "grid.ods", ods_table("Budgets", 1_048_576, 16_384))
    code = (
        "import sys; from returns_kit.validate import validate_return\n"
        "from returns_kit.workbook.container import Limits\n"
        "report = validate_return(sys.argv[1], limits=Limits(max_sheet_cells=10**12)).report\n"
        "print(*[(f.rule, f.message) for f in report.findings], sep='\\n')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("('F003', "), done.stdout
    assert "reader's limit of 100,000,000" in done.stdout


def test_a_tiny_ods_of_millions_of_cells_never_reaches_calamine(tmp_path: Path) -> None:
    path = write_ods(tmp_path / "repeats.ods", ods_table("Budgets", 100_000, 16_384))
    code = (
        "import resource, sys; from returns_kit.validate import validate_return\n"
        "report = validate_return(sys.argv[1]).report\n"
        "print(*[f.rule for f in report.findings], "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rule, peak = done.stdout.split()
    assert rule == "F003"
    assert int(peak) * (1 if sys.platform == "darwin" else 1024) < 500 * 1024 * 1024


# --- wide sheets inside the limits ------------------------------------------------------------


# A big-file test (130 MB of XML written, deflated and read in a child: about 9 s on 2
# cores); the default run measures sheets with the limit tests above.
@pytest.mark.slow
def test_a_wide_sheet_is_measured_streaming(tmp_path: Path) -> None:
    # 60 columns (A to BH) by 80,000 rows, 4.8 million cells: within the limit, past Z. Its
    # 130 MB of XML deflate to a few MB; the measure reads it in chunks, never whole (the
    # reach check once held all of its text, and a full XML parse then took minutes).
    letters = [openpyxl.utils.get_column_letter(column) for column in range(1, 61)]
    path = tmp_path / "wide.xlsx"
    source = xlsx_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as old, zipfile.ZipFile(path, "w") as new:
        for info in old.infolist():
            if info.filename != SHEET_PART:
                new.writestr(info, old.read(info), zipfile.ZIP_DEFLATED)
        info = zipfile.ZipInfo(SHEET_PART)
        info.compress_type = zipfile.ZIP_DEFLATED
        with new.open(info, "w") as member:
            member.write(sheet_xml("").split(b"</sheetData>")[0])
            for row in range(1, 80_001):
                cells = "".join(f'<c r="{letter}{row}"><v>{row % 97}</v></c>' for letter in letters)
                member.write(f'<row r="{row}">{cells}</row>'.encode())
            member.write(b"</sheetData></worksheet>")
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo(SHEET_PART).file_size > 120 * 1024 * 1024
    code = textwrap.dedent(
        """
        import resource, sys
        from pathlib import Path
        from returns_kit.workbook.container import inspect_container
        import polars  # loaded wherever validation runs; not the measure's own memory
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = inspect_container(Path(sys.argv[1]))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(result.kind, len(result.findings), after - before)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    kind, findings, grown = done.stdout.split()
    assert (kind, findings) == ("xlsx", "0")
    scale = 1 if sys.platform == "darwin" else 1024
    assert int(grown) * scale < 100 * 1024 * 1024, f"{int(grown) * scale / 2**20:.0f} MiB"


QUICK_SHAPES = [
    '<c r="{ref}"><v>1</v></c>',
    '<c r="{ref}" s="3"/>',  # formatted, empty: not in calamine's grid
    '<c r="{ref}" s="3"></c>',
    '<c r="{ref}" s="3">\n </c>',
    '<c r="{ref}" t="inlineStr"><is><t>a &gt; b</t></is></c>',
    '<c r="{ref}" s="1" t="str"><f>"x"</f><v></v></c>',
    '<c r="{ref}" x14ac:note="a"><v>2</v></c>',
]


@pytest.mark.full_examples
@settings(max_examples=examples(80), deadline=None)
@given(
    cells=st.lists(
        st.tuples(
            st.one_of(st.integers(1, 40), st.integers(1, 1_048_576)),
            st.one_of(st.integers(1, 30), st.integers(1, 16_384)),
            st.integers(0, len(QUICK_SHAPES) - 1),
        ),
        max_size=25,
    ),
    read_size=st.sampled_from([1024 * 1024, 97, 13]),
)
def test_quick_extent_agrees_with_the_full_parse(
    cells: list[tuple[int, int, int]], read_size: int
) -> None:
    rows: dict[int, list[str]] = {}
    for row, column, shape in cells:
        ref = formulas_module._a1(row, column)
        rows.setdefault(row, []).append(QUICK_SHAPES[shape].format(ref=ref))
    xml = "".join(f'<row r="{row}">{"".join(found)}</row>' for row, found in rows.items())
    sheet = sheet_xml(xml).replace(b"<sheetData>", b"<sheetViews/><sheetData>")
    sheet = sheet.replace(b"<worksheet ", b'<worksheet xmlns:x14ac="urn:x14ac" ')
    with tempfile.TemporaryDirectory() as folder:
        path = rezip(xlsx_bytes(), Path(folder) / "q.xlsx", replace={SHEET_PART: sheet})
        with zipfile.ZipFile(path) as archive:

            def parse(name: str, start: Any, end: Any) -> None:
                stream_module.parse_member(archive, name, start, end)

            with archive.open(SHEET_PART) as member:
                quick = extent_module.quick_extent(member.read, read_size)
            assert quick == extent_module.sheet_extent(parse, SHEET_PART)


@pytest.mark.parametrize(
    "variant",
    [
        ("<c r=", "<x:c r="),  # prefixed
        ('<c r="', '<c  r="'),  # two spaces
        ("<sheetData>", "<!-- x --><sheetData>"),
        ("<sheetData>", '<sheetData xmlns:y="urn:y">'),
        ("</sheetData>", "</sheetData><sheetData/>"),
        ('<c r="B2"', '<c t="n" r="B2"'),  # r not first
    ],
)
def test_quick_extent_leaves_unusual_sheets_to_the_full_parse(variant: tuple[str, str]) -> None:
    xml = '<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="B2"><v>2</v></c></row>'
    sheet = sheet_xml(xml)
    sheet = sheet.replace(variant[0].encode(), variant[1].encode(), 1)
    pieces = [sheet]
    assert extent_module.quick_extent(lambda _: pieces.pop() if pieces else b"", 1 << 20) is None


def test_a_workbook_naming_one_part_for_thousands_of_sheets_is_read_once(tmp_path: Path) -> None:
    # 50,000 <sheet> elements, all pointing at one part: each part is measured and scanned
    # once (naming each sheet against a list was quadratic, and each was scanned again).
    source = xlsx_bytes({"A1": "people_total", "B2": "=1+1"})
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        workbook = archive.read("xl/workbook.xml")
    many = "".join(f'<sheet name="S{i}" sheetId="{i + 2}" r:id="rId1"/>' for i in range(50_000))
    workbook = workbook.replace(b"</sheets>", many.encode() + b"</sheets>")
    path = rezip(source, tmp_path / "many.xlsx", replace={"xl/workbook.xml": workbook})
    result = inspect_container(path)
    assert_accepted(result, "xlsx")
    assert len(result.unreadable_cells) == 10_000  # sheets past 10,000 are measured, not named
    assert result.unreadable_cells["Budgets"] == [("B2", "formula-without-value")]


ODS_ROW = st.tuples(
    st.integers(1, 3),  # rows repeated
    st.lists(st.tuples(st.integers(1, 4), st.booleans(), st.booleans()), max_size=5),
)


@pytest.mark.full_examples
@settings(max_examples=examples(120), deadline=None)
@given(
    tables=st.lists(st.lists(ODS_ROW, max_size=6), min_size=1, max_size=3),
    read_size=st.sampled_from([1 << 20, 61, 7]),
)
def test_ods_cells_counted_as_calamine_builds_them(
    tables: list[list[tuple[int, list[tuple[int, bool, bool]]]]], read_size: int
) -> None:
    """The count against a model of calamine's grid: rows from the first to the last with
    content (repeats included) by columns from A to the furthest cell with content."""
    xml, expected = [], []
    for number, rows in enumerate(tables):
        xml.append(f'<table:table table:name="T{number}">')
        first = last = widest = 0
        row_at = 0
        for times, cells in rows:
            attribute = f' table:number-rows-repeated="{times}"' if times > 1 else ""
            xml.append(f"<table:table-row{attribute}>")
            column = width = 0
            for repeat, content, open_tag in cells:
                repeated = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
                value = ' office:value-type="float" office:value="1"' if content else ""
                if open_tag:  # a cell that holds a paragraph (and a table, calamine skips)
                    inner = (
                        '<text:p>x</text:p><table:table table:name="in"><table:table-row>'
                        '<table:table-cell office:value="1" table:number-columns-repeated="9"/>'
                        "</table:table-row></table:table>"
                    )
                    xml.append(f"<table:table-cell{repeated}{value}>{inner}</table:table-cell>")
                else:
                    xml.append(f"<table:table-cell{repeated}{value}/>")
                column += repeat
                if content:
                    width = column
            xml.append("</table:table-row>")
            if width:
                first = first or row_at + 1
                last = row_at + times
                widest = max(widest, width)
            row_at += times
        xml.append("</table:table>")
        if widest:
            expected.append((f"T{number}", last - first + 1, widest))
    data = ods_content("".join(xml)).encode()
    counter = extent_module.OdsCells()
    for start in range(0, len(data), read_size):
        counter.feed(data[start : start + read_size])
    found = [(table.name, table.rows, table.columns) for table in counter.finish()]
    assert found == expected
