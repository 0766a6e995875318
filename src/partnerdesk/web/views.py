"""Portal pages: parse, call one selector or service, render."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone

from partnerdesk.benefits import selectors
from partnerdesk.benefits.messages import NO_BENEFITS, WRONG_ACCOUNT_HINT
from partnerdesk.core.exceptions import ApplicationError


def shows_application_errors(view):
    """Domain errors become a page with the error's message and status."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ApplicationError as error:
            return render(
                request,
                "partnerdesk/problem.html",
                {"error": error, "switch_account": error.code == "not_authorized"},
                status=error.status,
            )

    return wrapper


def home(request):
    # Signed-out visitors go through the sign-in page and come back here.
    return redirect("web:benefits")


@login_required
@shows_application_errors
def technical_benefits(request):
    entitlements = selectors.benefit_list(user=request.user)
    today = timezone.localdate()
    return render(
        request,
        "partnerdesk/benefits.html",
        {
            "rows": [(e, e.status_on(today)) for e in entitlements],
            "no_benefits": NO_BENEFITS,
            "wrong_account_hint": WRONG_ACCOUNT_HINT,
        },
    )


@login_required
@shows_application_errors
def benefit_detail(request, pk: int):
    entitlement = selectors.benefit_get(user=request.user, entitlement_id=pk)
    return render(
        request,
        "partnerdesk/benefit_detail.html",
        {
            "entitlement": entitlement,
            "status": entitlement.status_on(timezone.localdate()),
            "ledger": selectors.entitlement_ledger(entitlement=entitlement),
        },
    )
