"""The ``returns`` command line: a thin shell over the library; the only module importing click.

Library modules are imported inside the commands, so that ``returns --help``
stays quick and never loads polars.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from returns_kit import __version__
from returns_kit.ledger.cli import collect as collect_group

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _existing(ctx: click.Context, param: click.Parameter, value: Any, *, folders: bool) -> Any:
    """Check paths up front so a missing one is a one-line usage error, not a finding."""
    values = value if isinstance(value, tuple) else (value,)
    for item in values:
        if item is None:
            continue
        path = Path(item)
        if not path.exists():
            raise click.BadParameter(f"{item} does not exist.")
        if path.is_dir() and not folders:
            raise click.BadParameter(f"{item} is a folder; give workbook files.")
    return value


def _periods_option(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """--periods 2012-13,2013-14: each a financial year, YYYY-YY."""
    from returns_kit.periods import Period

    if value is None:
        return None
    periods = tuple(p.strip() for p in value.split(",") if p.strip())
    bad = [p for p in periods if Period.parse(p) is None]
    if bad or not periods:
        raise click.BadParameter(f"{bad[0] if bad else value!r} is not a period like 2013-14.")
    return periods


def _existing_file(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    return _existing(ctx, param, value, folders=False)


def _existing_path(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    return _existing(ctx, param, value, folders=True)


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().meta["returns_kit.debug"] = True


def debug_option(function: Any) -> Any:
    """--debug: the traceback of an internal error (X001) on stderr (on the group and the
    commands that validate, so it may come before or after the command's name)."""
    return click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_debug,
        help="Print the traceback of an internal error (X001) to stderr, to report it.",
    )(function)


def _debug() -> bool:
    return bool(click.get_current_context().find_root().meta.get("returns_kit.debug"))


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(__version__, prog_name="returns")
@debug_option
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Check and aggregate English councils' personal budget monitoring returns."""
    if ctx.invoked_subcommand is None:
        # `returns` alone asks what the tool does: the help, and success.
        click.echo(ctx.get_help())


def _thresholds(ctx: click.Context, param: click.Parameter, value: Path | None) -> Any:
    """Load --config early, so a bad file is a usage error before any work is done."""
    from returns_kit.config import ConfigError, load_thresholds

    if value is not None and not value.exists():
        raise click.BadParameter(f"{value} does not exist.")
    try:
        return load_thresholds(value)
    except ConfigError as problem:
        raise click.BadParameter(str(problem)) from problem


def config_option(function: Any) -> Any:
    """--config: thresholds from a TOML file (shared by the commands that run rules)."""
    return click.option(
        "--config",
        "thresholds",
        type=click.Path(path_type=Path),
        callback=_thresholds,
        metavar="FILE",
        help="TOML file whose [thresholds] table changes the rules' thresholds "
        "(see docs/configuration.md).",
    )(function)


