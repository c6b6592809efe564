"""Signing in and out, the start page, errors and the service's one static script."""

from __future__ import annotations

from importlib import resources
from typing import Any

from returns_kit.service import access, signin
from returns_kit.service.render import page


@access.page(access.PUBLIC)
def login(request: Any) -> Any:
    from django.contrib.auth import authenticate
    from django.contrib.auth import login as start_session
    from django.http import HttpResponseRedirect
    from django.urls import reverse
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = ""
    context: dict[str, Any] = {
        "collection_name": access.ledger().config.name,
        "next": target,
        "username": "",
        "problem": "",
    }
    if request.method != "POST":
        return page(request, "login.html.j2", **context)
    username = request.POST.get("username", "").strip()[:150]
    address = signin.address_of(request)
    context["username"] = username
    if signin.locked_out(username, address):
        context["problem"] = (
            f"Too many failed sign-ins. Try again in {signin.WINDOW.seconds // 60} minutes."
        )
        return page(request, "login.html.j2", 429, **context)
    user = authenticate(request, username=username, password=request.POST.get("password", ""))
    if user is None or access.session_viewer_of_user(user) is None:
        signin.record_failure(username, address)
        context["problem"] = "That name and password do not match a person of this collection."
        return page(request, "login.html.j2", 200, **context)
    start_session(request, user)
    return HttpResponseRedirect(target or reverse("home"))


@access.page(access.PUBLIC)
@access.post_only  # a link cannot sign someone out (CSRF)
def logout(request: Any) -> Any:
    from django.contrib.auth import logout as end_session
    from django.http import HttpResponseRedirect
    from django.urls import reverse

    end_session(request)
    return HttpResponseRedirect(reverse("login"))


@access.page(access.SIGNED_IN)
def home(request: Any) -> Any:
    """Council people go to their council's periods, national people to the periods."""
    from django.http import HttpResponseRedirect
    from django.urls import reverse

    viewer: access.Viewer = request.viewer
    if viewer.national:
        return HttpResponseRedirect(reverse("national-home"))
    return HttpResponseRedirect(reverse("council-home"))


@access.page(access.PUBLIC)
def script(request: Any, name: str) -> Any:
    from django.http import Http404, HttpResponse

    if name not in SCRIPTS:
        raise Http404
    text = resources.files("returns_kit.service").joinpath("static", name).read_bytes()
    response = HttpResponse(text, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "max-age=3600"
    return response


#: The scripts the service serves (enhancements only: every page works without them).
SCRIPTS = ("upload.js",)


def _error(request: Any, status: int, title: str, message: str) -> Any:
    if request.path.startswith("/api/"):  # a machine gets JSON, never a page to parse
        from returns_kit.service.views.api import error

        return error(message, status)
    request.viewer = access.session_viewer(request) if hasattr(request, "user") else None
    return page(request, "error.html.j2", status=status, title=title, message=message)


def forbidden(request: Any, exception: Any = None) -> Any:
    return _error(request, 403, "Not yours to see", "Your role does not give access to this page.")


def too_large(request: Any, message: str) -> Any:
    return _error(request, 413, "File too large", f"Nothing was received: {message}.")


def not_found(request: Any, exception: Any = None) -> Any:
    return _error(request, 404, "Not found", "There is no page at this address.")


def server_error(request: Any) -> Any:
    return _error(
        request,
        500,
        "Something went wrong",
        "The service could not finish this request. Nothing was half-recorded: try again, "
        "and tell the national team if it happens again.",
    )


def _routes() -> list[Any]:
    from django.urls import path

    return [
        path("", home, name="home"),
        path("login/", login, name="login"),
        path("logout/", logout, name="logout"),
        path("static/<str:name>", script, name="script"),
    ]


ROUTES = _routes()
