"""The service's Django settings, from the environment and the ``returns serve`` options.

Everything a deployment varies comes from the environment (``RETURNS_SECRET_KEY``,
``RETURNS_DATABASE_URL``, ``RETURNS_ALLOWED_HOSTS``, ``RETURNS_DEBUG``), so several app
processes behind a proxy are configured alike and keep no state outside the database and the
collection folder.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from returns_kit.ledger import db
from returns_kit.ledger.config import CollectionError

SECRET_VARIABLE = "RETURNS_SECRET_KEY"
HOSTS_VARIABLE = "RETURNS_ALLOWED_HOSTS"
DEBUG_VARIABLE = "RETURNS_DEBUG"
#: The reverse proxy's address (e.g. 127.0.0.1 for nginx on the same machine): its
#: X-Forwarded-Proto and X-Forwarded-For are then believed, and the service treats itself as
#: public (secure cookies, a secret key required) even when it listens on loopback.
PROXY_VARIABLE = "RETURNS_TRUSTED_PROXY"
#: Largest upload accepted, checked from the request's Content-Length before any byte is read
#: (the workbook limit of 50 MB plus room for the multipart envelope).
UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024 + 64 * 1024


@dataclass(frozen=True)
class ServeOptions:
    folder: Path
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = None


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def trusted_proxy() -> str | None:
    return os.environ.get(PROXY_VARIABLE, "").strip() or None


def web_settings(options: ServeOptions) -> dict[str, Any]:
    """Django settings for serving ``options.folder``; refuses what would be unsafe.

    On a non-loopback address, or behind a trusted proxy, the server will not start with
    debug on or without a secret key. On loopback alone a missing key is made up for this
    process: sessions then end when it stops, which is what a single person trying the
    service expects.
    """
    debug = _flag(DEBUG_VARIABLE)
    secret = os.environ.get(SECRET_VARIABLE, "").strip()
    proxied = trusted_proxy() is not None
    local = loopback(options.host) and not proxied
    where = f"behind the proxy {trusted_proxy()}" if proxied else f"on {options.host}"
    if not local and debug:
        raise CollectionError(
            f"{DEBUG_VARIABLE} is on: the service serves only loopback (127.0.0.1) in debug."
        )
    if not local and len(secret) < 32:
        raise CollectionError(
            f"set {SECRET_VARIABLE} (at least 32 random characters) to serve {where}."
        )
    hosts = [h.strip() for h in os.environ.get(HOSTS_VARIABLE, "").split(",") if h.strip()]
    if loopback(options.host):
        hosts += ["127.0.0.1", "localhost", "[::1]", "::1"]
    elif not hosts:
        hosts = [options.host]
    settings = db.base_settings(db.database_settings(options.folder, options.database_url))
    settings.update(
        SECRET_KEY=secret or secrets.token_urlsafe(50),
        DEBUG=debug,
        ALLOWED_HOSTS=hosts,
        ROOT_URLCONF="returns_kit.service.urls",
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "returns_kit.service.middleware.ContentSecurityPolicy",
            "returns_kit.service.middleware.UploadLimit",
        ],
        TEMPLATES=[],
        SESSION_COOKIE_SECURE=not local,
        CSRF_COOKIE_SECURE=not local,
        SESSION_COOKIE_HTTPONLY=True,
        CSRF_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        CSRF_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_AGE=8 * 60 * 60,  # a working day
        SECURE_CONTENT_TYPE_NOSNIFF=True,
        SECURE_REFERRER_POLICY="same-origin",
        X_FRAME_OPTIONS="DENY",
        # behind a proxy that terminates TLS, it says so (docs/deploying.md)
        SECURE_PROXY_SSL_HEADER=None if local else ("HTTP_X_FORWARDED_PROTO", "https"),
        LOGIN_URL="login",
        LOGIN_REDIRECT_URL="home",
        DATA_UPLOAD_MAX_MEMORY_SIZE=2 * 1024 * 1024,
        FILE_UPLOAD_MAX_MEMORY_SIZE=2 * 1024 * 1024,
        RETURNS_COLLECTION_DIR=str(options.folder),
        RETURNS_DATABASE_URL=options.database_url,
    )
    return settings


def configure(options: ServeOptions) -> None:
    """Configure Django for serving (once per process, before anything opens the ledger)."""
    import django
    from django.conf import settings

    if settings.configured:
        raise CollectionError("Django is already configured in this process.")
    settings.configure(**web_settings(options))
    django.setup()
