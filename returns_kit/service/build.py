"""Building the tables from the service: ``returns aggregate --collection`` in the background.

The national page starts a build (:func:`start`): a ``Build`` row, then this module as its
own process, ``python -m returns_kit.service.build DIR BUILD_ID``, which runs the aggregate
of the collection into ``DIR/builds/<id>/`` exactly as the command line does (the command
itself, as a subprocess: its checks, its report process and its recording of the release
are the command's, so the page and the command cannot drift apart) and records in the row
how it ended. Only one build runs at a time: a second is refused while one is queued or
running. The database URL reaches the processes through ``RETURNS_DATABASE_URL`` (never
the command line, where other users of the machine could read a password in it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from returns_kit.ledger.clock import now
from returns_kit.ledger.config import CollectionError
from returns_kit.ledger.service import Ledger, writing

#: where builds write, inside the collection folder
FOLDER = "builds"
#: a build still "running" after this long has lost its process (the machine restarted):
#: it no longer holds off the next one, and shows as failed
STALE = timedelta(hours=2)
#: how long the aggregate may run before the build gives up on it
TIMEOUT_SECONDS = 90 * 60
DATABASE_VARIABLE = "RETURNS_DATABASE_URL"


class BuildRunning(CollectionError):
    """A build is already queued or running."""


def out_folder(ledger: Ledger, build: Any) -> Path:
    return ledger.folder.resolve() / FOLDER / str(build.pk)


def builds(ledger: Ledger) -> list[Any]:
    """The collection's builds, latest first, with stale ones shown as failed."""
    from returns_kit.ledger.models import Build

    found = list(Build.objects.filter(collection=ledger.collection).order_by("-pk"))
    for row in found:
        _mark_if_stale(row)
    return found


def build_of(ledger: Ledger, build_id: int) -> Any | None:
    from returns_kit.ledger.models import Build

    row = Build.objects.filter(collection=ledger.collection, pk=build_id).first()
    if row is not None:
        _mark_if_stale(row)
    return row


def _mark_if_stale(row: Any) -> None:
    from returns_kit.ledger.models import Build

    if row.status in (Build.QUEUED, Build.RUNNING) and now() - row.started_at > STALE:
        row.status = Build.FAILED
        row.message = (
            f"The build did not finish within {STALE.seconds // 3600} hours: its process "
            "was lost (the server may have restarted). Start another."
        )


def start(ledger: Ledger, by: str, database_url: str | None) -> Any:
    """Record a new build and start its process; refused while another is queued or running.

    The check and the new row are one transaction under the collection's write lock, so two
    people pressing the button at once start one build, not two."""
    from returns_kit.ledger.models import Build

    with writing(ledger):
        active = [
            row
            for row in Build.objects.filter(
                collection=ledger.collection, status__in=(Build.QUEUED, Build.RUNNING)
            )
            if now() - row.started_at <= STALE
        ]
        if active:
            raise BuildRunning(
                f"build {active[0].pk} (started by {active[0].by}) is still running: wait for "
                "it to finish."
            )
        row = Build.objects.create(collection=ledger.collection, by=by, started_at=now())
        row.out = f"{FOLDER}/{row.pk}"
        row.save(update_fields=["out"])
    environment = dict(os.environ)
    if database_url:
        environment[DATABASE_VARIABLE] = database_url
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "returns_kit.service.build", str(ledger.folder), str(row.pk)],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a build outlives a request, and is not killed with it
        )
    except OSError as problem:  # recorded, so that it does not hold off the next build
        row.status, row.finished_at = Build.FAILED, now()
        row.message = f"the build's process could not start ({problem.strerror or problem})."
        row.save(update_fields=["status", "message", "finished_at"])
        return row
    # Reap it when it ends, so the server keeps no zombie processes.
    threading.Thread(target=process.wait, daemon=True).start()
    return row


@dataclass(frozen=True)
class Ended:
    status: str
    message: str


def _summary(done: subprocess.CompletedProcess[str]) -> Ended:
    """How the aggregate ended, in the command's own words: its lines to the person (stdout
    and stderr), never a traceback, which would be for the developers."""
    from returns_kit.ledger.models import Build

    said = [line for line in done.stdout.splitlines() if line.strip()]
    problems = [
        line
        for line in done.stderr.splitlines()
        if line.strip() and not line.startswith((" ", "Traceback"))
    ]
    recorded = any(line.startswith("Release recorded") for line in said)
    if recorded:
        return Ended(Build.DONE, "\n".join(said + problems))
    last = problems[-1:] or said[-1:] or [f"the aggregate stopped (exit {done.returncode})"]
    return Ended(Build.FAILED, "\n".join(last))


def run(folder: Path, build_id: int) -> int:
    """The build's own process: run the aggregate and record how it ended."""
    from returns_kit.ledger.service import open_ledger

    ledger = open_ledger(folder, None)  # the database from RETURNS_DATABASE_URL, if any
    from returns_kit.ledger.models import Build  # Django is set up once the ledger is open

    row = Build.objects.get(collection=ledger.collection, pk=build_id)
    row.status = Build.RUNNING
    row.save(update_fields=["status"])
    out = out_folder(ledger, row)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "returns_kit", "aggregate", "--collection", str(folder),
             "--out", str(out)],
            capture_output=True, text=True, timeout=TIMEOUT_SECONDS, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        ended = _summary(done)
    except subprocess.TimeoutExpired:
        ended = Ended(Build.FAILED, f"the aggregate took longer than {TIMEOUT_SECONDS // 60} min.")
    except Exception as problem:  # recorded for the page: a build never just vanishes
        ended = Ended(Build.FAILED, f"the build could not run ({type(problem).__name__}).")
    row.status, row.message, row.finished_at = ended.status, ended.message, now()
    row.save(update_fields=["status", "message", "finished_at"])
    return 0 if ended.status == Build.DONE else 1


def outputs(ledger: Ledger, row: Any) -> dict[str, str]:
    """The files a finished build wrote, {name relative to its folder: SHA-256}, as the
    ledger recorded its release: the only names the service will serve from it."""
    from returns_kit.ledger.models import Build, Release

    if row.status != Build.DONE:
        return {}
    release = (
        Release.objects.filter(collection=ledger.collection, out=str(out_folder(ledger, row)))
        .order_by("-seq")
        .first()
    )
    return dict(release.outputs) if release is not None else {}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m returns_kit.service.build DIR BUILD_ID", file=sys.stderr)
        return 2
    return run(Path(argv[0]), int(argv[1]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
