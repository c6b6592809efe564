"""Zip archives with constant member timestamps, so that written workbooks are byte-stable.

The template (:mod:`returns_kit.template`) is written through :class:`FixedTimeZipFile`, so
the same council and period give the same bytes on every run.
"""

from __future__ import annotations

import os
import shutil
import zipfile
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
