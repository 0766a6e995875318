from django.http import HttpRequest
from django.urls import reverse
from ninja import File, Router, Status, UploadedFile

from partnerdesk.api.problems import COMMON_ERRORS, Problem
from partnerdesk.api.schemas import AttachmentOut
from partnerdesk.core.downloads import download_response
from partnerdesk.support import attachments
from partnerdesk.support.models import Attachment, SupportRequest

router = Router(tags=["support requests"])
UPLOAD_ERRORS = {404: Problem, 409: Problem, 413: Problem, 415: Problem, **COMMON_ERRORS}


def attachment_url(attachment: Attachment) -> str:
    return reverse(
        "api:support_request_attachment",
        kwargs={"request_id": attachment.support_request_id, "attachment_id": attachment.pk},
    )


def attachment_out(attachment: Attachment) -> dict:
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "url": attachment_url(attachment),
    }


def attachments_out(user, support_request: SupportRequest) -> list[dict]:
    """The files the reader may see (None reads as a partner: none of internal notes)."""
    return [attachment_out(a) for a in attachments.attachments_visible(user, support_request)]


@router.post(
    "/support-requests/{request_id}/attachments",
    response={201: AttachmentOut, **UPLOAD_ERRORS},
    summary="Attach a file to a request",
    description=(
        "Multipart, the file in the `file` part. Accepted by what the file holds (not its "
        "name or Content-Type): PNG, JPEG, GIF, WebP, PDF, ZIP, gzip, 7z, CAB, Windows "
        "event logs (.evtx, .etl) and UTF-8 or UTF-16 text (logs, JSON, HAR) that is not "
        "HTML, SVG, XML or a script; anything else is 415 `attachment_type_not_allowed`. "
        "Up to `PARTNERDESK_ATTACHMENT_MAX_BYTES` (25 MB) a file and "
        "`PARTNERDESK_REQUEST_ATTACHMENTS_MAX_BYTES` (100 MB) a request: 413 "
        "`payload_too_large` above. A finished request takes no files (409 "
        "`request_finished`)."
    ),
)
def support_request_attachment_add(request: HttpRequest, request_id: int, file: File[UploadedFile]):
    attachment = attachments.attachment_add(user=request.auth, request_id=request_id, upload=file)
    return Status(201, attachment_out(attachment))


@router.get(
    "/support-requests/{request_id}/attachments/{attachment_id}",
    response={200: None, 404: Problem, **COMMON_ERRORS},
    url_name="support_request_attachment",
    summary="Download a file of a request",
    description=(
        "Always a download (`Content-Disposition: attachment`, `X-Content-Type-Options: "
        "nosniff`, a sandboxing Content-Security-Policy), with the type found when it "
        "was uploaded."
    ),
    openapi_extra={
        "responses": {
            200: {
                "description": "The file",
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def support_request_attachment_get(request: HttpRequest, request_id: int, attachment_id: int):
    attachment = attachments.attachment_get(request.auth, request_id, attachment_id)
    return download_response(
        attachments.attachment_open(attachment),
        name=attachment.name,
        content_type=attachment.content_type,
        size=attachment.size,
    )
