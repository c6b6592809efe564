"""``returns collect ...``: the click shell over :mod:`returns_kit.ledger.service`.

Imports nothing of Django at module level: returns_kit.cli registers this group on every run,
and only a collection command loads the ledger.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click

EXIT_FAILED = 1


def _say(text: str, *, err: bool = False, nl: bool = True) -> None:
    """Echo text for people. File names, people's names, reasons and explanations are as
    typed: their control characters are written as \\xNN, so none can move the cursor."""
    from returns_kit.privacy import visible

    click.echo("\n".join(visible(line) for line in text.split("\n")), err=err, nl=nl)


def _collection_dir(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option(
        "--database-url",
        metavar="URL",
        help="The ledger's database: postgresql://USER@HOST/NAME (default: "
        "$RETURNS_DATABASE_URL, or SQLite in DIR/ledger.sqlite3).",
    )(function)
    return click.argument(
        "folder", type=click.Path(path_type=Path, file_okay=False), metavar="DIR"
    )(function)


@contextmanager
def _problems() -> Iterator[None]:
    """A collection or database problem is one line, never a traceback."""
    from returns_kit.ledger.config import CollectionError

    try:
        yield
    except CollectionError as problem:
        raise click.UsageError(str(problem)) from problem
    except UnicodeDecodeError as problem:
        raise click.UsageError(f"a file given is not text: {problem.reason}") from problem
    except OSError as problem:
        raise click.ClickException(
            f"{problem.strerror or problem} ({problem.filename}); nothing was recorded."
            if problem.filename
            else f"{problem}; nothing was recorded."
        ) from problem
    except Exception as problem:
        if type(problem).__module__.startswith(("django.db", "psycopg", "sqlite3")):
            first = str(problem).strip().splitlines()[0] if str(problem).strip() else ""
            raise click.ClickException(
                f"the ledger's database failed ({type(problem).__name__}: {first}); nothing "
                "was recorded."
            ) from problem
        raise


def _open(folder: Path, database_url: str | None) -> Any:
    from returns_kit.ledger.service import open_ledger

    return open_ledger(folder, database_url)


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as problem:
        raise click.BadParameter(f"{value!r} is not a date like 2026-06-30.") from problem


@click.group()
def collect() -> None:
    """Run a collection: a ledger of submissions, explanations, decisions and sign-offs.

    Needs the [collect] extra (Django; psycopg for PostgreSQL). See docs/collections.md.
    """


@collect.command()
@_collection_dir
@click.option("--name", required=True, help="The collection's name.")
@click.option("--periods", required=True, metavar="P,P", help="Periods collected: 2012-13,2013-14.")
@click.option("--soft-deadline", callback=_date, metavar="DATE", help="Shown to councils.")
@click.option(
    "--close",
    callback=_date,
    metavar="DATE",
    help="Hard close: later submissions are refused unless the council is reopened.",
)
@click.option(
    "--councils",
    metavar="CODE,CODE",
    help="Narrow the expected councils (default: every council active in the period).",
)
@click.option(
    "--publish-needs-signoff",
    is_flag=True,
    help="aggregate --collection uses signed-off returns only.",
)
@click.option(
    "--config",
    "thresholds_file",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="TOML whose [thresholds] table the collection keeps.",
)
def init(
    folder: Path,
    database_url: str | None,
    name: str,
    periods: str,
    soft_deadline: date | None,
    close: date | None,
    councils: str | None,
    publish_needs_signoff: bool,
    thresholds_file: Path | None,
) -> None:
    """Start a collection in DIR: write DIR/collection.toml and create the ledger.

    \b
    Example:
        returns collect init pb-2013-14 --name "PB monitoring 2013-14" \\
            --periods 2012-13,2013-14 --soft-deadline 2014-06-30 --close 2014-07-31
    """
    import tomllib

    from returns_kit.config import ConfigError, load_thresholds
    from returns_kit.ledger import service
    from returns_kit.ledger.config import CollectionConfig, parse_councils, parse_periods
    from returns_kit.reference import load_reference

    with _problems():
        table: dict[str, Any] = {}
        if thresholds_file is not None:
            try:
                thresholds = load_thresholds(thresholds_file)
                table = tomllib.loads(thresholds_file.read_text("utf-8")).get("thresholds", {})
            except (ConfigError, OSError) as problem:
                raise click.BadParameter(str(problem), param_hint="--config") from problem
        else:
            from returns_kit.config import Thresholds

            thresholds = Thresholds()
        if soft_deadline and close and close < soft_deadline:
            raise click.BadParameter(
                "the close comes before the soft deadline.", param_hint="--close"
            )
        config = CollectionConfig(
            name=name.strip(),
            periods=parse_periods(periods),
            councils=parse_councils(councils, load_reference()) if councils else (),
            soft_deadline=soft_deadline,
            close=close,
            publish_needs_signoff=publish_needs_signoff,
            thresholds=thresholds,
            thresholds_table=table,
        )
        ledger = service.init(folder, config, database_url)
    from returns_kit.ledger.db import describe

    _say(
        f"Collection {config.name!r} started in {folder}: periods {', '.join(config.periods)}; "
        f"ledger in {describe(ledger.database)}."
    )


@collect.command()
@_collection_dir
@click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    metavar="FILE...",
)
@click.option("--by", default="", metavar="NAME", help="Who sent the files.")
@click.pass_context
def submit(
    ctx: click.Context, folder: Path, database_url: str | None, files: tuple[Path, ...], by: str
) -> None:
    """Validate each FILE and record it as a submission (stored once, by its SHA-256).

    Prints, per file, the council and period, the verdict and what became current. Exit 1
    when a file has errors or was refused after the close.
    """
    from returns_kit.ledger import service

    with _problems():
        ledger = _open(folder, database_url)
        result = service.submit(ledger, list(files), by.strip())
    for outcome in result.outcomes:
        # A refusal is a problem for a person: one line on stderr (and in the log).
        _say(
            f"returns: {outcome.line()}" if outcome.refused else outcome.line(), err=outcome.refused
        )
    ctx.exit(result.exit_code)


@collect.command()
@_collection_dir
@click.option("--council", required=True, metavar="CODE")
@click.option("--period", required=True, metavar="YYYY-YY")
@click.option("--rule", required=True, metavar="RULE", help="The query's rule, e.g. P001.")
@click.option("--scope", metavar="SCOPE", help="The query's scope, e.g. 65+/MEMORY_COGNITION.")
@click.option("--text", metavar="TEXT", help="The explanation.")
@click.option("--withdraw", is_flag=True, help="Withdraw the explanation standing for it.")
@click.option("--by", default="", metavar="NAME")
def explain(
    folder: Path,
    database_url: str | None,
    council: str,
    period: str,
    rule: str,
    scope: str | None,
    text: str | None,
    withdraw: bool,
    by: str,
) -> None:
    """Explain a council's query for a period; it answers the query in later submissions too."""
    from returns_kit.ledger import service

    if withdraw == (text is not None):
        raise click.UsageError("give --text or --withdraw (one of them).")
    with _problems():
        ledger = _open(folder, database_url)
        _say(service.explain(ledger, council, period, rule, scope, text, by, withdraw))


