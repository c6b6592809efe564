"""Why a file is refused before any parser reads it: the one F001, F002 or F003 finding a
scan raises from wherever it is, and the words of every refusal, kept together so that they
read alike."""

from __future__ import annotations

from typing import NoReturn

from returns_kit.findings import Finding
from returns_kit.rules.catalogue import finding

#: Sizes are read and shown in binary megabytes.
MIB = 1024 * 1024

SAVE_AS_XLSX = "save it as an Excel Workbook (.xlsx) and send the new file"

MSG_UNREADABLE = (
    "The file could not be opened: it is not an ordinary file or it cannot be read. "
    f"Open the return in a spreadsheet program, {SAVE_AS_XLSX}."
)
MSG_EMPTY = (
    f"The file is empty (0 bytes). Open the return in a spreadsheet program, {SAVE_AS_XLSX}."
)
MSG_NOT_WORKBOOK = (
    "The file is not a workbook: it is neither an Excel workbook (.xlsx) nor an OpenDocument "
    f"spreadsheet (.ods). Open the return in a spreadsheet program, {SAVE_AS_XLSX}."
)
MSG_CORRUPT = (
    "The workbook is corrupt and cannot be read (it may be incomplete, for example after an "
    f"interrupted download or copy). Open it in a spreadsheet program, {SAVE_AS_XLSX}."
)
MSG_PASSWORD = (
    "The workbook is password-protected, so it cannot be checked. Open it, remove the password "
    "and save as .xlsx, then send the new file."
)
MSG_DEFAULT_PASSWORD = (
    "The workbook is encrypted with Excel's built-in default password (Excel opens such a "
    "file without asking, for example one marked read-only or with its structure protected), "
    "so it cannot be checked. Open it in Excel, remove the protection and save it as .xlsx "
    "without a password, then send the new file."
)
MSG_LEGACY = (
    "The file is an old-style Excel 97-2003 workbook (.xls), which is not accepted. Open it in "
    f"a spreadsheet program, {SAVE_AS_XLSX}."
)
MSG_MACRO = (
    "The workbook is macro-enabled (.xlsm), which is not accepted. Open it in a spreadsheet "
    f"program, {SAVE_AS_XLSX} (this removes the macros)."
)
MSG_ODS_MACRO = (
    "The spreadsheet contains macros (LibreOffice Basic or scripts), which are not accepted. "
    f"Open it in a spreadsheet program, {SAVE_AS_XLSX} (this removes the macros)."
)
MSG_OLD_EXCEL = (
    "The file is an old-style Excel 2.x to 4.0 workbook (a legacy binary workbook), which is "
    f"not accepted. Open it in a spreadsheet program, {SAVE_AS_XLSX}."
)
MSG_BINARY = (
    "The workbook is an Excel Binary Workbook (.xlsb), which is not accepted. Open it in a "
    f"spreadsheet program, {SAVE_AS_XLSX}."
)
MSG_NO_WORKBOOK_PART = (
    "The file is an Office document but holds no workbook (it may be a Word or PowerPoint "
    f"file, or corrupt). Open the return in a spreadsheet program, {SAVE_AS_XLSX}."
)
MSG_NOT_SPREADSHEET = (
    "The file is a zip archive, not a spreadsheet. Open the return in a spreadsheet program, "
    f"{SAVE_AS_XLSX}."
)
MSG_DTD = (
    "The workbook contains an XML document type declaration, which spreadsheet programs do not "
    "write in a workbook's data and which can hide an attack; refused for safety. Open it in a "
    f"spreadsheet program, {SAVE_AS_XLSX}."
)
MSG_LONG_PROLOG = (
    "The workbook has an internal part that starts with over 1 MB of padding before its "
    "content, which spreadsheet programs never write; refused for safety. Open it in a "
    f"spreadsheet program, {SAVE_AS_XLSX}."
)
MSG_DUPLICATE_PART = (
    "The workbook holds two internal parts with the same name (ignoring case), which "
    "spreadsheet programs never write, so it is unclear what it contains. Open it in a "
    f"spreadsheet program, {SAVE_AS_XLSX}."
)
MSG_SHRINK = (
    "Remove sheets, images and data that are not part of the return, save it as .xlsx and "
    "send the new file."
)


class Refusal(Exception):
    def __init__(self, refused: Finding) -> None:
        super().__init__(refused.message)
        self.finding = refused


def refuse(rule_id: str, message: str) -> NoReturn:
    raise Refusal(finding(rule_id, message))


def size_text(n: int) -> str:
    for unit, scale in (("GB", 1024 * MIB), ("MB", MIB), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:,.1f}".removesuffix(".0") + f" {unit}"
    return f"{n:,} bytes"
