"""The JSON API (``/api/v1/``) for councils' systems and CI, with bearer tokens."""

from __future__ import annotations

from typing import Any


def _routes() -> list[Any]:
    return []


ROUTES = _routes()
