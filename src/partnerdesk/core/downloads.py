"""A stored file sent back as a download and only as one, whatever it holds: a browser
saves it, never renders it (no inline HTML or SVG from a user's upload on our origin)."""

from __future__ import annotations

from urllib.parse import quote

from django.http import FileResponse, HttpResponse

# What a browser may do with the answer if it rendered it anyway: nothing.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


def content_disposition(name: str) -> str:
    """``attachment`` with the name as UTF-8 (RFC 6266, 5987) and a plain ASCII fallback
    for clients that know only ``filename``."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;%' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def download_response(file, *, name: str, content_type: str, size: int | None = None):
    """``file`` is an open binary file; it is streamed in blocks and closed when sent."""
    response = FileResponse(file, content_type=content_type or "application/octet-stream")
    response["Content-Disposition"] = content_disposition(name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    if size is not None:
        response["Content-Length"] = str(size)
    return response


def file_attachment(content: bytes, *, name: str, content_type: str) -> HttpResponse:
    """A file made for the reader (a statement), sent as an attachment and kept by no
    cache on the way."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition(name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
