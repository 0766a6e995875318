"""The interactive API docs at /api/v1/docs, offline and under the site's CSP.

django-ninja's own page loads Swagger UI from a CDN (ninja is not an installed app here)
with an inline start-up script; both are refused by our Content-Security-Policy (self
only, nothing inline). Here the page is our template, the Swagger UI files are the ones
django-ninja ships, served as our static files, and the start-up script is a static file
that reads the OpenAPI address from a data- attribute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ninja
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja.openapi.docs import DocsBase

# Of django-ninja's static files, only these: not its ReDoc bundle (4 MB with its map).
SWAGGER_UI_FILES = (
    "ninja/swagger-ui-bundle.js",
    "ninja/swagger-ui-bundle.js.map",
    "ninja/swagger-ui.css",
    "ninja/swagger-ui.css.map",
)


class OfflineSwagger(DocsBase):
    template = "api/docs.html"

    def render_page(self, request: HttpRequest, api: ninja.NinjaAPI, **kwargs: Any) -> HttpResponse:
        # The portal's session authenticates "Try it out" too; its POSTs need the token.
        csrf = any(getattr(auth, "csrf", False) for auth in api.auth or ())
        context = {"api": api, "openapi_url": self.get_openapi_url(api, kwargs), "csrf": csrf}
        return render(request, self.template, context)


class SwaggerUIFinder(BaseFinder):
    """A staticfiles finder for the Swagger UI files that django-ninja ships."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.storage = FileSystemStorage(location=Path(ninja.__file__).parent / "static")
        super().__init__(*args, **kwargs)

    def check(self, **kwargs: Any) -> list:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:
        if path in SWAGGER_UI_FILES and self.storage.exists(path):
            match = self.storage.path(path)
            return [match] if find_all else match
        return []

    def list(self, ignore_patterns: list[str] | None):
        for path in SWAGGER_UI_FILES:
            yield path, self.storage
