"""The support engineers' console: Django staff pick up, annotate and close requests."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from partnerdesk.core.exceptions import RoleRequired, ValidationFailed
from partnerdesk.notices.services import request_notices_mark_read
from partnerdesk.support import assignment, selectors, services
from partnerdesk.support.exceptions import HoursInsufficient
from partnerdesk.support.finding import ACTIVE
from partnerdesk.web import request_lists
from partnerdesk.web.forms import CloseForm, TimeEntryForm
from partnerdesk.web.support_views import conversation_context
from partnerdesk.web.templatetags.advisory import hours_text
from partnerdesk.web.views import problem_page, shows_application_errors


def engineers_only(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            return problem_page(request, RoleRequired(_("Only support engineers can do this.")))
        return view(request, *args, **kwargs)

    return login_required(wrapper)


@engineers_only
def queue(request):
    """Requests still being worked on by default, the one due first on top; queues by
    product family, "assigned to me" and "unassigned"."""
    explicit = "status" in request.GET
    defaults = {} if explicit else {"status": ACTIVE}
    active = request.GET.get("status", ACTIVE) == ACTIVE
    context = request_lists.request_page(
        user=request.user,
        params=request.GET,
        per_page=50,
        defaults=defaults,
        default_ordering="first_response_due" if active else "-created_at",
    )
    return render(
        request,
        "partnerdesk/staff_queue.html",
        {
            **context,
            "columns": request_lists.columns(
                request.GET, context["filters"].ordering, request_lists.CONSOLE_COLUMNS
            ),
            "families": sorted({p.family for p, _entitled in selectors.product_list()}),
            "engineers": assignment.engineers(),
            "filtered": bool(request.GET.dict().keys() - {"page", "ordering", "q"}),
        },
    )


@engineers_only
@shows_application_errors
def request_detail(request, pk: int):
    support_request = selectors.support_request_get(user=request.user, request_id=pk)
    request_notices_mark_read(user=request.user, request_id=support_request.pk)
    time_entries = []
    if support_request.is_advisory:
        time_entries = list(
            support_request.time_entries.select_related("engineer").order_by("created_at", "pk")
        )
    return render(
        request,
        "partnerdesk/staff_request.html",
        {
            "support_request": support_request,
            **conversation_context(request.user, support_request),
            "close_form": CloseForm(category=services.category_of(support_request)),
            "engineers": assignment.engineers(),
            "time_entries": time_entries,
            "time_total": hours_text(sum(e.minutes for e in time_entries)),
            "time_form": TimeEntryForm(),
        },
    )


@require_POST
@engineers_only
@shows_application_errors
def log_time(request, pk: int):
    """Time an engineer spent on an advisory request."""
    form = TimeEntryForm(request.POST)
    if not form.is_valid():
        errors = form.errors.get("minutes") or form.errors.get("note") or []
        messages.error(request, errors[0] if errors else _("Give the minutes spent."))
        return redirect("web:staff_request", pk=pk)
    try:
        entry = services.time_entry_add(
            engineer=request.user,
            request_id=pk,
            minutes=form.cleaned_data["minutes"],
            note=form.cleaned_data["note"],
        )
    except ValidationFailed as error:
        messages.error(request, error.errors[0]["message"])
        return redirect("web:staff_request", pk=pk)
    messages.success(request, _("%(time)s logged.") % {"time": hours_text(entry.minutes)})
    return redirect("web:staff_request", pk=pk)


@require_POST
@engineers_only
@shows_application_errors
def pick_up(request, pk: int):
    assignment.support_request_pick_up(engineer=request.user, request_id=pk)
    messages.success(request, _("You are working on this request now."))
    return redirect("web:staff_request", pk=pk)


@require_POST
@engineers_only
@shows_application_errors
def assign(request, pk: int):
    """Reassign to the engineer chosen (an e-mail), or unassign (an empty choice)."""
    if "engineer" not in request.POST:
        messages.error(request, _("Choose a support engineer."))
        return redirect("web:staff_request", pk=pk)
    email = request.POST["engineer"].strip() or None
    try:
        support_request = assignment.support_request_assign(
            engineer=request.user, request_id=pk, assignee_email=email
        )
    except ValidationFailed as error:
        messages.error(request, error.errors[0]["message"])
        return redirect("web:staff_request", pk=pk)
    if support_request.assigned_to is None:
        messages.success(request, _("The request is back in the queue, unassigned."))
    else:
        messages.success(
            request,
            _("The request is assigned to %(name)s.")
            % {"name": support_request.assigned_to.get_full_name()},
        )
    return redirect("web:staff_request", pk=pk)


@require_POST
@engineers_only
@shows_application_errors
def close(request, pk: int):
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            closed = services.support_request_close(
                engineer=request.user,
                request_id=pk,
                resolution=form.cleaned_data["resolution"],
                overdraw=form.cleaned_data["overdraw"],
            )
        except HoursInsufficient as error:
            # Nothing changed: the request stays open, the time logged with it.
            messages.error(
                request,
                _("%(title)s: %(detail)s") % {"title": error.title, "detail": error.detail},
            )
            return redirect("web:staff_request", pk=pk)
        if closed.is_advisory:
            messages.success(request, _("The request is closed and its hours settled."))
        else:
            messages.success(request, _("The request is closed."))
    else:
        messages.error(request, _("Choose a resolution."))
    return redirect("web:staff_request", pk=pk)
