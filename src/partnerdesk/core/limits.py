"""The sizes partnerdesk accepts, in one place: the models, the API schemas (OpenAPI
``maxLength``), the page forms, the import and the README all take them from here.

Text is also refused when it holds characters no person types and no database stores
safely: NUL (PostgreSQL refuses it), the other C0/C1 control characters, and lone UTF-16
surrogates (not encodable as UTF-8). Long text keeps tab, line feed and carriage return
(a browser's textarea sends CRLF); one-line text keeps tab only.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

# Characters of text, per field.
TITLE_MAX = 200
DESCRIPTION_MAX = 20_000
ERROR_MESSAGE_MAX = 10_000
NOTE_MAX = 10_000
NAME_MAX = 200
EMAIL_MAX = 254
PHONE_MAX = 40
IDEMPOTENCY_KEY_MAX = 255
REASON_MAX = 2_000

# Bytes of one API request body (Django's DATA_UPLOAD_MAX_MEMORY_SIZE as well): a support
# request at its largest is about 31,000 characters, 124 KiB in the worst UTF-8.
REQUEST_BODY_MAX = 512 * 1024

# Arrays and objects inside one another, in an API body and in an import file.
JSON_DEPTH_MAX = 32

_ONE_LINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")
_MULTI_LINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def forbidden_character(value: str, *, multiline: bool = False) -> int | None:
    """The index of the first character ``value`` may not hold, or None."""
    match = (_MULTI_LINE if multiline else _ONE_LINE).search(value)
    return match.start() if match else None


def forbidden_character_message(value: str, index: int) -> str:
    return _("Contains a control character (U+%(code)04X) at position %(position)d.") % {
        "code": ord(value[index]),
        "position": index + 1,
    }


def check_text(value: str, *, multiline: bool = False) -> str:
    """``value`` unchanged, or ValueError with a message a person can act on."""
    index = forbidden_character(value, multiline=multiline)
    if index is not None:
        raise ValueError(forbidden_character_message(value, index))
    return value


def json_depth_exceeded(text: str | bytes, limit: int = JSON_DEPTH_MAX) -> bool:
    """Whether ``text`` nests arrays/objects deeper than ``limit``, found by scanning the
    brackets outside strings (linear, no recursion), so it can run before ``json.loads``
    — which recurses, and on 100,000 nested arrays raises RecursionError."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def value_depth(value: Any) -> int:
    """How deep an already parsed JSON value nests (iterative)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest
