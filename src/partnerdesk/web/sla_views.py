"""The support engineers' SLA report: first responses on time, per month and severity."""

from __future__ import annotations

from django.shortcuts import render

from partnerdesk.support.sla_report import MONTHS, sla_attainment, sla_totals
from partnerdesk.web.staff_views import engineers_only


@engineers_only
def sla_report(request):
    rows = sla_attainment()
    return render(
        request,
        "partnerdesk/staff_sla.html",
        {"rows": rows, "totals": sla_totals(rows), "months": MONTHS},
    )
