"""Where an import's organizations come from: a document already in memory, or a file
read one organization at a time, so that a file of any size is checked and then written
in flat memory. Either can be gone through twice (the check, then the writing).

A file is refused, before anything is decoded whole, when it nests arrays and objects
deeper than ``core.limits.JSON_DEPTH_MAX`` (``json``'s decoder recurses, and 100,000
nested arrays would be a RecursionError), and a file that changes while it is read
raises ``SourceChanged`` at the next read."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TextIO

from django.utils.translation import gettext as _

from partnerdesk.core.limits import JSON_DEPTH_MAX, value_depth

READ_SIZE = 1 << 20
_DECODER = json.JSONDecoder()
_WHITE_SPACE = re.compile(r"[ \t\n\r]*")
# A string whole (so brackets inside it are not counted), or one bracket.
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class MalformedJSON(Exception):
    """Not JSON at all; ``message`` is the parser's, as ``json`` words it."""

    def __init__(self, message: str, line: int, column: int) -> None:
        self.message, self.line, self.column = message, line, column
        super().__init__(f"{message}: line {line} column {column}")


class TooDeep(MalformedJSON):
    """Arrays and objects nested deeper than ``JSON_DEPTH_MAX``, the first one too deep
    at ``line`` and ``column``."""

    def __init__(self, line: int, column: int) -> None:
        super().__init__(
            _("arrays and objects nested deeper than %(limit)d levels") % {"limit": JSON_DEPTH_MAX},
            line,
            column,
        )


class SourceChanged(Exception):
    """The file changed between the check and the writing, or while either read it.
    ``written``: how many organizations had been written by then (each one whole)."""

    def __init__(self, written: int = 0) -> None:
        self.written = written
        super().__init__(f"the source changed ({written} organizations written)")


class ImportSource(Protocol):
    def organizations(self) -> Iterator[Any]:
        """The organizations as parsed JSON, from the first, on every call."""

    def outline(self) -> Any:
        """The document with its list of organizations emptied, for the schema to check
        the rest; known once ``organizations()`` has been gone through."""


class DataSource:
    """A document already parsed (the demo data, an API body)."""

    def __init__(self, data: Any) -> None:
        self._data = data

    def _listed(self) -> bool:
        return isinstance(self._data, dict) and isinstance(self._data.get("organizations"), list)

    def organizations(self) -> Iterator[Any]:
        if self._listed():
            yield from self._data["organizations"]

    def outline(self) -> Any:
        return {**self._data, "organizations": []} if self._listed() else self._data


