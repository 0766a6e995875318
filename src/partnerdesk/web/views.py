"""Portal pages: parse, call one selector or service, render."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from partnerdesk.accounts.services import user_set_language
from partnerdesk.benefits import selectors
from partnerdesk.benefits.activation import (
    activation_request,
    activation_requested_text,
    can_activate,
)
from partnerdesk.benefits.forecast import entitlement_forecasts
from partnerdesk.benefits.messages import (
    MEMBERSHIP_ENDED_HINT,
    NO_BENEFITS,
    WRONG_ACCOUNT_HINT,
    membership_ended_text,
)
from partnerdesk.benefits.services import entitlement_ids_viewed
from partnerdesk.benefits.statements import benefit_statement, statement_period
from partnerdesk.core.downloads import file_attachment
from partnerdesk.core.exceptions import ApplicationError, ValidationFailed
from partnerdesk.web.charts import entitlement_charts
from partnerdesk.web.forecasts import forecast_lines
from partnerdesk.web.forms import StatementForm


def problem_page(request, error: ApplicationError):
    return render(
        request,
        "partnerdesk/problem.html",
        {"error": error, "switch_account": error.code == "not_authorized"},
        status=error.status,
    )


def shows_application_errors(view):
    """Domain errors become a page with the error's message and status."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ApplicationError as error:
            return problem_page(request, error)

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
    if request.user.is_authenticated and request.user.organization_id is None:
        return redirect("web:staff_home" if request.user.is_staff else "web:login")
    return redirect("web:dashboard")


def _membership_ended(user, entitlements, today) -> str:
    """A lapsed organization is told when its membership ended, not "wrong account"."""
    if entitlements:
        return ""
    ended_on = selectors.membership_ended_on(organization=user.organization, today=today)
    return membership_ended_text(ended_on) if ended_on else ""


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
            "membership_ended": _membership_ended(request.user, entitlements, today),
            "membership_ended_hint": MEMBERSHIP_ENDED_HINT,
        },
    )


@login_required
@shows_application_errors
def benefit_detail(request, pk: int):
    entitlement = selectors.benefit_get(user=request.user, entitlement_id=pk)
    entitlement_ids_viewed(user=request.user, entitlement=entitlement)
    today = timezone.localdate()
    return render(
        request,
        "partnerdesk/benefit_detail.html",
        {
            "entitlement": entitlement,
            "status": entitlement.status_on(today),
            "activation": entitlement.latest_activation,
            "can_activate": can_activate(request.user),
            "activatable": entitlement.can_be_activated_on(today),
            "ledger": selectors.entitlement_ledger(entitlement=entitlement),
            "chart": entitlement_charts([entitlement], today, wide=True)[entitlement.pk],
            "forecast": forecast_lines(
                entitlement_forecasts(entitlements=[entitlement], today=today)[entitlement.pk]
            ),
            "statement_period": statement_period(
                entitlement=entitlement, start=None, end=None, today=today
            ),
        },
    )


@login_required
@shows_application_errors
def benefit_statement_download(request, pk: int):
    """The benefit's ledger statement for the period chosen on its page, as a file."""
    form = StatementForm(request.GET)
    if not form.is_valid():
        raise ValidationFailed(form.errors_as_paths())
    statement = benefit_statement(
        user=request.user,
        entitlement_id=pk,
        start=form.cleaned_data["from"],
        end=form.cleaned_data["to"],
        file_format=form.cleaned_data["format"] or "csv",
    )
    return file_attachment(
        statement.content, name=statement.filename, content_type=statement.content_type
    )


@require_POST
@login_required
def benefit_activate(request, pk: int):
    try:
        outcome = activation_request(user=request.user, entitlement_id=pk)
    except ApplicationError as error:
        if error.status in (403, 404) and error.code != "role_required":
            return problem_page(request, error)
        messages.error(request, error.detail)
    else:
        if outcome.created:
            messages.success(request, activation_requested_text(outcome.activation))
    return redirect("web:benefit_detail", pk=pk)


@login_required
def plan_comparison(request):
    return render(request, "partnerdesk/plans.html", {"comparison": selectors.plan_comparison()})
