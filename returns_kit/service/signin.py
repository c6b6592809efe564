"""Signing in, with failures limited across every app process (kept in the database)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from returns_kit.ledger.clock import now

#: At most this many failed sign-ins per name, or per address, in the window.
MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


def address_of(request: Any) -> str:
    # REMOTE_ADDR only: a client can write X-Forwarded-For itself. Behind a proxy the
    # deployment sets the real address (docs/deploying.md).
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def locked_out(username: str, address: str) -> bool:
    from django.db.models import Q

    from returns_kit.ledger.models import LoginFailure

    since = now() - WINDOW
    recent = LoginFailure.objects.filter(at__gte=since)
    by_name = recent.filter(username=username).count()
    by_address = recent.filter(Q(address=address) & ~Q(address="")).count()
    return bool(by_name >= MAX_FAILURES or by_address >= MAX_FAILURES * 4)


def record_failure(username: str, address: str) -> None:
    from returns_kit.ledger.models import LoginFailure

    LoginFailure.objects.create(username=username[:150], address=address, at=now())
    # old failures are of no use to the limit; keep the table small
    LoginFailure.objects.filter(at__lt=now() - WINDOW * 4).delete()