class FileSource:
    """A seekable text file, parsed as it is read: a top-level object's ``organizations``
    array one element at a time, whatever else the object holds whole (for the schema to
    refuse). A later pass that finds the file changed raises ``SourceChanged``."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._outline: Any = None
        self._stamp = self._stamp_now()

    def _stamp_now(self) -> tuple | None:
        try:
            status = os.fstat(self._stream.fileno())
        except (AttributeError, OSError, ValueError):
            return None  # not a file on disk (tests' StringIO): nobody else can change it
        return (status.st_ino, status.st_size, status.st_mtime_ns)

    def _check_unchanged(self) -> None:
        if self._stamp_now() != self._stamp:
            raise SourceChanged

    def outline(self) -> Any:
        return self._outline

    def organizations(self) -> Iterator[Any]:
        self._check_unchanged()
        self._stream.seek(0)
        scanner = _Scanner(self._stream, after_read=self._check_unchanged)
        if scanner.peek() != "{":
            self._outline = scanner.value()
        else:
            self._outline = {}
            yield from self._members(scanner, self._outline)
        scanner.expect_end()
        self._check_unchanged()

    def _members(self, scanner: _Scanner, outline: dict) -> Iterator[Any]:
        scanner.advance()
        if scanner.peek() == "}":
            scanner.advance()
            return
        while True:
            if scanner.peek() != '"':
                raise scanner.error("Expecting property name enclosed in double quotes")
            line, column = scanner.location()
            key = scanner.value()
            if key in outline:
                # JSON would let the last one win; an import refuses to guess.
                raise MalformedJSON(_("duplicate key “%(key)s”") % {"key": key}, line, column)
            scanner.expect(":", "Expecting ':' delimiter")
            if key == "organizations" and scanner.peek() == "[":
                outline[key] = []
                yield from scanner.array_items(depth=2)
            else:
                outline[key] = scanner.value(depth=1)
            if scanner.peek() == "}":
                scanner.advance()
                return
            scanner.expect(",", "Expecting ',' delimiter")


class _Scanner:
    """A window on the text: values are decoded whole by ``json``'s C decoder, and only the
    current one (plus one read's worth) is held in memory."""

    def __init__(self, stream: TextIO, after_read: Callable[[], None] = lambda: None) -> None:
        self._stream = stream
        self._after_read = after_read
        self._text = ""
        self._at = 0
        self._line, self._column = 1, 0  # where _text[0] is in the file

    def _read_more(self, size: int | None = None) -> bool:
        chunk = self._stream.read(size or READ_SIZE)
        self._after_read()
        if not chunk:
            return False
        done = self._text[: self._at]
        newlines = done.count("\n")
        if newlines:
            self._line += newlines
            self._column = len(done) - done.rfind("\n") - 1
        else:
            self._column += len(done)
        self._text = self._text[self._at :] + chunk
        self._at = 0
        return True

    def location(self) -> tuple[int, int]:
        """The line and column (from 1) of the current position."""
        before = self._text[: self._at]
        newlines = before.count("\n")
        if newlines:
            return self._line + newlines, self._at - before.rfind("\n")
        return self._line, self._column + self._at + 1

    def peek(self) -> str:
        """The next character that is not white space; "" at the end of the file."""
        while True:
            self._at = _WHITE_SPACE.match(self._text, self._at).end()
            if self._at < len(self._text) or not self._read_more():
                return self._text[self._at : self._at + 1]

    def advance(self) -> None:
        self._at += 1

    def expect(self, char: str, message: str) -> None:
        if self.peek() != char:
            raise self.error(message)
        self.advance()

    def expect_end(self) -> None:
        if self.peek():
            raise self.error("Extra data")

    def value(self, depth: int = 0) -> Any:
        """The next value, which sits inside ``depth`` arrays and objects."""
        self.peek()
        room = JSON_DEPTH_MAX - depth
        while True:
            try:
                value, end = _DECODER.raw_decode(self._text, self._at)
            except json.JSONDecodeError as error:
                # Perhaps only cut off by the end of the window: read on (doubling, so
                # a broken file costs one pass), and fail at the real end of the file.
                if self._read_more(max(READ_SIZE, len(self._text))):
                    continue
                raise self.error(error.msg, error.pos) from None
            except RecursionError:
                # Hundreds deep already; the brackets that did it are in the window.
                raise self._too_deep(room) from None
            # A number that ends the window may go on in the next read.
            if end < len(self._text) or not self._read_more():
                break
        # Counting brackets is C-speed; only a value with many walks its tree.
        brackets = self._text.count("[", self._at, end) + self._text.count("{", self._at, end)
        if brackets > room and value_depth(value) > room:
            raise self._too_deep(room)
        self._at = end
        return value

    def _too_deep(self, room: int) -> TooDeep:
        """Placed at the first bracket that goes deeper than ``room`` (an error path: a
        scan in Python, of this value only)."""
        at = self._at
        depth = 0
        for match in _STRUCTURE.finditer(self._text, at):
            token = match.group()
            if token in "[{":
                depth += 1
                if depth > room:
                    at = match.start()
                    break
            elif token in "]}":
                depth -= 1
                if depth <= 0:
                    break
        self._at = at
        return TooDeep(*self.location())

    def array_items(self, depth: int) -> Iterator[Any]:
        """The items of the array that starts here, which sits inside ``depth - 1``."""
        self.advance()
        if self.peek() == "]":
            self.advance()
            return
        while True:
            yield self.value(depth)
            if self.peek() == "]":
                self.advance()
                return
            self.expect(",", "Expecting ',' delimiter")

    def error(self, message: str, at: int | None = None) -> MalformedJSON:
        """``at``: an offset in the current window (the decoder's), else the position."""
        if at is not None:
            self._at = at  # the scan stops here anyway
        return MalformedJSON(message, *self.location())
