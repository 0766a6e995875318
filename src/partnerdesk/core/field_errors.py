"""Pydantic's field errors in the caller's language.

Pydantic writes its messages in English only ("Field required", "Input should be a valid
integer"). The error's ``type`` and ``ctx`` say what went wrong; this module turns them
into a sentence through gettext. Errors we raise ourselves (``PydanticCustomError`` with a
translated message) and types not listed here keep the message they came with.

It lives in core so that the import (onboarding) uses it as well as the API, without a
domain app importing ``api``; ``partnerdesk.api.field_errors`` is the API's name for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils.translation import gettext as _

_Message = Callable[[Mapping[str, Any]], str]


def _expected(ctx: Mapping[str, Any]) -> str:
    # pydantic joins the choices with an English "or": a plain list reads in any language.
    return str(ctx.get("expected", "")).replace(" or ", ", ")


_MESSAGES: dict[str, _Message] = {
    "missing": lambda ctx: _("This field is required."),
    "extra_forbidden": lambda ctx: _("This field is not allowed here."),
    "none_required": lambda ctx: _("This field must be empty."),
    "string_type": lambda ctx: _("Enter text."),
    "string_unicode": lambda ctx: _("Enter text."),
    "string_too_short": lambda ctx: (
        _("Enter at least %(min_length)s characters.") % {"min_length": ctx.get("min_length", "")}
    ),
    "string_too_long": lambda ctx: (
        _("Enter at most %(max_length)s characters.") % {"max_length": ctx.get("max_length", "")}
    ),
    "string_pattern_mismatch": lambda ctx: (
        _("Enter a value that matches the pattern %(pattern)s.")
        % {"pattern": ctx.get("pattern", "")}
    ),
    "int_type": lambda ctx: _("Enter a whole number."),
    "int_parsing": lambda ctx: _("Enter a whole number."),
    "int_from_float": lambda ctx: _("Enter a whole number."),
    "float_type": lambda ctx: _("Enter a number."),
    "float_parsing": lambda ctx: _("Enter a number."),
    "decimal_type": lambda ctx: _("Enter a number."),
    "decimal_parsing": lambda ctx: _("Enter a number."),
    "bool_type": lambda ctx: _("Enter true or false."),
    "bool_parsing": lambda ctx: _("Enter true or false."),
    "greater_than": lambda ctx: (
        _("Enter a value greater than %(limit)s.") % {"limit": ctx.get("gt", "")}
    ),
    "greater_than_equal": lambda ctx: (
        _("Enter a value of at least %(limit)s.") % {"limit": ctx.get("ge", "")}
    ),
    "less_than": lambda ctx: _("Enter a value less than %(limit)s.") % {"limit": ctx.get("lt", "")},
    "less_than_equal": lambda ctx: (
        _("Enter a value of at most %(limit)s.") % {"limit": ctx.get("le", "")}
    ),
    "literal_error": lambda ctx: _("Choose one of: %(choices)s.") % {"choices": _expected(ctx)},
    "enum": lambda ctx: _("Choose one of: %(choices)s.") % {"choices": _expected(ctx)},
    "date_type": lambda ctx: _("Enter a date as YYYY-MM-DD."),
    "date_parsing": lambda ctx: _("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": lambda ctx: _("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_inexact": lambda ctx: _("Enter a date as YYYY-MM-DD."),
    "datetime_type": lambda ctx: _("Enter a date and time."),
    "datetime_parsing": lambda ctx: _("Enter a date and time."),
    "datetime_from_date_parsing": lambda ctx: _("Enter a date and time."),
    "uuid_type": lambda ctx: _("Enter a valid UUID."),
    "uuid_parsing": lambda ctx: _("Enter a valid UUID."),
    "list_type": lambda ctx: _("Enter a list."),
    "tuple_type": lambda ctx: _("Enter a list."),
    "set_type": lambda ctx: _("Enter a list."),
    "too_short": lambda ctx: (
        _("Enter at least %(min_length)s items.") % {"min_length": ctx.get("min_length", "")}
    ),
    "too_long": lambda ctx: (
        _("Enter at most %(max_length)s items.") % {"max_length": ctx.get("max_length", "")}
    ),
    "dict_type": lambda ctx: _("Enter an object."),
    "model_type": lambda ctx: _("Enter an object."),
    "model_attributes_type": lambda ctx: _("Enter an object."),
    "json_invalid": lambda ctx: _("The body is not valid JSON."),
    "json_type": lambda ctx: _("The body is not valid JSON."),
    "url_type": lambda ctx: _("Enter a valid URL."),
    "url_parsing": lambda ctx: _("Enter a valid URL."),
    "url_scheme": lambda ctx: _("Enter a valid URL."),
}

_VALUE_ERROR_PREFIX = "Value error, "


def field_message(error: Mapping[str, Any]) -> str:
    """The message for one entry of pydantic's ``ValidationError.errors()``."""
    message = _MESSAGES.get(str(error.get("type", "")))
    if message is not None:
        return message(error.get("ctx") or {})
    text = str(error.get("msg", ""))
    # A plain ValueError from a validator: its text is the message, not pydantic's prefix.
    return text.removeprefix(_VALUE_ERROR_PREFIX)
