"""The collection's people: accounts (Django's users and password hashing), roles and API
tokens, as library functions for ``returns collect user ...`` and the web service.

A name is a Django username, unique in the database; a person belongs to one collection.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from returns_kit.ledger.clock import now
from returns_kit.ledger.config import CollectionError
from returns_kit.ledger.service import Ledger, _council, _log, writing

#: Tokens start with this, so a leaked one is recognisable (secret scanners look for prefixes).
TOKEN_PREFIX = "rk_"


@dataclass(frozen=True)
class PersonView:
    """A person as the commands list them: never the password hash."""

    name: str
    role: str
    council_code: str
    active: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_person(ledger: Ledger, name: str, role: str, council: str | None, password: str) -> str:
    """Create ``name`` with ``role`` (and ``council`` for council roles); returns a line
    saying what was done. The password is checked by Django's validators and kept hashed."""
    from django.contrib.auth.models import User
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    from returns_kit.ledger.models import Person

    name = name.strip()
    if not name or len(name) > 150 or any(ch.isspace() for ch in name):
        raise CollectionError("a name is 1 to 150 characters with no spaces, e.g. j.smith.")
    if role not in Person.ROLES:
        raise CollectionError(f"the role must be one of {', '.join(Person.ROLES)}.")
    code = council_name = ""
    if role in Person.COUNCIL_ROLES:
        if not council:
            raise CollectionError(f"a {role} belongs to a council: give --council CODE.")
        code, council_name = _council(ledger, council)
    elif council:
        raise CollectionError(f"a {role} is national: no --council.")
    try:
        validate_password(password, User(username=name))
    except ValidationError as problem:
        raise CollectionError(" ".join(problem.messages)) from problem
    with writing(ledger):
        if User.objects.filter(username=name).exists():
            raise CollectionError(f"{name} already exists.")
        user = User.objects.create_user(username=name, password=password)
        Person.objects.create(user=user, collection=ledger.collection, role=role, council_code=code)
        _log(ledger, "person", {"name": name, "role": role, "council_code": code}, now())
    where = f" for {council_name} ({code})" if code else ""
    return f"{name} added as {role}{where}."


def new_token(ledger: Ledger, name: str) -> str:
    """A new API token for ``name``, returned once (only its SHA-256 is stored)."""
    from returns_kit.ledger.models import ApiToken

    person = person_named(ledger, name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with writing(ledger):
        ApiToken.objects.create(person=person, digest=_digest(token), created_at=now())
        _log(ledger, "token", {"name": name}, now())
    return token


def person_named(ledger: Ledger, name: str) -> Any:
    from returns_kit.ledger.models import Person

    found = (
        Person.objects.select_related("user")
        .filter(collection=ledger.collection, user__username=name)
        .first()
    )
    if found is None:
        raise CollectionError(f"no one named {name} in this collection.")
    return found


def person_for_token(ledger: Ledger, token: str) -> Any | None:
    """The active person holding ``token``, or None."""
    from returns_kit.ledger.models import ApiToken

    if not token.startswith(TOKEN_PREFIX):
        return None
    found = (
        ApiToken.objects.select_related("person__user")
        .filter(digest=_digest(token), revoked=False, person__collection=ledger.collection)
        .first()
    )
    if found is None or not found.person.user.is_active:
        return None
    return found.person


def people(ledger: Ledger) -> list[PersonView]:
    from returns_kit.ledger.models import Person

    rows = Person.objects.select_related("user").filter(collection=ledger.collection)
    return sorted(
        (PersonView(p.user.username, p.role, p.council_code, p.user.is_active) for p in rows),
        key=lambda view: (view.council_code, view.role, view.name),
    )


def deactivate(ledger: Ledger, name: str, by: str) -> str:
    """Stop ``name`` signing in or using their API tokens (the person and their history stay:
    the log names them). Returns a line saying what was done."""
    from returns_kit.ledger.models import ApiToken

    person = person_named(ledger, name)
    if name == by:
        raise CollectionError("you cannot deactivate yourself: ask another admin.")
    if not person.user.is_active:
        return f"{name} was already inactive."
    with writing(ledger):
        person.user.is_active = False
        person.user.save(update_fields=["is_active"])
        ApiToken.objects.filter(person=person).update(revoked=True)
        _log(ledger, "deactivation", {"name": name, "by": by}, now())
    return f"{name} can no longer sign in; their API tokens are revoked."