@cli.command()
@click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path),
    callback=_existing_file,
    metavar="FILE...",
)
@click.option(
    "--previous",
    type=click.Path(path_type=Path),
    callback=_existing_file,
    metavar="FILE",
    help="The same council's return for the period before (or a predecessor's), to run the "
    "period-to-period rules P001-P006. Takes one FILE.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github", "junit"]),
    default="text",
    show_default=True,
    help="text for people; json, one document on stdout, for machines; github, workflow "
    "commands that annotate the workbooks in a pull request; junit, JUnit XML for CI.",
)
@click.option(
    "--strict", is_flag=True, help="Fail (exit 1) on unexplained queries as well as on errors."
)
@click.option(
    "--annotate",
    type=click.Path(path_type=Path),
    metavar="OUT.xlsx",
    help="Write a copy of the workbook (never the original) with each finding's cell "
    "coloured by severity and commented, and a first sheet listing every finding with a "
    "link to its cell. Takes one FILE.",
)
@click.option(
    "--html",
    "html_out",
    type=click.Path(path_type=Path),
    metavar="OUT.html",
    help="Write one self-contained page for the council officer: headline measures, "
    "findings by sheet with their cells, the queries to explain and how, and with "
    "--previous the change since then. Takes one FILE.",
)
@config_option
@debug_option
@click.pass_context
def validate(
    ctx: click.Context,
    files: tuple[Path, ...],
    previous: Path | None,
    output_format: str,
    strict: bool,
    annotate: Path | None,
    html_out: Path | None,
    thresholds: Any,
) -> None:
    """Check returns against the return format and report every finding.

    Exit status: 0 when no file has an error (with --strict, nor an unexplained
    query), 1 when any has, 2 for a usage problem.

    \b
    Example:
        returns validate our-return.xlsx
        returns validate our-return.xlsx --previous last-year.xlsx
        returns validate our-return.xlsx --annotate our-return-checked.xlsx
        returns validate our-return.xlsx --previous last-year.xlsx --html check.html
        returns validate returns/*.xlsx --format json --strict
    """
    from returns_kit.report import Report
    from returns_kit.validate import Validated, validate_return

    if previous is not None and len(files) != 1:
        raise click.UsageError("--previous pairs with exactly one FILE.")
    if annotate is not None and len(files) != 1:
        raise click.UsageError("--annotate writes a copy of exactly one FILE.")
    if html_out is not None and len(files) != 1:
        raise click.UsageError("--html writes the page of exactly one FILE.")
    if annotate is not None and files[0].suffix.casefold() == ".ods":
        raise click.BadParameter(
            f"{files[0]} is an OpenDocument spreadsheet (.ods); only .xlsx workbooks can be "
            "annotated. Save it as .xlsx first, then annotate that.",
            param_hint="'--annotate'",
        )
    inputs = (*files, *([previous] if previous else []))
    check_outputs(inputs, ("--annotate", annotate, ".xlsx"), ("--html", html_out, None))
    validated = [validate_return(path, thresholds=thresholds) for path in files]
    earlier: Validated | None = None
    if previous is not None:
        # Imported only for --previous: a plain run has no use for them.
        from returns_kit.pairing import PairingError, compare
        from returns_kit.reference import load_reference

        reference = load_reference()
        current, earlier = validated[0], validate_return(previous, thresholds=thresholds)
        report_internal_errors(_failed([current, earlier]))
        try:
            compare(current, earlier, reference, thresholds)
        except PairingError as problem:
            raise click.UsageError(str(problem)) from problem
    report = Report([item.report for item in validated], strict=strict)
    click.echo(_render(report, output_format))
    if previous is None:
        report_internal_errors(_failed(validated))
    exit_code = report.exit_code
    if annotate is not None:
        from returns_kit.annotate import AnnotateError
        from returns_kit.annotate import annotate as write_annotated

        try:
            write_annotated(files[0], report.files[0], annotate)
        except AnnotateError as problem:
            if report.files[0].valid:
                raise click.UsageError(f"--annotate: {problem}") from problem
            # The report above says why the file cannot be read: its errors decide the exit.
            click.echo(f"returns validate: no annotated copy written: {problem}", err=True)
    if html_out is not None:
        from returns_kit.html.render import write_page
        from returns_kit.html.validate_page import validate_page

        page = validate_page(validated[0], earlier, strict=strict, thresholds=thresholds)
        try:
            write_page(page, html_out)
        except OSError as problem:
            raise click.UsageError(f"--html: cannot write {html_out}: {problem.strerror}") from None
    ctx.exit(exit_code)


def check_outputs(inputs: tuple[Path, ...], *outputs: tuple[str, Path | None, str | None]) -> None:
    """The library's check of every output before any work, as one usage line."""
    from returns_kit.outputs import check_outputs as check

    with _output_problems():
        check(inputs, *outputs)


@contextlib.contextmanager
def _output_problems() -> Iterator[None]:
    """An output that may not be written, as a usage error naming its option."""
    from returns_kit.outputs import OutputError

    try:
        yield
    except OutputError as problem:
        if problem.option:
            hint = f"'{problem.option}'"
            raise click.BadParameter(str(problem), param_hint=hint) from problem
        raise click.UsageError(str(problem)) from problem


def _failed(results: list[Any]) -> list[tuple[str, str]]:
    """(path, traceback) of the validated files returns_kit failed on (X001)."""
    return [(item.report.path, item.traceback) for item in results if item.traceback]


def report_internal_errors(failed: list[tuple[str, str]]) -> None:
    """Say on stderr that returns_kit failed on some files (X001): the tracebacks under
    --debug, else one line pointing to it."""
    if not failed:
        return
    if _debug():
        for path, trace in failed:
            click.echo(f"returns: internal error (X001) on {path}:\n{trace.rstrip()}", err=True)
        return
    click.echo(
        f"returns: returns_kit failed on {len(failed):,} file(s) (X001, a defect of ours); "
        "run again with --debug to see the traceback, and please report it.",
        err=True,
    )


