"""One family of domain errors; ``api`` maps them to problem+json, ``web`` to messages.

Each subclass carries a stable ``code`` (part of the public contract), an HTTP status and
a default, translatable message. Raise them from services and selectors only.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    code = "application_error"
    status = 400
    title = _("The request could not be completed.")
    default_detail = _("The request could not be completed.")

    def __init__(self, detail: Any = None, *, extra: dict[str, Any] | None = None) -> None:
        self.detail = detail if detail is not None else self.default_detail
        self.extra = extra or {}
        super().__init__(str(self.detail))


class NotAuthenticated(ApplicationError):
    code = "not_authenticated"
    status = 401
    title = _("Authentication required")
    default_detail = _("Sign in, or send a valid API token.")


class NotAuthorized(ApplicationError):
    code = "not_authorized"
    status = 403
    title = _("Not authorized")
    default_detail = _("You are not authorized for this action.")


class RoleRequired(ApplicationError):
    code = "role_required"
    status = 403
    title = _("Role required")
    default_detail = _("Your role does not allow this action.")


class OperatorRequired(ApplicationError):
    code = "operator_required"
    status = 403
    title = _("Operator token required")
    default_detail = _(
        "This is for operators: send the token of a staff user created with "
        "createtoken --scope operator."
    )


class NotFound(ApplicationError):
    code = "not_found"
    status = 404
    title = _("Not found")
    default_detail = _("The requested object does not exist.")


class ValidationFailed(ApplicationError):
    """Malformed input; ``errors`` is a list of ``{"path": ..., "message": ...}``."""

    code = "validation_error"
    status = 422
    title = _("Invalid input")
    default_detail = _("The input is not valid.")

    def __init__(self, errors: list[dict[str, str]], detail: Any = None) -> None:
        super().__init__(detail, extra={"errors": errors})
        self.errors = errors


class IdempotencyConflict(ApplicationError):
    code = "idempotency_conflict"
    status = 409
    title = _("Idempotency key conflict")
    default_detail = _("A request with this Idempotency-Key is still being processed.")


class RateLimited(ApplicationError):
    code = "rate_limited"
    status = 429
    title = _("Too many requests")
    default_detail = _("Too many requests in a short time; wait a moment and try again.")


class MethodNotAllowed(ApplicationError):
    code = "method_not_allowed"
    status = 405
    title = _("Method not allowed")
    default_detail = _("This address does not accept this HTTP method.")


class PayloadTooLarge(ApplicationError):
    code = "payload_too_large"
    status = 413
    title = _("Request too large")
    default_detail = _("The request body is too large.")


class UnsupportedMediaType(ApplicationError):
    code = "unsupported_media_type"
    status = 415
    title = _("Unsupported media type")
    default_detail = _("Send the body as application/json.")


class InternalError(ApplicationError):
    code = "internal_error"
    status = 500
    title = _("Internal error")
    default_detail = _(
        "Something went wrong on our side. The error was recorded and nothing was "
        "half-written; try again in a moment."
    )


class Busy(ApplicationError):
    """The database could not be had in time (a lock held by a long write, a
    serialization failure a retry did not fix): nothing was written, try again."""

    code = "busy"
    status = 503
    title = _("Busy")
    default_detail = _("The service is busy; nothing was written. Try again in a few seconds.")
    retry_after = 2