@collect.command()
@_collection_dir
@click.option("--council", required=True, metavar="CODE")
@click.option("--period", required=True, metavar="YYYY-YY")
@click.option("--rule", metavar="RULE", help="The finding decided; without it, the whole return.")
@click.option("--scope", metavar="SCOPE")
@click.option("--accept", "outcome", flag_value="accepted", help="The explanation suffices.")
@click.option("--return", "outcome", flag_value="returned", help="Back to the council.")
@click.option("--reason", required=True, metavar="TEXT")
@click.option("--by", required=True, metavar="NAME")
def review(
    folder: Path,
    database_url: str | None,
    council: str,
    period: str,
    rule: str | None,
    scope: str | None,
    outcome: str | None,
    reason: str,
    by: str,
) -> None:
    """Decide a query or flag of the current return: --accept or --return, with a reason.

    The decision holds for later submissions while the evidence behind the finding is the
    same; a changed figure reopens it.
    """
    from returns_kit.ledger import service

    if outcome is None:
        raise click.UsageError("give --accept or --return.")
    with _problems():
        ledger = _open(folder, database_url)
        _say(service.review(ledger, council, period, rule, scope, outcome, reason, by))


@collect.command()
@_collection_dir
@click.option("--council", required=True, metavar="CODE")
@click.option("--period", required=True, metavar="YYYY-YY")
@click.option("--by", required=True, metavar="NAME", help="The council's named approver.")
def signoff(folder: Path, database_url: str | None, council: str, period: str, by: str) -> None:
    """Sign off the council's current return; prints the receipt (keep it with the file)."""
    from returns_kit.ledger import service

    with _problems():
        ledger = _open(folder, database_url)
        _say(service.signoff(ledger, council, period, by).text())