def _render(report: Any, output_format: str) -> str:
    if output_format == "json":
        return str(report.to_json())
    if output_format in ("github", "junit"):
        from returns_kit.ci_formats import render_github, render_junit

        return render_github(report) if output_format == "github" else render_junit(report)
    from returns_kit._output import render_text

    return render_text(report)


@cli.command()
@click.option("--council", required=True, metavar="CODE", help="The council's GSS code.")
@click.option("--period", required=True, metavar="YYYY-YY", help="The financial year.")
@click.argument("out", type=click.Path(path_type=Path), metavar="OUT.xlsx")
@click.option("--force", is_flag=True, help="Replace OUT.xlsx if it exists.")
def template(council: str, period: str, out: Path, force: bool) -> None:
    """Write a blank return for a council and period, built from the JSON Schemas.

    About is filled in (reference name, period, schema version); Budgets has its 26
    rows; every code cell has a dropdown of codes and labels, number cells are
    checked, and an Instructions sheet gives each column's meaning.

    \b
    Example:
        returns template --council E06000066 --period 2023-24 somerset-2023-24.xlsx
    """
    from returns_kit.outputs import check_new_file
    from returns_kit.template import TemplateError, build_template

    check_outputs((), ("OUT.xlsx", out, ".xlsx"))
    with _output_problems():
        check_new_file(out, replace=force)
    _check_council(council)
    try:
        build_template(council, period, out)
    except TemplateError as problem:
        raise click.UsageError(str(problem)) from problem
    except OSError as problem:
        raise click.UsageError(f"cannot write {out}: {problem.strerror}") from problem
    click.echo(f"Blank return for {council.strip().upper()} {period} written to {out}")


def _check_council(given: str) -> None:
    """A --council that is not a code in the reference list: the codes it may mean."""
    from returns_kit.reference import council_hint, load_reference

    hint = council_hint(load_reference(), given, option="--council")
    if hint is not None:
        raise click.BadParameter(hint, param_hint="'--council'")


