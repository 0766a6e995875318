"""The support engineers' console: Django staff pick up, annotate and close requests."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from partnerdesk.core.exceptions import RoleRequired
from partnerdesk.support import selectors, services
from partnerdesk.support.models import RequestStatus
from partnerdesk.web.forms import CloseForm, NoteForm
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
    status = request.GET.get("status", "")
    requests = selectors.support_request_list(user=request.user, status=status or None)
    if not status:
        requests = requests.filter(status__in=[RequestStatus.OPEN, RequestStatus.IN_PROGRESS])
    page = Paginator(requests, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "partnerdesk/staff_queue.html",
        {"page": page, "status": status, "statuses": RequestStatus.choices},
    )


@engineers_only
@shows_application_errors
def request_detail(request, pk: int):
    support_request = selectors.support_request_get(user=request.user, request_id=pk)
    return render(
        request,
        "partnerdesk/staff_request.html",
        {
            "support_request": support_request,
            "notes": support_request.notes.select_related("author"),
            "note_form": NoteForm(),
            "close_form": CloseForm(),
        },
    )


@require_POST
@engineers_only
@shows_application_errors
def pick_up(request, pk: int):
    services.support_request_pick_up(engineer=request.user, request_id=pk)
    messages.success(request, _("You are working on this request now."))
    return redirect("web:staff_request", pk=pk)


@require_POST
@engineers_only
@shows_application_errors
def close(request, pk: int):
    form = CloseForm(request.POST)
    if form.is_valid():
        services.support_request_close(
            engineer=request.user, request_id=pk, resolution=form.cleaned_data["resolution"]
        )
        messages.success(request, _("The request is closed."))
    else:
        messages.error(request, _("Choose a resolution."))
    return redirect("web:staff_request", pk=pk)
