"""Configure Django for one collection's ledger, programmatically (no settings module).

SQLite at ``DIR/ledger.sqlite3`` unless a database URL (``--database-url`` or
``RETURNS_DATABASE_URL``) names a PostgreSQL database. The schema is brought up to date on
every open, so a ledger made by an earlier returns_kit is migrated, never rebuilt.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from returns_kit.ledger.config import CollectionError

URL_VARIABLE = "RETURNS_DATABASE_URL"
SQLITE_FILE = "ledger.sqlite3"
ALIAS = "default"

#: Every Django app a collection uses, in one list for the commands and the web service alike
#: (Django is configured once per process, so the ledger commands cannot start with fewer apps
#: than the service needs): the ledger, and Django's own users and sessions for its people.
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "returns_kit.ledger",
]


def database_settings(folder: Path, url: str | None) -> dict[str, Any]:
    """Django's DATABASES entry for the collection."""
    url = url or os.environ.get(URL_VARIABLE) or None
    if url is None:
        return _sqlite(folder / SQLITE_FILE)
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return _sqlite(Path(unquote(parts.path)))
    if parts.scheme not in ("postgres", "postgresql"):
        raise CollectionError(
            f"the database URL must start postgresql:// or sqlite:///, not {parts.scheme}://"
        )
    query = dict(parse_qsl(parts.query))
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise CollectionError("the database URL names no database (postgresql://host/NAME).")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or "") or query.pop("user", ""),
        "PASSWORD": unquote(parts.password or "") or query.pop("password", ""),
        # a unix socket folder may be given as ?host=/path
        "HOST": unquote(parts.hostname or "") or query.pop("host", ""),
        "PORT": str(parts.port or query.pop("port", "")),
        "OPTIONS": query,
        "CONN_MAX_AGE": 0,
    }


def _sqlite(path: Path) -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        # BEGIN IMMEDIATE takes the write lock when a command starts, so two writers queue
        # (for up to the timeout) instead of one failing midway with "database is locked".
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 120},
    }


def describe(settings: dict[str, Any]) -> str:
    """The database, named without any password."""
    if settings["ENGINE"].endswith("sqlite3"):
        return f"SQLite {settings['NAME']}"
    host = settings["HOST"] or "local socket"
    return f"PostgreSQL {settings['NAME']} on {host}"


def base_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The Django settings every collection process shares; the web service adds its own."""
    return {
        "INSTALLED_APPS": INSTALLED_APPS,
        "DATABASES": {ALIAS: settings},
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "LOGGING_CONFIG": None,
        # PBKDF2, Django's default, without the optional hashers' dependencies
        "PASSWORD_HASHERS": ["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
        "AUTH_PASSWORD_VALIDATORS": [
            {
                "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
                "OPTIONS": {"min_length": 12},
            },
            {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
            {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
        ],
    }


def use(settings: dict[str, Any]) -> None:
    """Point Django's default database at ``settings``; set Django up on first use.

    A process may open several ledgers one after the other (tests, the benchmark), so the
    connection is replaced rather than configured once.
    """
    import django
    from django.conf import settings as django_settings

    if not django_settings.configured:
        django_settings.configure(**base_settings(settings))
        django.setup(set_prefix=False)  # no URLs here: importing django.urls costs 0.15 s
        return
    from django.db import connections

    current = connections.settings.get(ALIAS, {})
    if all(current.get(key) == value for key, value in settings.items()):
        return
    connections.close_all()
    configured = connections.configure_settings({ALIAS: dict(settings)})
    connections.settings[ALIAS] = configured[ALIAS]
    django_settings.DATABASES[ALIAS] = configured[ALIAS]
    del connections[ALIAS]


def migrate() -> None:
    """Apply any migration the database lacks (all of them for a new ledger)."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
