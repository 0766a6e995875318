"""The operators' home page: what needs an operator's eye now, each row linked to the
page where it is dealt with (the console's request page, the admin's pages); and the
operators' exports of every organization's ledger and requests, streamed as CSV."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from partnerdesk.benefits.exports import ledger_export_filename, ledger_export_lines
from partnerdesk.core.downloads import content_disposition
from partnerdesk.support.export import every_request_lines, export_filename
from partnerdesk.support.overview import staff_overview
from partnerdesk.web.staff_views import engineers_only
from partnerdesk.webhooks.selectors import webhook_endpoints_failing


@engineers_only
def staff_home(request):
    now = timezone.now()
    return render(
        request,
        "partnerdesk/staff_home.html",
        {
            "overview": staff_overview(now=now),
            "failing_webhooks": webhook_endpoints_failing(),
            "now": now,
        },
    )


def _csv_download(lines, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition(filename)
    response["Cache-Control"] = "private, no-store"
    return response


@engineers_only
def ledger_export(request):
    """Every organization's ledger entries, oldest first."""
    return _csv_download(ledger_export_lines(), ledger_export_filename())


@engineers_only
def requests_export(request):
    """Every organization's support requests, oldest first."""
    return _csv_download(every_request_lines(), export_filename(every=True))
