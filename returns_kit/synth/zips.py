"""Zip archives with constant member timestamps, so that written workbooks are byte-stable."""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import SizedBuffer

#: The earliest time a zip can hold; what xlsxwriter uses too.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class FixedTimeZipFile(zipfile.ZipFile):
    """A ZipFile whose members written by name all carry FIXED_ZIP_TIME, not the clock."""

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, FIXED_ZIP_TIME)
        info.compress_type = self.compression
        info.external_attr = 0o600 << 16
        return info

    def writestr(
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: SizedBuffer | str,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = self._info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(
        self,
        filename: Any,
        arcname: Any = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        # openpyxl's write-only sheets arrive as temporary files: stream them in.
        info = self._info(str(arcname if arcname is not None else filename))
        info.file_size = os.path.getsize(filename)  # lets zipfile decide on zip64 itself
        with open(filename, "rb") as src, self.open(info, "w") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


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
