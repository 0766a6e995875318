"""Partner pages for support requests: open (with the plan picker), list, detail."""

from __future__ import annotations

from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from partnerdesk.core.exceptions import ApplicationError
from partnerdesk.support import selectors, services
from partnerdesk.web.forms import NoteForm, SupportRequestForm
from partnerdesk.web.views import shows_application_errors


def open_request(request, form, draft: services.SupportRequestDraft):
    """The service's refusal becomes the form's error; nothing was written."""
    try:
        return services.support_request_create(user=request.user, draft=draft)
    except ApplicationError as error:
        form.add_error(None, error.detail)
        return None


def _product_choices() -> list:
    groups: dict[str, list] = {_("On-premises"): [], _("Cloud"): []}
    for product, entitled in selectors.product_list():
        label = product.name if entitled else _("%(name)s (not covered)") % {"name": product.name}
        key = _("Cloud") if product.deployment == "cloud" else _("On-premises")
        groups[key].append((product.pk, label))
    return [(group, items) for group, items in groups.items() if items]


def _plan_context(user, product_id: int | None) -> dict:
    deployment = None
    if product_id:
        deployment = next(
            (p.deployment for p, _e in selectors.product_list() if p.pk == product_id), None
        )
    options = selectors.contract_options(user=user, deployment=deployment)
    usable = [o for o in options if o.usable]
    return {
        "usable": usable,
        "unavailable": [o for o in options if not o.usable],
        "needs_ids": any(not o.linked for o in usable),
    }


@login_required
@shows_application_errors
def request_new(request):
    try:
        product_id = int(request.POST.get("product") or 0)
    except ValueError:
        product_id = 0
    plans = _plan_context(request.user, product_id or None)
    contracts = [(o.entitlement.pk, str(o.entitlement.pk)) for o in plans["usable"]]
    form = SupportRequestForm(
        request.POST or None,
        products=_product_choices(),
        contracts=contracts,
        initial={
            "contact_name": request.user.get_full_name(),
            "contact_email": request.user.email,
            "contract": contracts[0][0] if contracts else None,
        },
    )
    if request.method == "POST" and form.is_valid():
        chosen = next(
            (
                o.entitlement
                for o in plans["usable"]
                if o.entitlement.pk == form.cleaned_data["contract"]
            ),
            None,
        )
        draft = form.draft(product_id=form.cleaned_data["product"])
        if not draft.contract_id and chosen is not None:
            draft = replace(draft, contract_id=chosen.contract_id)
        created = open_request(request, form, draft)
        if created is not None:
            messages.success(
                request,
                _("Request #%(number)d is open. One incident was charged to contract %(contract)s.")
                % {"number": created.pk, "contract": created.entitlement.contract_id},
            )
            return redirect("web:request_detail", pk=created.pk)
    ids = {
        "access_id": request.POST.get("access_id"),
        "contract_id": request.POST.get("contract_id"),
    }
    return render(request, "partnerdesk/request_new.html", {"form": form, **plans, **ids})


@login_required
@shows_application_errors
def request_plans(request):
    """htmx: the plan picker for the chosen product."""
    try:
        product_id = int(request.GET.get("product") or 0)
    except ValueError:
        product_id = 0
    plans = _plan_context(request.user, product_id or None)
    typed = {name: request.GET.get(name) for name in ("access_id", "contract_id")}
    return render(request, "partnerdesk/plan_picker.html", {**plans, **typed})


@login_required
def request_list(request):
    requests = selectors.support_request_list(user=request.user, status=request.GET.get("status"))
    page = Paginator(requests, 25).get_page(request.GET.get("page"))
    return render(request, "partnerdesk/request_list.html", {"page": page})


@login_required
@shows_application_errors
def request_detail(request, pk: int):
    support_request = selectors.support_request_get(user=request.user, request_id=pk)
    return render(
        request,
        "partnerdesk/request_detail.html",
        {
            "support_request": support_request,
            "notes": support_request.notes.select_related("author"),
            "note_form": NoteForm(),
        },
    )


@require_POST
@login_required
@shows_application_errors
def request_withdraw(request, pk: int):
    services.support_request_withdraw(user=request.user, request_id=pk)
    messages.success(request, _("The request was withdrawn and its incident given back."))
    return redirect("web:request_detail", pk=pk)


@require_POST
@login_required
@shows_application_errors
def request_note(request, pk: int):
    form = NoteForm(request.POST)
    if form.is_valid():
        services.support_request_add_note(
            author=request.user, request_id=pk, body=form.cleaned_data["body"]
        )
    else:
        messages.error(request, _("Write something first."))
    target = "web:staff_request" if request.user.is_staff else "web:request_detail"
    return redirect(target, pk=pk)
