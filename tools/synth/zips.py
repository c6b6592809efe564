"""Zip helpers for synthetic returns: rewrite, copy and make macro-enabled, at fixed times.

The fixed-time zip itself is the product's (:mod:`returns_kit.zips`): the template uses it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

from returns_kit.zips import FIXED_ZIP_TIME, FixedTimeZipFile

__all__ = ["FIXED_ZIP_TIME", "FixedTimeZipFile", "copy_zip", "make_macro_enabled", "rewrite_zip"]


def rewrite_zip(path: Path, transform: Callable[[str, bytes], bytes] | None = None) -> None:
    """Rewrite the zip at ``path`` member by member, with fixed times and ``transform`` applied."""
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(path) as src, FixedTimeZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, transform(info.filename, data) if transform else data)
    tmp.replace(path)


def copy_zip(
    source: Path,
    path: Path,
    edit: Callable[[str, bytes], bytes],
    extra: Callable[[zipfile.ZipFile], None] | None = None,
) -> None:
    """Copy the zip at ``source`` to ``path`` member by member through ``edit``, with fixed
    times; then ``extra`` may add members."""
    with zipfile.ZipFile(source) as old, FixedTimeZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, edit(info.filename, old.read(info)))
        if extra:
            extra(new)


def make_macro_enabled(source: Path, path: Path) -> None:
    """``source`` made macro-enabled (.xlsm): the macro content type, a VBA project
    relationship and a small ``xl/vbaProject.bin`` part (not a real VBA project)."""

    def edit(name: str, data: bytes) -> bytes:
        if name == "[Content_Types].xml":
            data = data.replace(
                b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
            ).replace(
                b"<Default ",
                b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                b"<Default ",
                1,
            )
        elif name == "xl/_rels/workbook.xml.rels":
            data = data.replace(
                b"</Relationships>",
                b'<Relationship Id="rIdVBA" Type="http://schemas.microsoft.com/office/2006/'
                b'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>',
            )
        return data

    def vba(archive: zipfile.ZipFile) -> None:
        # An OLE compound file signature and an empty body: enough to be a VBA project part.
        archive.writestr("xl/vbaProject.bin", bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504))

    copy_zip(source, path, edit, vba)
