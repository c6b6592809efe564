"""Pages of the service: our report templates' look and escaping, with the service's own
templates first. Every page gets the viewer (for the navigation) and the CSRF field."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader
from markupsafe import Markup

from returns_kit.html.render import environment as report_environment


@cache
def environment() -> Environment:
    base = report_environment()
    return base.overlay(
        loader=ChoiceLoader([PackageLoader("returns_kit.service", "templates"), base.loader])  # type: ignore[list-item]
    )


def csrf_field(request: Any) -> Markup:
    from django.middleware.csrf import get_token

    token = get_token(request)
    return Markup('<input type="hidden" name="csrfmiddlewaretoken" value="{}">').format(token)


def page(request: Any, template: str, status: int = 200, **context: Any) -> Any:
    """An HTML response rendered from ``template`` (under ``templates/service/``)."""
    from django.http import HttpResponse
    from django.urls import reverse

    text = (
        environment()
        .get_template(f"service/{template}")
        .render(
            viewer=getattr(request, "viewer", None),
            csrf=csrf_field(request),
            url=lambda name, *args: reverse(name, args=args),
            **context,
        )
    )
    return HttpResponse(text, status=status, content_type="text/html; charset=utf-8")
