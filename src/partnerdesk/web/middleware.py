"""Pages under load and pages with secrets.

- When the database cannot be had in time (SQLite's write lock held past the busy
  timeout by a long import, a PostgreSQL serialization failure a retry did not fix), a
  page answers 503 with a page that says so and when to try again, not the error page.
- A page a signed-in user sees is never stored by a browser or proxy cache
  (``Cache-Control: private, no-store``): it may show Access and Contract IDs, balances
  and requests, and must not come back from the cache after signing out.
"""

from __future__ import annotations

import logging
import sys

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control

from partnerdesk.core.exceptions import Busy
from partnerdesk.core.transient import is_transient_db_error

logger = logging.getLogger("django.request")


class PageSafetyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "Cache-Control" not in response:
            patch_cache_control(response, private=True, no_store=True)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not is_transient_db_error(exception):
            return None
        logger.warning("Busy: %s (%s)", request.path, exception)
        return busy_page(request)


def busy_page(request: HttpRequest) -> HttpResponse:
    retry_after = Busy.retry_after
    # Rendered without the request: its context processors would ask the database.
    body = render_to_string(
        "busy.html",
        {
            "retry_after": retry_after,
            "retry_by_itself": request.method == "GET",
            "path": request.get_full_path(),
        },
    )
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(retry_after)
    patch_cache_control(response, no_store=True)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: what escaped every view and middleware. A busy database (a session
    saved after the view, say) is still the busy page; anything else the error page."""
    error = sys.exc_info()[1]
    if error is not None and is_transient_db_error(error):
        return busy_page(request)
    return HttpResponseServerError(render_to_string("500.html"))
