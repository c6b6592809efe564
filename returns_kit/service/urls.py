"""Every URL of the service. Each views module lists its own routes (``ROUTES``), so the
people working on one audience's pages do not edit a shared table; the route × role test in
``tests/test_service_access.py`` reads them all from here and fails on a route it has no row
for."""

from __future__ import annotations

from returns_kit.service.views import api, council, national, pages

urlpatterns = [*pages.ROUTES, *council.ROUTES, *national.ROUTES, *api.ROUTES]

handler403 = "returns_kit.service.views.pages.forbidden"
handler404 = "returns_kit.service.views.pages.not_found"
handler500 = "returns_kit.service.views.pages.server_error"
