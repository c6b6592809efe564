"""The council officer's pages: their council's periods, template, uploads, findings,
explanations and sign-off."""

from __future__ import annotations

from typing import Any

from returns_kit.service import access
from returns_kit.service.render import page


@access.page(access.COUNCIL)
def council_home(request: Any) -> Any:
    """A council's periods with their status and deadlines (national people are sent to
    the national page)."""
    ledger = access.ledger()
    return page(request, "council_home.html.j2", collection=ledger.config)


def _routes() -> list[Any]:
    from django.urls import path

    return [path("council/", council_home, name="council-home")]


ROUTES = _routes()
