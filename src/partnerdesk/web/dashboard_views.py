"""The organization's dashboard and its notices."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.accounts.roles import Role
from partnerdesk.benefits import selectors as benefit_selectors
from partnerdesk.benefits.forecast import entitlement_forecasts
from partnerdesk.benefits.messages import MEMBERSHIP_ENDED_HINT, membership_ended_text
from partnerdesk.notices.selectors import inbox, notice_list
from partnerdesk.notices.services import notices_mark_read
from partnerdesk.support.selectors import support_request_list
from partnerdesk.web.charts import entitlement_charts
from partnerdesk.web.forecasts import forecast_lines


@login_required
def dashboard(request):
    user = request.user
    if user.organization_id is None:
        return redirect("web:staff_home" if user.is_staff else "web:login")
    today = timezone.localdate()
    entitlements = benefit_selectors.benefit_list(user=user) if user.organization.in_mpn else []
    charts = entitlement_charts(entitlements, today)
    forecasts = entitlement_forecasts(entitlements=entitlements, today=today)
    ended_on = (
        benefit_selectors.membership_ended_on(organization=user.organization, today=today)
        if not entitlements
        else None
    )
    return render(
        request,
        "partnerdesk/dashboard.html",
        {
            "cards": [
                (e, e.status_on(today), charts[e.pk], forecast_lines(forecasts[e.pk]))
                for e in entitlements
            ],
            "recent": support_request_list(user=user)[:5],
            "notices": notice_list(user=user, limit=5),
            "mpn": user.organization.in_mpn,
            # Lapsed: the empty state says when the membership ended (no request form).
            "membership_ended": membership_ended_text(ended_on) if ended_on else "",
            "membership_ended_hint": MEMBERSHIP_ENDED_HINT,
            "csp_agent": user.has_role(*Role.csp_agents()),
        },
    )


@login_required
def notices(request):
    # Engineers (no organization) have the requests' news here too.
    if request.user.organization_id is None and not request.user.is_staff:
        return redirect("web:home")
    items = inbox(user=request.user)
    # A benefit's notice is read by being listed; a request's once the request is opened.
    notices_mark_read(
        user=request.user, notices=[i.notice for i in items if i.notice and not i.is_read]
    )
    return render(
        request,
        "partnerdesk/notices.html",
        {"items": items, "heading": _("Notices"), "engineer": request.user.is_staff},
    )
