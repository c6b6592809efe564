"""Who is asking, and what they may see: the one place the service decides access.

A council's people (submitter, approver) see their own council only; national people
(reviewer, admin) see every council; admins also manage people, deadlines and reopenings.
Every view is wrapped in exactly one of the decorators below, and the route table in
:mod:`returns_kit.service.urls` names which, so a test can check every route for every role.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import wraps
from pathlib import Path
from typing import Any

from returns_kit.ledger.service import Ledger

_lock = threading.Lock()
_ledger: Ledger | None = None
#: collection.toml's (mtime, size) when this process last read it
_read: tuple[int, int] | None = None


def ledger() -> Ledger:
    """This process's collection, opened once; each caller gets its own copy, because a
    writing command keeps the locked chain head on the Ledger while it runs (threads serve
    requests side by side). Its settings are read again when collection.toml changes (an
    admin moved a deadline, in this process or another)."""
    global _ledger, _read
    from returns_kit.ledger.config import FILE, CollectionError, load

    with _lock:
        if _ledger is None:
            from django.conf import settings

            from returns_kit.ledger.service import open_ledger

            _ledger = open_ledger(
                Path(settings.RETURNS_COLLECTION_DIR), settings.RETURNS_DATABASE_URL
            )
            _read = _stamp(_ledger.folder / FILE)
        else:
            now_read = _stamp(_ledger.folder / FILE)
            if now_read != _read:
                try:
                    _ledger = replace(_ledger, config=load(_ledger.folder))
                except CollectionError:
                    pass  # half-edited by hand: keep serving the settings last read
                else:
                    _read = now_read
        return replace(_ledger, head=None)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size


@dataclass(frozen=True)
class Viewer:
    """The person behind a request."""

    name: str
    role: str
    #: the council's GSS code for council roles; "" for national roles
    council_code: str

    @property
    def national(self) -> bool:
        from returns_kit.ledger.models import Person

        return self.role in Person.NATIONAL_ROLES

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    def may_see(self, council_code: str) -> bool:
        return self.national or (bool(council_code) and council_code == self.council_code)


def viewer_of(person: Any) -> Viewer:
    return Viewer(person.user.username, person.role, person.council_code)


def session_viewer(request: Any) -> Viewer | None:
    """The signed-in person of this collection, or None (anonymous, or a user with no role
    here)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return session_viewer_of_user(user)


def session_viewer_of_user(user: Any) -> Viewer | None:
    if not user.is_active:
        return None
    from returns_kit.ledger.models import Person

    person = Person.objects.filter(user=user, collection=ledger().collection).first()
    return None if person is None else viewer_of(person)


def token_viewer(request: Any) -> Viewer | None:
    """The person holding the request's bearer token, or None."""
    from returns_kit.ledger.people import person_for_token

    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    person = person_for_token(ledger(), token.strip())
    return None if person is None else viewer_of(person)


# -- page decorators: anonymous people are sent to sign in; the wrong role gets 403 ---------

#: Which access a route needs; the route table records it for each URL.
PUBLIC, SIGNED_IN, COUNCIL, APPROVER, NATIONAL, ADMIN = (
    "public",
    "signed in",
    "council",
    "approver",
    "national",
    "admin",
)

_ALLOWED: dict[str, Callable[[Viewer], bool]] = {
    SIGNED_IN: lambda v: True,
    COUNCIL: lambda v: True,  # council people and national people; the view checks the council
    APPROVER: lambda v: v.role in ("approver", "admin"),
    NATIONAL: lambda v: v.national,
    ADMIN: lambda v: v.admin,
}


def post_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Django's ``require_POST`` (405 to any other method), under :func:`page`, so that who
    may ask is decided first: a form's target never answers a plain link."""
    from django.views.decorators.http import require_POST

    posted: Callable[..., Any] = require_POST(view)
    return posted


def page(access: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a page view: ``request.viewer`` is set, or the person is sent to sign in (or
    refused with 403 when signed in without the role)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            from django.contrib.auth.views import redirect_to_login
            from django.core.exceptions import PermissionDenied

            if access != PUBLIC:
                found = session_viewer(request)
                if found is None:
                    return redirect_to_login(request.get_full_path())
                if not _ALLOWED[access](found):
                    raise PermissionDenied
                request.viewer = found
            return view(request, *args, **kwargs)

        wrapped.access = access  # type: ignore[attr-defined]
        return wrapped

    return decorate


def api(access: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap an API view: bearer token required (401 without a valid one), role checked
    (403). API views are exempt from CSRF: they take no cookies."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        from django.views.decorators.csrf import csrf_exempt

        @wraps(view)
        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            from django.http import JsonResponse

            found = token_viewer(request)
            if found is None:
                response = JsonResponse({"error": "a valid bearer token is required"}, status=401)
                response["WWW-Authenticate"] = 'Bearer realm="returns"'
                return response
            if access != SIGNED_IN and not _ALLOWED[access](found):
                return JsonResponse({"error": "your role may not do this"}, status=403)
            request.viewer = found
            return view(request, *args, **kwargs)

        wrapped.access = access  # type: ignore[attr-defined]
        exempt: Callable[..., Any] = csrf_exempt(wrapped)
        return exempt

    return decorate


def council_or_403(viewer: Viewer, council_code: str) -> None:
    """Refuse (403) a council the viewer does not belong to, as the API does."""
    from django.core.exceptions import PermissionDenied

    if not viewer.may_see(council_code):
        raise PermissionDenied