@collect.command("verify-receipt")
@_collection_dir
@click.argument(
    "receipt", type=click.Path(path_type=Path, exists=True, dir_okay=False), metavar="RECEIPT"
)
@click.argument(
    "file", type=click.Path(path_type=Path, exists=True, dir_okay=False), metavar="FILE"
)
@click.pass_context
def verify_receipt(
    ctx: click.Context, folder: Path, database_url: str | None, receipt: Path, file: Path
) -> None:
    """Check a sign-off RECEIPT against FILE and the ledger (exit 1 when it does not hold)."""
    from returns_kit.ledger import service

    with _problems():
        ledger = _open(folder, database_url)
        ok, line = service.verify_receipt(ledger, receipt.read_text("utf-8"), file)
    if not ok:
        _say(f"returns: {line}", err=True)
        ctx.exit(EXIT_FAILED)
    _say(line)


@collect.command()
@_collection_dir
@click.option("--soft-deadline", callback=_date, metavar="DATE", help="Shown to councils.")
@click.option("--close", callback=_date, metavar="DATE", help="The hard close.")
@click.option("--by", required=True, metavar="NAME")
@click.option("--reason", required=True, metavar="TEXT")
def deadlines(
    folder: Path,
    database_url: str | None,
    soft_deadline: date | None,
    close: date | None,
    by: str,
    reason: str,
) -> None:
    """Move the soft deadline and the hard close (a deadline not given is removed); the
    change is in the log, and a running `returns serve` picks it up.

    \b
    Example:
        returns collect deadlines pb --soft-deadline 2014-07-07 --close 2014-08-07 \\
            --by "National team" --reason "Two councils' systems were down in June."
    """
    from returns_kit.ledger import service

    with _problems():
        ledger = _open(folder, database_url)
        _say(service.set_deadlines(ledger, soft_deadline, close, by, reason))


@collect.command()
@_collection_dir
@click.option("--council", required=True, metavar="CODE")
@click.option("--period", metavar="YYYY-YY", help="One period (default: every period).")
@click.option("--by", required=True, metavar="NAME")
@click.option("--reason", required=True, metavar="TEXT")
def reopen(
    folder: Path, database_url: str | None, council: str, period: str | None, by: str, reason: str
) -> None:
    """Let a council submit after the hard close."""
    from returns_kit.ledger import service

    with _problems():
        ledger = _open(folder, database_url)
        _say(service.reopen(ledger, council, period, by, reason))


