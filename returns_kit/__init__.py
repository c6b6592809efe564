"""returns_kit: check and aggregate personal budget monitoring returns.

>>> from returns_kit import validate_file
>>> validate_file("fixtures/valid/hartlepool-2013-14.xlsx").valid  # doctest: +SKIP
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from returns_kit.findings import Finding, Severity

if TYPE_CHECKING:
    from returns_kit.report import FileReport, Report
    from returns_kit.validate import validate_file, validate_files

__all__ = ["FileReport", "Finding", "Report", "Severity", "validate_file", "validate_files"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Lazy, so that `returns --help` and `import returns_kit` do not load polars.
    if name in ("validate_file", "validate_files"):
        from returns_kit import validate

        return getattr(validate, name)
    if name in ("FileReport", "Report"):
        from returns_kit import report

        return getattr(report, name)
    raise AttributeError(name)
