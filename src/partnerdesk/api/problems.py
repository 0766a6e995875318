"""Every error the API returns is ``application/problem+json`` (RFC 9457) with a stable
``code``; this module is the one place domain errors become HTTP."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from partnerdesk.api.field_errors import field_message
from partnerdesk.api.throttling import ClientRate
from partnerdesk.core.exceptions import (
    ApplicationError,
    NotAuthenticated,
    NotFound,
    RateLimited,
    ValidationFailed,
)

PROBLEM_CONTENT_TYPE = "application/problem+json"


class FieldError(Schema):
    path: str
    message: str


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None


def problem_body(error: ApplicationError) -> dict[str, Any]:
    return {
        "type": f"urn:partnerdesk:problem:{error.code}",
        "title": str(error.title),
        "status": error.status,
        "detail": str(error.detail),
        "code": error.code,
        **error.extra,
    }


def problem_response(error: ApplicationError) -> JsonResponse:
    return stored_problem_response(error.status, problem_body(error))


def stored_problem_response(status: int, body: dict[str, Any]) -> JsonResponse:
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def _ninja_error_path(loc: list) -> str:
    # ninja prefixes the source ("body", "query", "path") and the parameter's own name.
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form"}:
        parts = parts[2:] if parts[0] == "body" and len(parts) > 1 else parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "$"


def install_problem_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ApplicationError)
    def application_error(request: HttpRequest, exc: ApplicationError):
        return problem_response(exc)

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError):
        errors = [
            {"path": _ninja_error_path(e.get("loc", [])), "message": field_message(e)}
            for e in exc.errors
        ]
        return problem_response(ValidationFailed(errors))

    @api.exception_handler(AuthenticationError)
    def authentication_error(request: HttpRequest, exc: AuthenticationError):
        # A failed authentication counts toward the anonymous limit of its address, so
        # guessing tokens is as slow as any other anonymous traffic.
        limit = ClientRate(settings.PARTNERDESK_API_ANON_RATE)
        if not limit.allow_request(request):
            return throttled(request, Throttled(wait=limit.wait()))
        response = problem_response(NotAuthenticated())
        response["WWW-Authenticate"] = 'Bearer realm="partnerdesk"'
        return response

    @api.exception_handler(Throttled)
    def throttled(request: HttpRequest, exc: Throttled):
        response = problem_response(RateLimited())
        response["Retry-After"] = str(math.ceil(exc.wait or 1))
        return response

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404):
        return problem_response(NotFound())

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception):
        # Not ninja's DEBUG traceback as text/plain: api.middleware answers busy (503) or
        # internal_error (500) as problem+json, and records the exception.
        raise exc

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError):
        if exc.status_code == 400:  # a body that is not JSON at all
            return problem_response(
                ValidationFailed([{"path": "$", "message": _("The body is not valid JSON.")}])
            )
        error = ApplicationError(_("The request could not be completed."))
        error.status = exc.status_code
        error.code = {
            403: "csrf_failed",  # ninja's only 403: the session cookie without its CSRF token
            404: "not_found",
            405: "method_not_allowed",
            429: "rate_limited",
        }.get(exc.status_code, "http_error")
        error.title = str(exc)
        return problem_response(error)


# The statuses every authenticated operation may answer with, for the OpenAPI document.
COMMON_ERRORS = {401: Problem, 403: Problem, 422: Problem, 429: Problem}
