"""Every answer under ``/api/`` is JSON, and every error there is problem+json — also the
ones Django or the server produce before or after our operations run: a body over the
limit (413), an unknown address (404), a method the address does not take (405), a body
that is not JSON (415), an unexpected exception (500, no internals) and a database that
could not be had in time (503 ``busy``, with Retry-After).

Answers under ``/api/`` are never stored by caches (``Cache-Control: no-store``): they
carry Access and Contract IDs and other private data."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

from partnerdesk.api.problems import PROBLEM_CONTENT_TYPE, problem_response
from partnerdesk.core import limits
from partnerdesk.core.exceptions import (
    ApplicationError,
    Busy,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from partnerdesk.core.transient import is_transient_db_error

logger = logging.getLogger("django.request")

API_PREFIX = "/api/"
_BODY_METHODS = {"POST", "PUT", "PATCH"}
# What an operation may be sent; anything else is 415 before it reaches one.
_ACCEPTED_MEDIA = ("application/json", "multipart/form-data")
# The statuses Django and the server answer on their own, as problems.
_STATUS_PROBLEMS = {
    400: lambda: ValidationFailed(
        [{"path": "$", "message": _("The request could not be understood.")}]
    ),
    404: NotFound,
    405: MethodNotAllowed,
    500: InternalError,
    503: Busy,
}


# The one operation whose body may be larger: a file up to the attachment limit, with
# room for the multipart framing around it.
_UPLOAD_PATH = re.compile(r"^/api/v1/support-requests/[0-9]+/attachments$")
_MULTIPART_OVERHEAD = 64 * 1024


def body_limit(request: HttpRequest) -> int:
    if request.method == "POST" and _UPLOAD_PATH.match(request.path_info):
        return settings.PARTNERDESK_ATTACHMENT_MAX_BYTES + _MULTIPART_OVERHEAD
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _too_large(request: HttpRequest | None = None) -> PayloadTooLarge:
    if request is not None and body_limit(request) != settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return PayloadTooLarge(
            _("The file is larger than %(limit)s, the largest file accepted.")
            % {"limit": filesizeformat(settings.PARTNERDESK_ATTACHMENT_MAX_BYTES)}
        )
    return PayloadTooLarge(
        _("The request body is larger than %(limit)s.")
        % {"limit": filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}
    )


def busy_response(error: Busy | None = None) -> HttpResponse:
    error = error or Busy()
    response = problem_response(error)
    response["Retry-After"] = str(error.retry_after)
    return response


class ApiProblemsMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        refused = self._refused_before(request)
        if refused is not None:
            response = refused
        else:
            response = self.get_response(request)
            response = self._as_problem(request, response)
        if "Cache-Control" not in response:
            patch_cache_control(response, no_store=True)
        return response

    def _refused_before(self, request: HttpRequest) -> HttpResponse | None:
        """What is refused without running anything: it is known from the headers (and a
        body already within the size limit)."""
        with translation.override(translation.get_language_from_request(request)):
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > body_limit(request):
                return problem_response(_too_large(request))
            if request.method not in _BODY_METHODS or not declared:
                return None
            media = request.content_type or ""
            if not (
                media in _ACCEPTED_MEDIA
                or (media.startswith("application/") and media.endswith("+json"))
            ):
                return problem_response(
                    UnsupportedMediaType(
                        _("Send the body as application/json, not %(type)s.")
                        % {"type": media or _("a body without a Content-Type")}
                    )
                )
            if media == "multipart/form-data" and not request.content_params.get("boundary"):
                return problem_response(
                    UnsupportedMediaType(_("Send multipart/form-data with its boundary."))
                )
            if media != "multipart/form-data" and limits.json_depth_exceeded(request.body):
                return problem_response(
                    ValidationFailed(
                        [
                            {
                                "path": "$",
                                "message": _(
                                    "The body nests arrays and objects more than %(depth)d deep."
                                )
                                % {"depth": limits.JSON_DEPTH_MAX},
                            }
                        ]
                    )
                )
        return None

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not request.path_info.startswith(API_PREFIX):
            return None
        if isinstance(exception, RequestDataTooBig):  # a chunked body with no length
            return problem_response(_too_large())
        if isinstance(exception, ApplicationError):
            return problem_response(exception)
        if isinstance(exception, MultiPartParserError):
            return problem_response(
                ValidationFailed([{"path": "$", "message": _("The multipart body is malformed.")}])
            )
        if is_transient_db_error(exception):
            logger.warning("Busy: %s (%s)", request.path, exception)
            return busy_response()
        # Recorded as Django records any unhandled exception, then answered without it.
        signals.got_request_exception.send(sender=None, request=request)
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exception,
            extra={"status_code": 500, "request": request},
        )
        return problem_response(InternalError())

    def _as_problem(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith((PROBLEM_CONTENT_TYPE, "application/json")):
            return response
        make = _STATUS_PROBLEMS.get(response.status_code)
        if make is None:
            error = ApplicationError()
            error.status = response.status_code
            error.code = "http_error"
        else:
            error = make()
        problem = problem_response(error)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                problem[header] = response[header]
        return problem
