"""The ``returns`` command line: a thin shell over the library; the only module importing click.

Library modules are imported inside the commands, so that ``returns --help``
stays quick and never loads polars.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from returns_kit import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _existing_file(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Check paths up front so a missing file is a one-line usage error, not a finding."""
    values = value if isinstance(value, tuple) else (value,)
    for item in values:
        if item is None:
            continue
        path = Path(item)
        if not path.exists():
            raise click.BadParameter(f"{item} does not exist.")
        if path.is_dir():
            raise click.BadParameter(f"{item} is a folder; give workbook files.")
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="returns")
def cli() -> None:
    """Check and aggregate English councils' personal budget monitoring returns."""


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
    help="The same council's return for the period before (or its one-to-one "
    "predecessor's), for the period-to-period rules. Takes one FILE.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people; json, one document on stdout, for machines.",
)
@click.option(
    "--strict", is_flag=True, help="Fail (exit 1) on unexplained queries as well as on errors."
)
@click.pass_context
def validate(
    ctx: click.Context,
    files: tuple[Path, ...],
    previous: Path | None,
    output_format: str,
    strict: bool,
) -> None:
    """Check returns against the return format and report every finding.

    Exit status: 0 when no file has an error (with --strict, nor an unexplained
    query), 1 when any has, 2 for a usage problem.

    \b
    Example:
        returns validate our-return.xlsx
        returns validate returns/*.xlsx --format json --strict
    """
    from returns_kit.pairing import pairing_problem
    from returns_kit.reference import load_reference
    from returns_kit.report import Report
    from returns_kit.validate import validate_file

    if previous is not None and len(files) != 1:
        raise click.UsageError("--previous pairs with exactly one FILE.")
    reports = [validate_file(path) for path in files]
    if previous is not None:
        problem = pairing_problem(reports[0], validate_file(previous), load_reference())
        if problem:
            raise click.UsageError(problem)
    report = Report(reports, strict=strict)
    if output_format == "json":
        click.echo(report.to_json())
    else:
        from returns_kit._output import render_text

        click.echo(render_text(report))
    ctx.exit(report.exit_code)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; usage problems are one line on stderr and exit 2, never a traceback."""
    try:
        result = cli.main(args=argv, prog_name="returns", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
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
    return result if isinstance(result, int) else EXIT_OK


def run() -> None:
    sys.exit(main())
