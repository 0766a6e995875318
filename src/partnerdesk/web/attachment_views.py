"""Files on a request's page, for partners and engineers alike: upload (all or none, a
refusal shown as a message on the page) and download (only to those who may see the
request, always as a download)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from partnerdesk.core.downloads import download_response
from partnerdesk.core.exceptions import PayloadTooLarge, ValidationFailed
from partnerdesk.support import attachments
from partnerdesk.support.access import access_support_request
from partnerdesk.support.exceptions import RequestFinished
from partnerdesk.web.views import shows_application_errors

# Refusals the page explains; a request the user can't see stays a 404 page.
_SHOWN_ON_THE_PAGE = (
    PayloadTooLarge,
    attachments.AttachmentTypeNotAllowed,
    ValidationFailed,
    RequestFinished,
)


def _request_page(request, pk: int):
    target = "web:staff_request" if request.user.is_staff else "web:request_detail"
    return redirect(reverse(target, kwargs={"pk": pk}) + "#attachments")


@require_POST
@login_required
@shows_application_errors
def attachments_add(request, pk: int):
    access_support_request(request.user, pk)  # someone else's request: 404, not a message
    uploads = request.FILES.getlist("files")
    if not uploads:
        messages.error(request, _("Choose a file first."))
        return _request_page(request, pk)
    try:
        added = attachments.attachments_add(user=request.user, request_id=pk, uploads=uploads)
    except _SHOWN_ON_THE_PAGE as error:
        messages.error(request, error.detail)
    else:
        messages.success(
            request,
            ngettext("%(count)d file added.", "%(count)d files added.", len(added))
            % {"count": len(added)},
        )
    return _request_page(request, pk)


@require_GET
@login_required
@shows_application_errors
def attachment_download(request, pk: int, attachment_id: int):
    attachment = attachments.attachment_get(request.user, pk, attachment_id)
    return download_response(
        attachments.attachment_open(attachment),
        name=attachment.name,
        content_type=attachment.content_type,
        size=attachment.size,
    )
