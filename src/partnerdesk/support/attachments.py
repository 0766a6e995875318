"""Files on support requests and on their replies.

- Who: anyone who can see the request may add a file and download its files (engineers
  on every request); a file sent with an internal note is for engineers only.
- What: an allow-list by the content itself, never the client's Content-Type or the
  file's extension (``sniff``): images, PDF, archives, Windows event logs and plain text
  that does not look like a web page. Every file goes back as a download only
  (``core.downloads``), so even a polyglot (a PNG with HTML after its header) is never
  rendered on our origin.
- How much: ``PARTNERDESK_ATTACHMENT_MAX_BYTES`` per file (25 MB) and
  ``PARTNERDESK_REQUEST_ATTACHMENTS_MAX_BYTES`` per request in all (100 MB); 413 above.
- Where: Django's default storage (local disk under ``MEDIA_ROOT``, or any storage class
  by settings), under a random name (``models.attachment_path``); the uploader's file
  name is only ever shown. Size and SHA-256 are recorded.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partnerdesk.accounts.models import User
from partnerdesk.core.exceptions import (
    ApplicationError,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from partnerdesk.support.access import access_support_request
from partnerdesk.support.exceptions import RequestFinished
from partnerdesk.support.models import Attachment, RequestNote, SupportRequest

NAME_MAX = 200
_HEAD = 8192
_CHUNK = 64 * 1024


class AttachmentTypeNotAllowed(ApplicationError):
    code = "attachment_type_not_allowed"
    status = 415
    title = gettext_lazy("File type not allowed")
    default_detail = gettext_lazy("This type of file is not accepted.")


# ---------------------------------------------------------------------------- sniffing

# (offset, signature, content type): checked against the first bytes of the file.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"PK\x05\x06", "application/zip"),  # an empty archive
    (0, b"\x1f\x8b\x08", "application/gzip"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"MSCF\x00\x00\x00\x00", "application/vnd.ms-cab-compressed"),
    (0, b"ElfFile\x00", "application/x-ms-evtx"),  # a Windows event log (.evtx)
)
# Text that a browser would run or render as a page if it ever displayed it.
_PAGE_MARKERS = ("<html", "<svg", "<script", "<?xml", "<!doctype", "<body", "<iframe")
_PAGE_SNIFF_CHARS = 1024
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _binary_type(head: bytes) -> str | None:
    for offset, signature, content_type in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if _looks_like_etl(head):
        return "application/x-ms-etl"
    return None


def _looks_like_etl(head: bytes) -> bool:
    """An Event Trace Log (.etl) has no magic string: it starts with a WMI buffer header
    (0x48 bytes, its first field the buffer size, a multiple of 1 KiB) followed by the
    log file's header record, whose marker's high byte is 0xC0 (a trace header)."""
    if len(head) < 0x4C:
        return False
    buffer_size = int.from_bytes(head[:4], "little")
    return (
        1024 <= buffer_size <= 64 * 1024 * 1024 and buffer_size % 1024 == 0 and head[0x4B] == 0xC0
    )


class _TextCheck:
    """Fed the file in chunks: is it text (UTF-8, or UTF-16 with its BOM) without NUL,
    and not a page in disguise?"""

    def __init__(self, head: bytes) -> None:
        self.encoding, self.bom = "utf-8", b""
        for bom, encoding in _BOMS:
            if head.startswith(bom):
                self.encoding, self.bom = encoding, bom
                break
        self.decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        self.skip = len(self.bom)
        self.start = ""
        self.is_text = True
        self.looks_like_page = False

    def feed(self, data: bytes, *, final: bool = False) -> None:
        if not self.is_text:
            return
        if self.skip:
            data, self.skip = data[self.skip :], 0
        try:
            text = self.decoder.decode(data, final)
        except UnicodeDecodeError:
            self.is_text = False
            return
        if "\x00" in text:
            self.is_text = False
            return
        if len(self.start) < _PAGE_SNIFF_CHARS:
            # The first KiB after the white space a page may begin with.
            piece = text if self.start else text.lstrip()
            self.start += piece[: _PAGE_SNIFF_CHARS - len(self.start)]
            opening = self.start.lower()
            self.looks_like_page = any(marker in opening for marker in _PAGE_MARKERS)

    def content_type(self) -> str:
        charset = "utf-16" if self.encoding.startswith("utf-16") else "utf-8"
        kind = "application/json" if self.start[:1] in ("{", "[") else "text/plain"
        return f"{kind}; charset={charset}"


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    size: int
    sha256: str


def sniff(upload, *, name: str) -> Sniffed:
    """Read the whole file once: its type by content, its size and its SHA-256. Refuses
    what is not on the allow-list (``AttachmentTypeNotAllowed``) and empty files."""
    upload.seek(0)
    head = upload.read(_HEAD)
    binary = _binary_type(head)
    text = None if binary else _TextCheck(head)
    digest, size = hashlib.sha256(), 0
    upload.seek(0)
    for chunk in upload.chunks(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if text is not None:
            text.feed(chunk)
        if size > settings.PARTNERDESK_ATTACHMENT_MAX_BYTES:
            raise _file_too_large(name)
    upload.seek(0)
    if size == 0:
        raise ValidationFailed(
            [{"path": "file", "message": _("%(name)s is empty.") % {"name": name}}],
            _("%(name)s is empty.") % {"name": name},
        )
    if text is not None:
        text.feed(b"", final=True)
        if text.is_text and text.looks_like_page:
            raise AttachmentTypeNotAllowed(
                _(
                    "%(name)s looks like a web page (HTML, SVG, XML or a script), which "
                    "can't be attached as it is. Put it in a ZIP archive and attach that."
                )
                % {"name": name},
                extra={"name": name},
            )
        if not text.is_text:
            raise AttachmentTypeNotAllowed(
                _("%(name)s is not a type of file we accept. %(allowed)s")
                % {"name": name, "allowed": allowed_types_text()},
                extra={"name": name},
            )
    content_type = binary or text.content_type()
    return Sniffed(content_type=content_type, size=size, sha256=digest.hexdigest())


def allowed_types_text() -> str:
    return _(
        "Accepted: images (PNG, JPEG, GIF, WebP), PDF, archives (ZIP, gzip, 7z, CAB), "
        "Windows event logs (.evtx, .etl) and text files (logs, .txt, .json, .har)."
    )


def limits_text() -> str:
    return _("Up to %(file)s a file, %(request)s in all on one request.") % {
        "file": filesizeformat(settings.PARTNERDESK_ATTACHMENT_MAX_BYTES),
        "request": filesizeformat(settings.PARTNERDESK_REQUEST_ATTACHMENTS_MAX_BYTES),
    }


def _file_too_large(name: str) -> PayloadTooLarge:
    limit = settings.PARTNERDESK_ATTACHMENT_MAX_BYTES
    return PayloadTooLarge(
        _("%(name)s is larger than %(limit)s, the largest file accepted.")
        % {"name": name, "limit": filesizeformat(limit)},
        extra={"name": name, "limit": limit},
    )


def _request_full(name: str) -> PayloadTooLarge:
    limit = settings.PARTNERDESK_REQUEST_ATTACHMENTS_MAX_BYTES
    return PayloadTooLarge(
        _(
            "%(name)s can't be added: the files on one request may take %(limit)s in all, "
            "and this one would go past that."
        )
        % {"name": name, "limit": filesizeformat(limit)},
        extra={"name": name, "limit": limit},
    )


# ------------------------------------------------------------------------------- names

_SEPARATORS = re.compile(r"[/\\]")


def display_name(raw: str | None) -> str:
    """The uploader's name, for showing only: its last path part, without control or
    formatting characters (no right-to-left override turning ``gpj.exe`` around), at
    most ``NAME_MAX`` characters with its extension kept."""
    name = unicodedata.normalize("NFC", raw or "")
    name = _SEPARATORS.split(name)[-1]
    name = "".join(
        " " if unicodedata.category(c) in ("Zl", "Zp") else c
        for c in name
        if unicodedata.category(c)[0] != "C"
    )
    name = " ".join(name.split())
    if name in ("", ".", ".."):
        return _("attachment")
    if len(name) > NAME_MAX:
        stem, extension = os.path.splitext(name)
        extension = extension if len(extension) <= 16 else ""
        name = stem[: NAME_MAX - len(extension)] + extension
    return name


# ------------------------------------------------------------------------ reads, writes


def request_attachments_size(support_request_id: int) -> int:
    total = Attachment.objects.filter(support_request_id=support_request_id).aggregate(
        total=Sum("size")
    )["total"]
    return total or 0


def attachment_add(
    *, user: User, request_id: int, upload, note: RequestNote | None = None
) -> Attachment:
    """Add one uploaded file to a request (and to ``note``, a reply on it, when given).
    Called inside the caller's transaction or on its own; the file is stored before the
    row is written and removed again if the row is not."""
    name = display_name(getattr(upload, "name", ""))
    support_request = access_support_request(user, request_id)
    if note is not None and note.support_request_id != support_request.pk:
        raise NotFound()
    _refuse_new_files(support_request, name=name, size=getattr(upload, "size", None) or 0)
    found = sniff(upload, name=name)
    attachment = Attachment(
        support_request=support_request,
        note=note,
        uploaded_by=user,
        name=name,
        size=found.size,
        content_type=found.content_type,
        sha256=found.sha256,
    )
    attachment.file.save(name, upload, save=False)
    try:
        with transaction.atomic():
            # Locked, so two uploads at once can't both fit in the room left for one.
            locked = access_support_request(user, request_id, lock=True)
            _refuse_new_files(locked, name=name, size=found.size)
            attachment.support_request = locked
            attachment.save()
    except BaseException:
        attachment.file.delete(save=False)
        raise
    return attachment


def attachments_add(
    *, user: User, request_id: int, uploads: list, note: RequestNote | None = None
) -> list[Attachment]:
    """Several files at once, all or none: a refused file removes the ones before it."""
    added: list[Attachment] = []
    try:
        with transaction.atomic():
            for upload in uploads:
                added.append(
                    attachment_add(user=user, request_id=request_id, upload=upload, note=note)
                )
    except BaseException:
        for attachment in added:
            attachment.file.delete(save=False)
        raise
    return added


def _refuse_new_files(support_request: SupportRequest, *, name: str, size: int) -> None:
    if support_request.is_finished:
        raise RequestFinished(
            _("This request is already resolved or closed: it takes no more files.")
        )
    if size > settings.PARTNERDESK_ATTACHMENT_MAX_BYTES:
        raise _file_too_large(name)
    room = settings.PARTNERDESK_REQUEST_ATTACHMENTS_MAX_BYTES - request_attachments_size(
        support_request.pk
    )
    if size > room:
        raise _request_full(name)


def attachments_visible(user: User | None, support_request: SupportRequest) -> QuerySet[Attachment]:
    """The request's files this user may see: engineers all, partners (and None) all but
    those sent with an internal note. The caller has checked that the user may see the
    request."""
    attachments = Attachment.objects.filter(support_request=support_request).select_related(
        "uploaded_by"
    )
    if user is None or not user.is_staff:
        attachments = attachments.exclude(note__internal=True)
    return attachments.order_by("created_at", "id")


def attachment_get(user: User, request_id: int, attachment_id: int) -> Attachment:
    """One file, for downloading; a file of a request the user can't see, of another
    request, or of an internal note for a partner is missing (404) the same way."""
    support_request = access_support_request(user, request_id)
    attachment = attachments_visible(user, support_request).filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound()
    return attachment


def attachment_open(attachment: Attachment):
    """The stored file, open for reading; a file gone from the storage is missing."""
    try:
        return attachment.file.open("rb")
    except FileNotFoundError:
        raise NotFound() from None
