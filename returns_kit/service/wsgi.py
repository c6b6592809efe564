"""The WSGI entry for gunicorn and other servers (docs/deploying.md):
``RETURNS_COLLECTION_DIR=/srv/collection gunicorn returns_kit.service.wsgi:application``."""

from __future__ import annotations

import os
from pathlib import Path

from returns_kit.service.server import application as _application
from returns_kit.service.settings import ServeOptions

application = _application(
    ServeOptions(
        folder=Path(os.environ["RETURNS_COLLECTION_DIR"]),
        host=os.environ.get("RETURNS_BIND_HOST", "0.0.0.0"),
    )
)
