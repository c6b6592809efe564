"""The national team's pages: each period's councils and status, the chase list, the review
queue, building the tables, and the audit log."""

from __future__ import annotations

from typing import Any

from returns_kit.service import access
from returns_kit.service.render import page


@access.page(access.NATIONAL)
def national_home(request: Any) -> Any:
    ledger = access.ledger()
    return page(request, "national_home.html.j2", collection=ledger.config)


def _routes() -> list[Any]:
    from django.urls import path

    return [path("national/", national_home, name="national-home")]


ROUTES = _routes()
