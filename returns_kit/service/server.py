"""``returns serve``: the collection served by waitress (a pure-Python WSGI server)."""

from __future__ import annotations

import logging
from typing import Any

from returns_kit.service.settings import ServeOptions, configure, trusted_proxy

#: Threads per process: uploads are validated in the request (seconds for a large return),
#: so a few at once; more processes behind a proxy scale it further (docs/deploying.md).
THREADS = 8


def application(options: ServeOptions) -> Any:
    """The WSGI application for ``options.folder``, with the ledger opened and migrated."""
    configure(options)
    from django.core.wsgi import get_wsgi_application

    from returns_kit.service import access

    access.ledger()  # open (and migrate) now: a bad folder or database fails before serving
    return get_wsgi_application()


def serve(options: ServeOptions, announce: Any = print) -> None:
    import waitress

    app = application(options)
    # waitress logs each unhandled exception with its traceback to its own logger; the
    # person at the terminal gets one line per problem from Django's handler500 instead.
    logging.getLogger("waitress").setLevel(logging.ERROR)
    host = f"[{options.host}]" if ":" in options.host else options.host
    where = f"http://{host}:{options.port}/"
    announce(f"Serving the collection in {options.folder} at {where} (Ctrl+C stops).")
    waitress.serve(
        app,
        host=options.host,
        port=options.port,
        threads=THREADS,
        ident="returns_kit",
        max_request_body_size=_body_limit(),
        # behind a proxy (RETURNS_TRUSTED_PROXY), believe its scheme and client address only
        trusted_proxy=trusted_proxy(),
        trusted_proxy_headers={"x-forwarded-proto", "x-forwarded-for"} if trusted_proxy() else None,
        clear_untrusted_proxy_headers=True,
    )


def _body_limit() -> int:
    from returns_kit.service.settings import UPLOAD_LIMIT_BYTES

    return UPLOAD_LIMIT_BYTES + 1024 * 1024
