"""Response headers Django 5.2 does not set itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: No inline script anywhere, nothing fetched from elsewhere: styles are in the page (as in
#: our reports), images are the reports' inline SVG, and the one script (drag and drop on the
#: upload page, an enhancement; the form works without it) is served by the service.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"
)


class ContentSecurityPolicy:
    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", POLICY)
        response.setdefault("Cache-Control", "no-store")  # pages hold a council's data
        return response


class UploadLimit:
    """Refuse (413) a request whose declared body is over the upload limit before anything
    reads it: a page's CSRF check parses a form's body before the view runs, so the view's
    own check (:func:`returns_kit.service.receive.check_size`) would come too late there."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        from returns_kit.service import receive

        try:
            receive.check_size(request)
        except receive.TooLarge as problem:
            if request.path.startswith("/api/"):
                from returns_kit.service.views.api import error

                return error(str(problem), 413)
            from returns_kit.service.views.pages import too_large

            return too_large(request, str(problem))
        return self.get_response(request)
