"""A new SQLite ledger made in the test process starts as a copy of one that Django's
migrate made earlier in the same run, as Django's own test runner clones its test database
rather than migrating it again for each worker.

Migrating a new ledger costs about 0.4 s of CPU (Django renders every model of every
migration), and the default run makes about 60 ledgers in process: some 20 s of its 200.
The first new ledger of each pytest worker is migrated for real and kept; each later one is
copied from it with SQLite's backup API, page by page into the open connection. A ledger
that already has tables (an earlier returns_kit's, or an upgrade test's half-migrated one)
is migrated for real, and so is every ledger on PostgreSQL and every one a `returns`
process makes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path


def migrate_from(template: Path, migrate: Callable[[], None]) -> Callable[[], None]:
    """``migrate`` for a new SQLite ledger from ``template`` (made by ``migrate`` on first use)."""

    def migrate_new_from_template() -> None:
        from django.db import connections

        from returns_kit.ledger.db import ALIAS

        connection = connections[ALIAS]
        if connection.vendor != "sqlite" or connection.introspection.table_names():
            migrate()
            return
        connection.ensure_connection()
        if template.exists():
            # closing, not the connection's own `with`, which commits and leaves it open
            with closing(sqlite3.connect(template)) as source:
                source.backup(connection.connection)
            return
        migrate()
        with closing(sqlite3.connect(template)) as copy:
            connection.connection.backup(copy)

    return migrate_new_from_template
