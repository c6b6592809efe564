"""The ledger's one clock: every time the ledger records comes from :func:`now`."""

from __future__ import annotations

import os
from datetime import UTC, datetime

#: An ISO time (e.g. ``2026-06-01T09:00:00Z``) that the clock reads instead of the system's,
#: so a rehearsal, a test or the worked example in docs/collections.md can stand at a chosen
#: moment (before or after the hard close) and print the same receipts every time.
NOW_VARIABLE = "RETURNS_KIT_NOW"


def now() -> datetime:
    fixed = os.environ.get(NOW_VARIABLE)
    if fixed:
        moment = datetime.fromisoformat(fixed.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC).replace(microsecond=0)


def stamp(moment: datetime) -> str:
    """A time as the ledger prints it: UTC, to the second, ending Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