class _Progress:
    """A one-line bar with counts on stderr, shown only to a person at a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.shown = False

    def __call__(
        self, done: int, total: int, stage: str = "validating", unit: str = "files"
    ) -> None:
        if not self.enabled or total == 0:
            return
        width = 30
        filled = width * done // total
        bar = "#" * filled + "-" * (width - filled)
        # Padded so that a shorter line (the next stage's) covers the one before it.
        line = f"{stage} [{bar}] {done:,}/{total:,} {unit}"
        click.echo(f"\r{line:<60}", nl=False, err=True)
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            click.echo(err=True)


@cli.command()
@click.argument(
    "paths",
    nargs=-1,
    type=click.Path(path_type=Path),
    callback=_existing_path,
    metavar="PATH...",
)
@click.option(
    "--collection",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    metavar="DIR",
    help="Aggregate a collection's current returns (see `returns collect`) instead of PATHs, "
    "with its explanations and decisions on the flags, and record the release in its ledger.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    metavar="DIR",
    help="Folder for the tables (CSV, Parquet, tables.xlsx); replaced whole on success.",
)
@click.option(
    "--prefer",
    type=click.Choice(["latest"]),
    help="When two different returns of a council for a period carry the same submitted_on, "
    "use the file modified last instead of leaving both out as a conflict. (A later "
    "submitted_on always supersedes an earlier one.)",
)
@click.option(
    "--periods",
    callback=_periods_option,
    metavar="YYYY-YY,...",
    help="The periods being collected, e.g. 2012-13,2013-14: returns for other periods are "
    "listed as unused, and missing councils are counted for these only. Default: the periods "
    "the returns name.",
)
@click.option(
    "--publish",
    is_flag=True,
    help="Disclosure control: suppress counts of 1 to 4 and enough other cells that none can "
    "be worked back from the totals, even to within 1 to 4; writes disclosure.json.",
)
@click.option(
    "--previous-release",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    metavar="DIR",
    help="With --publish: an earlier release of the same periods; every cell it suppressed "
    "stays suppressed, so the two cannot be differenced. With --collection it defaults to "
    "the collection's last published release, checked against the ledger.",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Where validated returns are cached, a folder only you may write (default: "
    "$XDG_CACHE_HOME/returns_kit, else ~/.cache/returns_kit; see `returns cache info`).",
)
@click.option("--no-cache", is_flag=True, help="Validate every file afresh; cache nothing.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--no-report",
    is_flag=True,
    help="Do not write report.html (the page of trends, spread, flags and coverage).",
)
@click.option(
    "--gx",
    "run_gx",
    is_flag=True,
    help="Also run a Great Expectations checkpoint over the national tables and write its "
    "Data Docs to DIR/gx/ (needs the [gx] extra). Exit 3 when it finds them inconsistent.",
)
@config_option
@debug_option
@click.pass_context
def aggregate(
    ctx: click.Context,
    paths: tuple[Path, ...],
    out: Path,
    prefer: str | None,
    periods: tuple[str, ...] | None,
    publish: bool,
    previous_release: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
    quiet: bool,
    no_report: bool,
    run_gx: bool,
    thresholds: Any,
    collection: Path | None = None,
) -> None:
    """Aggregate every council's returns into national tables, flags and a manifest.

    Reads every workbook under the PATHs (files or folders), validates each, and
    writes manifest, councils, regions, england, breakdowns, flags and findings
    tables to --out (and transitions and label_only where councils sent Clients
    sheets; not with --publish), with report.html, one self-contained page of charts
    and tables.
    Same bytes under several names are one return; a later submitted_on supersedes;
    lock files (~$...), hidden files and the --out folder are not read.
    Exit status: 0 when nothing needs a person, 1 when a return has errors or returns
    are in conflict, 2 for a usage problem (no workbook at all, say), 3 when the --gx
    checkpoint fails.

    \b
    Example:
        returns aggregate returns/ --out tables/
        returns aggregate returns/ --out published/ --publish --periods 2012-13,2013-14
    """
    import sys

    from returns_kit.aggregate.cache import CacheDirError, default_cache_dir, prepare_cache_dir
    from returns_kit.aggregate.run import AggregateOptions
    from returns_kit.aggregate.write import check_destination
    from returns_kit.html.background import BackgroundReport

    with _output_problems():
        check_destination(out)
    folder = None if no_cache else (cache_dir or default_cache_dir())
    if folder is not None:
        try:
            prepare_cache_dir(folder)
        except CacheDirError as problem:
            raise click.UsageError(str(problem)) from problem
    if run_gx:
        _require_gx()
    previous = None
    if previous_release is not None:
        from returns_kit.aggregate.publish import PreviousReleaseError, read_previous

        if not publish:
            raise click.UsageError("--previous-release needs --publish.")
        try:
            previous = read_previous(previous_release)
        except PreviousReleaseError as problem:
            raise click.UsageError(str(problem)) from problem
    options = AggregateOptions(
        thresholds=thresholds,
        prefer=prefer,
        publish=publish,
        previous=previous,
        cache_dir=folder,
        periods=periods,
        out=out,
    )
    if bool(paths) == bool(collection):
        raise click.UsageError("give PATH... or --collection DIR (one of them).")
    progress = _Progress(enabled=not quiet and sys.stderr.isatty())
    # The report's process starts now, to import its plotting library on the idle core.
    report = None if no_report else BackgroundReport().start()
    try:
        if collection is not None:
            from returns_kit.ledger.cli import aggregate_collection

            aggregate_collection(
                collection,
                None,
                out,
                options,
                lambda inputs, annotate, recorded: _aggregate_and_write(
                    inputs, out, options, progress, report, gx=run_gx, ledger=(annotate, recorded)
                ),
            )
        else:
            _aggregate_and_write(paths, out, options, progress, report, gx=run_gx)
    finally:
        if report is not None:
            report.close()


def _aggregate_and_write(
    paths: tuple[Path, ...],
    out: Path,
    options: Any,
    progress: _Progress,
    report: Any,
    *,
    gx: bool = False,
    ledger: Any = None,
) -> None:
    from returns_kit.aggregate.publish import ProtectionError
    from returns_kit.aggregate.run import NoReturns
    from returns_kit.aggregate.run import aggregate as run_aggregate
    from returns_kit.aggregate.tables import ReconciliationError
    from returns_kit.aggregate.write import write_outputs
    from returns_kit.html.background import ReportError

    ctx = click.get_current_context()
    failures = _InternalErrors()
    try:
        with failures:
            result = run_aggregate(paths, options, progress)
    except NoReturns as problem:
        raise click.UsageError(str(problem)) from problem
    except ReconciliationError as problem:
        raise click.ClickException(
            f"internal error, totals do not reconcile: {problem}"
        ) from problem
    except ProtectionError as problem:
        raise click.ClickException(f"cannot publish: {problem}; nothing was written.") from problem
    finally:
        progress.finish()
        report_internal_errors(failures.failed)
    for warning in result.selection.warnings:
        click.echo(warning, err=True)
    if ledger is not None:  # --collection: annotate the tables; record the release once written
        result.tables = ledger[0](result.tables)
    extras: dict[str, Any] = {}
    if report is not None:
        report.draw(result.tables, options.thresholds.series_breaks)
        extras["report"] = report.writer()
    if result.certificate is not None:
        extras["disclosure"] = result.certificate.write
    data_docs = _gx_data_docs(result.tables) if gx else None
    if data_docs is not None:
        extras["gx"] = data_docs
    try:
        write_outputs(result.tables, out, extras)
    except ReportError as problem:
        raise click.ClickException(
            f"internal error, report.html could not be drawn ({problem}); nothing was "
            "written. --no-report writes the tables without it."
        ) from problem
    click.echo(result.summary(out))
    if ledger is not None:
        click.echo(ledger[1]())
    if data_docs is not None:
        _report_gx(ctx, data_docs, out)
    ctx.exit(result.exit_code)


class _InternalErrors(logging.Handler):
    """Collects the files returns_kit failed on (X001) while a batch runs, with tracebacks."""

    LOGGER = "returns_kit.internal"

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.failed: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        path = str(record.args[0]) if isinstance(record.args, tuple) and record.args else "?"
        self.failed.append((path, getattr(record, "traceback", None) or record.getMessage()))

    def __enter__(self) -> _InternalErrors:
        logger = logging.getLogger(self.LOGGER)
        logger.addHandler(self)
        self._propagate, logger.propagate = logger.propagate, False
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger(self.LOGGER)
        logger.removeHandler(self)
        logger.propagate = self._propagate


#: Exit status of ``aggregate --gx`` when GX finds the national tables inconsistent.
EXIT_GX_FAILED = 3


def _require_gx() -> None:
    """Import GX now, so that a missing extra is a usage error before any work is done."""
    from returns_kit.gx.engine import GXUnavailable, gx

    try:
        gx()
    except GXUnavailable as problem:
        raise click.UsageError(str(problem)) from problem


def _gx_data_docs(tables: Any) -> Any:
    from returns_kit.gx.checkpoint import DataDocs

    return DataDocs(tables)


def _report_gx(ctx: click.Context, data_docs: Any, out: Path) -> None:
    """One line for the GX verdict: on stdout when it passed, on stderr (exit 3) when not."""
    from returns_kit.gx.checkpoint import DOCS_FOLDER

    verdict = data_docs.verdict
    line = verdict.line(out / DOCS_FOLDER)
    if verdict.success:
        click.echo(line)
        return
    click.echo(f"returns: {line}", err=True)
    ctx.exit(EXIT_GX_FAILED)


@cli.command("gx-suite")
@click.argument("sheet", metavar="SHEET")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Write the suite to FILE instead of standard output.",
)
def gx_suite(sheet: str, out: Path | None) -> None:
    """Export a Great Expectations suite for SHEET, built from the JSON Schemas.

    SHEET is About, Budgets, Services, Clients or Explanations (any case). The suite
    holds the sheet's structural checks (required columns and values, code lists,
    number and date forms, minimums, patterns, unique keys), each with the rule it
    stands for in meta.rule; meta.not_covered lists the checks GX cannot make, and
    meta.frame says what frame the suite applies to. Needs the [gx] extra.

    \b
    Example:
        returns gx-suite Budgets --out budgets.suite.json
    """
    from returns_kit.gx.engine import GXUnavailable
    from returns_kit.gx.plan import UnknownSheet, canonical_sheet
    from returns_kit.gx.suite import suite_json

    check_outputs((), ("--out", out, None))
    try:
        name = canonical_sheet(sheet)
    except UnknownSheet as problem:
        raise click.BadParameter(str(problem), param_hint="SHEET") from problem
    try:
        text = suite_json(name)
    except GXUnavailable as problem:
        raise click.UsageError(str(problem)) from problem
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as problem:
        raise click.UsageError(f"cannot write {out}: {problem.strerror}") from problem
    click.echo(f"{name} suite written to {out}")


def _cache_dir_option(function: Any) -> Any:
    return click.option(
        "--cache-dir",
        type=click.Path(path_type=Path, file_okay=False),
        metavar="DIR",
        help="The cache folder, if aggregate was given --cache-dir "
        "(default: $XDG_CACHE_HOME/returns_kit, else ~/.cache/returns_kit).",
    )(function)


@cli.group()
def cache() -> None:
    """Where aggregate keeps validated returns, how big the cache is, and how to empty it.

    aggregate keeps each file's validation result, keyed by the file's content, the
    thresholds and returns_kit's own code and data, so a rerun validates only what
    changed. Entries are JSON (data only) in a folder only you may write.

    \b
    Example:
        returns cache info
        returns cache clear
    """


@cache.command("info")
@_cache_dir_option
def cache_info_command(cache_dir: Path | None) -> None:
    """Say where the cache is, how many entries it holds, and their size."""
    from returns_kit.aggregate.cache import cache_info, default_cache_dir

    info = cache_info(cache_dir or default_cache_dir())
    state = "" if info.folder.is_dir() else " (not created yet)"
    click.echo(
        f"{info.folder}{state}: {info.entries:,} entries, {_size(info.bytes)}. "
        "`returns cache clear` empties it."
    )


@cache.command("clear")
@_cache_dir_option
def cache_clear_command(cache_dir: Path | None) -> None:
    """Delete every cache entry (only files named as entries; the folder stays)."""
    from returns_kit.aggregate.cache import clear_cache, default_cache_dir

    folder = cache_dir or default_cache_dir()
    try:
        info = clear_cache(folder)
    except OSError as problem:
        raise click.UsageError(f"cannot clear {folder}: {problem.strerror}") from problem
    click.echo(f"{info.entries:,} entries ({_size(info.bytes)}) removed from {info.folder}")


def _size(count: int) -> str:
    if count < 1024 * 1024:
        return f"{count / 1024:,.1f} KB"
    return f"{count / 1024 / 1024:,.1f} MB"


cli.add_command(collect_group)  # `returns collect ...`: the collection ledger


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False), metavar="DIR")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--database-url",
    metavar="URL",
    help="The ledger's database (default: $RETURNS_DATABASE_URL, or SQLite in DIR).",
)
def serve(folder: Path, host: str, port: int, database_url: str | None) -> None:
    """Serve the collection in DIR: councils submit and explain in a browser, the national
    team reviews and builds the tables; a JSON API for machines (docs/api.md).

    \b
    Settings from the environment: RETURNS_SECRET_KEY (required off loopback),
    RETURNS_ALLOWED_HOSTS, RETURNS_DATABASE_URL. See docs/deploying.md.
    \b
    Example:
        returns serve pb-2013-14 --port 8000
    """
    from returns_kit.ledger.cli import serve_collection

    serve_collection(folder, host, port, database_url)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; usage problems are one line on stderr and exit 2, never a traceback."""
    try:
        result = cli.main(args=argv, prog_name="returns", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.exceptions.NoArgsIsHelpError as asked:
        # `returns cache` alone, like `returns` alone, asks what it does: help, and success.
        click.echo(asked.ctx.get_help() if asked.ctx else asked.format_message())
        return EXIT_OK
    except click.UsageError as problem:
        command = problem.ctx.command_path if problem.ctx else "returns"
        click.echo(f"{command}: {problem.format_message()}", err=True)
        return EXIT_USAGE
    except click.ClickException as problem:
        click.echo(f"returns: {problem.format_message()}", err=True)
        return problem.exit_code
    except click.Abort:
        click.echo("returns: aborted.", err=True)
        return EXIT_USAGE
    except Exception as problem:  # a defect of ours outside any one file's validation
        if "--debug" in (sys.argv[1:] if argv is None else argv):
            import traceback

            click.echo("".join(traceback.format_exception(problem)).rstrip(), err=True)
        else:
            click.echo(
                f"returns: internal error ({type(problem).__name__}), a defect of returns_kit; "
                "run again with --debug to see the traceback, and please report it.",
                err=True,
            )
        return EXIT_FINDINGS
    return result if isinstance(result, int) else EXIT_OK


def run() -> None:
    sys.exit(main())