@collect.command()
@_collection_dir
@click.option("--period", metavar="YYYY-YY", help="One period (default: every period).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "csv", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--chase",
    is_flag=True,
    help="Only the chase list (not received, or still with errors), as CSV to mail-merge.",
)
def status(
    folder: Path, database_url: str | None, period: str | None, output_format: str, chase: bool
) -> None:
    """Every expected council's status, current return, queries and sign-off; a chase list."""
    from returns_kit.ledger import service

    with _problems():
        ledger = _open(folder, database_url)
        found = service.status(ledger, period)
    if chase:
        click.echo(service.status_csv(found.chase, service.CHASE_FIELDS), nl=False)
    elif output_format == "csv":
        click.echo(service.status_csv(found.councils, service.STATUS_FIELDS), nl=False)
    elif output_format == "json":
        document = {
            "collection": found.collection,
            "periods": list(found.periods),
            "today": found.today.isoformat(),
            "soft_deadline": found.soft_deadline.isoformat() if found.soft_deadline else None,
            "close": found.close.isoformat() if found.close else None,
            "councils": [{k: getattr(c, k) for k in service.STATUS_FIELDS} for c in found.councils],
            "chase": [{k: getattr(c, k) for k in service.CHASE_FIELDS} for c in found.chase],
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        _say(_status_text(found), nl=False)


def _status_text(found: Any) -> str:
    from returns_kit.ledger.service import STATUSES

    out = io.StringIO()
    deadline = ""
    if found.soft_deadline:
        days = (found.soft_deadline - found.today).days
        when = f"in {days} days" if days >= 0 else f"{-days} days ago"
        deadline += f"; soft deadline {found.soft_deadline} ({when})"
    if found.close:
        deadline += f"; hard close {found.close}" + (
            " (closed)" if found.today > found.close else ""
        )
    out.write(f"Collection {found.collection!r} on {found.today}{deadline}\n")
    for period in found.periods:
        rows = [c for c in found.councils if c.period == period]
        counts = {s: sum(1 for c in rows if c.status == s) for s in STATUSES}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        out.write(f"\n{period}: {len(rows)} councils: {summary}\n")
        for c in rows:
            if c.status == "not received":
                continue
            detail = [c.status]
            if c.current_sha256:
                detail.append(f"current {c.current_sha256[:12]}")
            if c.errors:
                detail.append(f"{c.errors} errors")
            if c.queries:
                noun = "query" if c.queries == 1 else "queries"
                detail.append(
                    f"{c.queries} {noun}, {c.unexplained} unexplained, {c.undecided} undecided"
                )
            if c.signed_off_by:
                detail.append(f"signed off by {c.signed_off_by}")
            if c.note:
                detail.append(c.note)
            out.write(f"  {c.council_code} {c.council_name}: {'; '.join(detail)}\n")
    chase = found.chase
    out.write(f"\nChase list: {len(chase)} council-period(s) not received or with errors")
    out.write(" (--chase writes it as CSV).\n" if chase else ".\n")
    return out.getvalue()


@collect.command()
@_collection_dir
@click.option(
    "--verify", is_flag=True, help="Recompute the hash chain; exit 1 naming the first broken entry."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.pass_context
def log(
    ctx: click.Context, folder: Path, database_url: str | None, verify: bool, output_format: str
) -> None:
    """The audit log: every event, each with the hash of the one before."""
    from returns_kit.ledger import service
    from returns_kit.ledger.clock import stamp

    with _problems():
        ledger = _open(folder, database_url)
        if verify:
            count, broken = service.verify_log(ledger)
            if broken is not None:
                click.echo(
                    f"returns: the log is broken at entry {broken.seq}: {broken.why}.", err=True
                )
                ctx.exit(EXIT_FAILED)
            click.echo(f"The log's {count} entries are intact: every hash matches.")
            return
        for entry in service.log_entries(ledger):
            if output_format == "json":
                click.echo(
                    json.dumps(
                        {
                            "seq": entry.seq,
                            "at": stamp(entry.at),
                            "kind": entry.kind,
                            "payload": json.loads(entry.payload),
                            "prev_hash": entry.prev_hash,
                            "hash": entry.hash,
                        },
                        sort_keys=True,
                        ensure_ascii=False,
                    )
                )
            else:
                _say(
                    f"{entry.seq:>5} {stamp(entry.at)} {entry.kind:<12} "
                    f"{entry.hash[:12]} <- {entry.prev_hash[:12]} {entry.payload}"
                )


def _previous_release(ledger: Any) -> Any:
    """A revision keeps every suppression of the collection's last published release, so the
    two cannot be differenced: read from its folder, once that is checked to hold what the
    ledger recorded."""
    from returns_kit.aggregate.publish import PreviousReleaseError, read_previous
    from returns_kit.ledger import service

    with _problems():
        last = service.last_release(ledger)
    if last is None:
        return None
    changed = last.changed()
    if changed:
        raise click.UsageError(
            f"the collection's last release (log entry {last.seq}) in {last.out} is not as it "
            f"was recorded ({', '.join(changed[:3])}{', ...' if len(changed) > 3 else ''}); "
            "give a copy of it with --previous-release DIR."
        )
    try:
        return read_previous(last.out)
    except PreviousReleaseError as problem:
        raise click.UsageError(str(problem)) from problem


def aggregate_collection(
    folder: Path, database_url: str | None, out: Path, options: Any, run: Callable[..., Any]
) -> None:
    """``returns aggregate --collection DIR``: the current returns, annotated; the release
    recorded in the ledger once the outputs are in place. ``run(paths, options, annotate)``
    is the aggregate command's own body, which writes the outputs and returns the result."""
    from returns_kit.ledger import service

    with _problems():
        ledger = _open(folder, database_url)
        inputs = service.release_inputs(ledger)
    if not inputs.paths:
        raise click.UsageError(
            f"the collection in {folder} has no current return to aggregate"
            + (" (publication needs sign-off)" if ledger.config.publish_needs_signoff else "")
            + "."
        )
    options.thresholds = ledger.config.thresholds
    options.periods = ledger.config.periods
    if options.publish and options.previous is None:
        options.previous = _previous_release(ledger)
    if options.cache_dir is not None:  # the collection's own cache, filled as files arrived
        options.cache_dir = folder / service.CACHE_FOLDER

    def annotate(tables: dict[str, Any]) -> dict[str, Any]:
        return service.annotate_tables(tables, inputs)

    def recorded() -> str:
        with _problems():
            seq, outputs = service.record_release(ledger, inputs, out, options.publish)
        left = (
            f"; {len(inputs.left_out)} current return(s) not signed off, left out"
            if inputs.left_out
            else ""
        )
        return (
            f"Release recorded in the ledger (log entry {seq}): {len(inputs.used)} "
            f"submissions, {outputs} outputs{left}."
        )

    run(tuple(inputs.paths), annotate, recorded)


@collect.group()
def user() -> None:
    """The collection's people: council submitters and approvers, national reviewers and
    admins, and their API tokens (for `returns serve`)."""


@user.command("add")
@_collection_dir
@click.option("--name", required=True, metavar="NAME", help="Their sign-in name, e.g. j.smith.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["submitter", "approver", "reviewer", "admin"]),
    help="submitter or approver (of a council); reviewer or admin (national).",
)
@click.option("--council", metavar="CODE", help="Their council's GSS code (council roles).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of asking.",
)
def user_add(
    folder: Path,
    database_url: str | None,
    name: str,
    role: str,
    council: str | None,
    password_stdin: bool,
) -> None:
    """Add a person to the collection in DIR, with a password (asked, not echoed).

    \b
    Example:
        returns collect user add pb-2013-14 --name j.smith --role submitter --council E06000001
    """
    import sys

    from returns_kit.ledger import people

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _problems():
        ledger = _open(folder, database_url)
        _say(people.add_person(ledger, name, role, council, password))


@user.command("token")
@_collection_dir
@click.option("--name", required=True, metavar="NAME")
def user_token(folder: Path, database_url: str | None, name: str) -> None:
    """Print a new API token for NAME (shown once; only its SHA-256 is kept).

    \b
    Example:
        curl -H "Authorization: Bearer $(returns collect user token pb --name ci)" ...
    """
    from returns_kit.ledger import people

    with _problems():
        ledger = _open(folder, database_url)
        click.echo(people.new_token(ledger, name))


@user.command("list")
@_collection_dir
def user_list(folder: Path, database_url: str | None) -> None:
    """List the collection's people and roles."""
    from returns_kit.ledger import people

    with _problems():
        ledger = _open(folder, database_url)
        found = people.people(ledger)
    if not found:
        _say("No one yet: add people with `returns collect user add`.")
    width = max(len(person.name) for person in found)
    for person in found:
        state = "" if person.active else " (inactive)"
        _say(f"{person.name:<{width}}  {person.role:<9}  {person.council_code}{state}".rstrip())


def serve_collection(folder: Path, host: str, port: int, database_url: str | None) -> None:
    """``returns serve``: problems with the folder, database or settings are one line."""
    from returns_kit.ledger.config import FILE

    if not (folder / FILE).is_file():
        raise click.UsageError(
            f"{folder} is not a collection (no {FILE}); start one with `returns collect init`."
        )
    try:
        from returns_kit.service.server import serve
        from returns_kit.service.settings import ServeOptions
    except ImportError as problem:
        raise click.UsageError(
            "serving needs the [collect] extra: pip install 'returns_kit[collect]'"
        ) from problem
    with _problems():
        try:
            serve(ServeOptions(folder, host, port, database_url), announce=_say)
        except KeyboardInterrupt:
            _say("Stopped.")
