"""The operators' home page: what needs an operator's eye now, each row linked to the
page where it is dealt with (the console's request page, the admin's pages)."""

from __future__ import annotations

from django.shortcuts import render
from django.utils import timezone

from partnerdesk.support.overview import staff_overview
from partnerdesk.web.staff_views import engineers_only


@engineers_only
def staff_home(request):
    now = timezone.now()
    return render(
        request,
        "partnerdesk/staff_home.html",
        {"overview": staff_overview(now=now), "now": now},
    )
