"""Portal pages: parse, call one selector or service, render."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from partnerdesk.accounts.services import user_set_language
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


@require_POST
def set_language(request):
    """Django's switcher (session cookie), plus the signed-in user's own setting."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        user_set_language(user=request.user, language=language)
    return response


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
