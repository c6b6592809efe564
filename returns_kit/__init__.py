"""returns_kit: check and aggregate personal budget monitoring returns.

The public API is what ``__all__`` names; docs/python-api.md shows each in use.

>>> from returns_kit import validate_file
>>> validate_file("fixtures/valid/hartlepool-2013-14.xlsx").valid  # doctest: +SKIP
True
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from returns_kit.errors import ReturnsKitError
from returns_kit.findings import Finding, Severity

if TYPE_CHECKING:
    from returns_kit.aggregate.run import AggregateResult
    from returns_kit.config import ConfigError, Limits, Thresholds, load_thresholds
    from returns_kit.outputs import OutputError
    from returns_kit.pairing import PairingError
    from returns_kit.report import FileReport, Report
    from returns_kit.rules.catalogue import RULES, Rule
    from returns_kit.validate import validate_file

__all__ = [
    "RULES",
    "AggregateResult",
    "ConfigError",
    "FileReport",
    "Finding",
    "Limits",
    "OutputError",
    "PairingError",
    "Report",
    "ReturnsKitError",
    "Rule",
    "Severity",
    "Thresholds",
    "aggregate_returns",
    "load_thresholds",
    "validate_file",
    "validate_files",
    "validate_pair",
    "write_annotated",
    "write_template",
]


def _installed_version() -> str:
    # One version, pyproject.toml's, read from the installed metadata; a source tree run
    # without installing has none, and says so rather than claiming a release.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("returns_kit")
    except PackageNotFoundError:
        return "0+unknown"


__version__ = _installed_version()

#: Where each lazily imported public name lives.
_LAZY = {
    "validate_file": "returns_kit.validate",
    "FileReport": "returns_kit.report",
    "Report": "returns_kit.report",
    "Thresholds": "returns_kit.config",
    "load_thresholds": "returns_kit.config",
    "ConfigError": "returns_kit.config",
    "OutputError": "returns_kit.outputs",
    "Limits": "returns_kit.config",
    "AggregateResult": "returns_kit.aggregate.run",
    "PairingError": "returns_kit.pairing",
    "RULES": "returns_kit.rules.catalogue",
    "Rule": "returns_kit.rules.catalogue",
}


def __getattr__(name: str) -> Any:
    # Lazy, so that `returns --help` and `import returns_kit` do not load polars.
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'returns_kit' has no attribute {name!r}")


def validate_files(
    paths: Iterable[str | Path],
    *,
    strict: bool = False,
    thresholds: Thresholds | None = None,
    limits: Limits | None = None,
) -> Report:
    """Validate workbooks one by one, as ``returns validate FILE...`` does.

    A file that cannot be read gets a finding (F001-F003) in its own report; it never
    stops the others. ``strict`` makes an unexplained query fail the run as well
    (:attr:`Report.valid`, :attr:`Report.exit_code`).
    """
    from returns_kit.report import Report
    from returns_kit.validate import validate_file

    return Report(
        [validate_file(path, thresholds=thresholds, limits=limits) for path in paths],
        strict=strict,
    )


def validate_pair(
    path: str | Path,
    previous: str | Path,
    *,
    thresholds: Thresholds | None = None,
    limits: Limits | None = None,
) -> FileReport:
    """Validate ``path`` and run the period-to-period rules (P001-P006) against ``previous``,
    as ``returns validate FILE --previous PREVIOUS`` does.

    ``previous`` is the same council's return for the period before, or its predecessor's
    (Somerset County E10000027's 2022-23 return before Somerset E06000066's 2023-24). The
    findings of ``previous`` itself are not reported. Raises :class:`PairingError` when the
    two cannot be paired (another council, not the period before, no valid About sheet).
    """
    from returns_kit.config import Thresholds
    from returns_kit.pairing import compare
    from returns_kit.reference import load_reference
    from returns_kit.validate import validate_return

    thresholds = thresholds or Thresholds()
    current = validate_return(path, thresholds=thresholds, limits=limits)
    earlier = validate_return(previous, thresholds=thresholds, limits=limits)
    compare(current, earlier, load_reference(), thresholds)
    return current.report


# Not named ``template``: importing the submodule returns_kit.template would hide it (as
# ``aggregate`` below).
def write_template(council_code: str, period: str, out: str | Path, *, force: bool = False) -> None:
    """Write the blank return for a council and period to ``out`` (.xlsx), as ``returns
    template --council CODE --period YYYY-YY OUT.xlsx`` does: About filled in, Budgets' 26
    rows, a dropdown on every code cell, an Instructions sheet.

    ``out`` must not exist unless ``force`` (then it is replaced whole, never left half
    written). Raises :class:`OutputError` for an ``out`` that exists (or is a folder), and
    ``returns_kit.template.TemplateError`` (a :class:`ReturnsKitError`) for a council not in
    the reference list, a period not ``YYYY-YY`` or one in which the council had no adult
    social services responsibilities.
    """
    from returns_kit.outputs import check_new_file
    from returns_kit.template import build_template

    check_new_file(Path(out), replace=force)
    build_template(council_code, period, Path(out))


def write_annotated(source: str | Path, report: FileReport, out: str | Path) -> None:
    """Write a copy of ``source`` to ``out`` with ``report``'s findings marked, as ``returns
    validate FILE --annotate OUT.xlsx`` does: each finding's cell coloured by severity with a
    comment, and a first sheet "Findings" linking to every one. ``source`` is never changed.

    ``report`` is :func:`validate_file` of ``source``. Raises
    ``returns_kit.annotate.AnnotateError`` (a :class:`ReturnsKitError`) when ``out`` is
    ``source``, not an .xlsx name or not in an existing folder, or when ``source`` is not an
    .xlsx workbook (an .ods, or a file refused as unreadable).
    """
    from returns_kit.annotate import annotate

    annotate(Path(source), report, Path(out))


# Not named ``aggregate``: importing the subpackage returns_kit.aggregate sets that attribute
# of this package to the module, which would hide a function of the same name.
def aggregate_returns(
    paths: Iterable[str | Path],
    out: str | Path | None = None,
    *,
    thresholds: Thresholds | None = None,
    prefer: str | None = None,
    publish: bool = False,
    cache_dir: str | Path | None = None,
    report: bool = True,
) -> AggregateResult:
    """Aggregate every council's returns, as ``returns aggregate PATH... --out OUT`` does.

    ``paths`` are workbooks or folders (searched recursively). The result's ``tables``
    are polars DataFrames by name (manifest, councils, regions, england, breakdowns,
    flags, findings; see docs/aggregate-outputs.md) and its ``exit_code`` is the CLI's
    (0 every input used, 1 any excluded or in conflict).

    With ``out``, the tables are also written there as CSV, Parquet and tables.xlsx, with
    report.html unless ``report`` is false; ``out`` must be new, empty or an earlier
    aggregate's folder (otherwise :class:`OutputError`, before any work); it is replaced
    whole only once everything was written.
    ``prefer="latest"`` resolves two returns for one council and period; ``publish``
    applies disclosure control; ``cache_dir`` keeps validated results between runs
    (the CLI uses ``returns_kit.aggregate.cache.default_cache_dir()``; None caches nothing).
    """
    from returns_kit.aggregate.run import AggregateOptions
    from returns_kit.aggregate.run import aggregate as run_aggregate
    from returns_kit.aggregate.write import check_destination, write_outputs
    from returns_kit.config import Thresholds

    destination = Path(out) if out is not None else None
    if destination is not None:
        check_destination(destination)
    options = AggregateOptions(
        thresholds=thresholds or Thresholds(),
        prefer=prefer,
        publish=publish,
        cache_dir=Path(cache_dir) if cache_dir is not None else None,
    )
    result = run_aggregate([Path(path) for path in paths], options)
    if destination is not None:
        extras = {}
        if report:
            extras["report"] = _report_writer(result.tables, options.thresholds.series_breaks)
        write_outputs(result.tables, destination, extras)
    return result


def _report_writer(tables: dict[str, Any], series_breaks: tuple[str, ...]) -> Any:
    """Draw report.html in this process (the CLI draws it in a second one, to save time)."""
    from returns_kit.html.aggregate_page import REPORT_NAME, aggregate_page
    from returns_kit.html.background import PAGE_TABLES
    from returns_kit.html.render import write_page

    def write(folder: Path) -> None:
        page = aggregate_page(
            {name: tables[name] for name in PAGE_TABLES}, series_breaks=series_breaks
        )
        write_page(page, folder / REPORT_NAME)

    return write
