"""Partner pages for support requests: open (with the plan picker), list, detail."""

from __future__ import annotations

from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from partnerdesk.benefits.messages import MEMBERSHIP_ENDED_HINT, membership_ended_text
from partnerdesk.benefits.models import Unit
from partnerdesk.core.exceptions import ApplicationError, ValidationFailed
from partnerdesk.notices.services import request_notices_mark_read
from partnerdesk.support import permissions as who_may
from partnerdesk.support import selectors, services
from partnerdesk.support.attachments import attachments_add
from partnerdesk.support.catalog_snapshot import catalog
from partnerdesk.support.exceptions import HoursInsufficient
from partnerdesk.support.export import export_filename, export_lines
from partnerdesk.support.finding import request_filters
from partnerdesk.support.models import Charging, Refunding
from partnerdesk.support.obstacles import Obstacle, covering_plans, request_obstacle
from partnerdesk.web import request_lists
from partnerdesk.web.forms import NoteForm, SupportRequestForm
from partnerdesk.web.views import problem_page, shows_application_errors


def open_request(request, form, draft: services.SupportRequestDraft):
    """The service's refusal becomes the form's error (on the field it names, when the
    form has it); nothing was written."""
    try:
        return services.support_request_create(user=request.user, draft=draft)
    except ValidationFailed as error:
        for item in error.errors:
            field = item.get("path")
            form.add_error(field if field in form.fields else None, item["message"])
        return None
    except HoursInsufficient as error:
        # "Not enough advisory hours: 1 hour left on this contract; the estimate is 1.5 hours."
        form.add_error(
            None, _("%(title)s: %(detail)s") % {"title": error.title, "detail": error.detail}
        )
        return None
    except ApplicationError as error:
        form.add_error(None, error.detail)
        return None


def _category(code: str | None):
    """The category chosen (technical when none or an unknown one is)."""
    categories = catalog().categories
    return categories.get(code or "technical") or categories.get("technical")


def _product_choices() -> list:
    groups: dict[str, list] = {_("On-premises"): [], _("Cloud"): []}
    for product, entitled in selectors.product_list():
        label = product.name if entitled else _("%(name)s (not covered)") % {"name": product.name}
        key = _("Cloud") if product.deployment == "cloud" else _("On-premises")
        groups[key].append((product.pk, label))
    return [(group, items) for group, items in groups.items() if items]


def _plan_context(user, product_id: int | None, category_code: str | None = None) -> dict:
    """The plans that would be charged: incident contracts covering the product, the
    advisory hours for an advisory request, none for a free one."""
    category = _category(category_code)
    charging = category.charging if category is not None else Charging.INCIDENT
    if charging == Charging.FREE:
        return {"charging": charging, "usable": [], "unavailable": [], "needs_ids": False}
    deployment = None
    if product_id and charging == Charging.INCIDENT:
        deployment = next(
            (p.deployment for p, _e in selectors.product_list() if p.pk == product_id), None
        )
    unit = Unit.HOURS if charging == Charging.HOURS else Unit.INCIDENTS
    options = [
        o
        for o in selectors.contract_options(user=user, deployment=deployment)
        if o.entitlement.benefit.unit == unit
    ]
    if unit == Unit.HOURS:
        options = [
            replace(o, reason=_("no hours left")) if o.entitlement.remaining == 0 else o
            for o in options
        ]
    usable = [o for o in options if o.usable]
    return {
        "charging": charging,
        "usable": usable,
        "unavailable": [o for o in options if not o.usable],
        "needs_ids": any(not o.linked for o in usable),
        # A product no plan of the organization covers: which plans would.
        "uncovered": deployment if deployment and not options else None,
        "covering": covering_plans(deployment) if deployment and not options else [],
    }


def _opened_message(created) -> str:
    """What opening the request charged, by its category."""
    category = services.category_of(created)
    number = created.pk
    if created.entitlement is None:
        if category is not None and category.charging == Charging.FREE:
            return _(
                "Request #%(number)d is open. Frontline questions are free: nothing was charged."
            ) % {"number": number}
        return _("Request #%(number)d is open.") % {"number": number}
    contract = created.entitlement.contract_id
    if created.is_advisory:
        hours = services.hours_text(created.estimate_minutes)
        return _("Request #%(number)d is open. Reserved from contract %(contract)s: %(hours)s.") % {
            "number": number,
            "contract": contract,
            "hours": hours,
        }
    if category is not None and category.refunding == Refunding.CLOSURE:
        return _(
            "Request #%(number)d is open. One incident was charged to contract %(contract)s; "
            "it is given back when the request is closed."
        ) % {"number": number, "contract": contract}
    return _("Request #%(number)d is open. One incident was charged to contract %(contract)s.") % {
        "number": number,
        "contract": contract,
    }


def obstacle_page(request, obstacle: Obstacle):
    """The refusal known before the form, with why and what to do (nothing is written)."""
    return render(
        request,
        "partnerdesk/request_obstacle.html",
        {
            "obstacle": obstacle,
            "membership_ended": membership_ended_text(obstacle.ended_on)
            if obstacle.ended_on
            else "",
            "membership_ended_hint": MEMBERSHIP_ENDED_HINT,
            "rows": [(o, o.entitlement.status_on(timezone.localdate())) for o in obstacle.plans],
        },
    )


@login_required
@shows_application_errors
def request_new(request):
    obstacle = request_obstacle(user=request.user)
    if obstacle is not None:
        return obstacle_page(request, obstacle)
    try:
        product_id = int(request.POST.get("product") or 0)
    except ValueError:
        product_id = 0
    plans = _plan_context(request.user, product_id or None, request.POST.get("category"))
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
            messages.success(request, _opened_message(created))
            return redirect("web:request_detail", pk=created.pk)
    ids = {
        "access_id": request.POST.get("access_id"),
        "contract_id": request.POST.get("contract_id"),
    }
    return render(request, "partnerdesk/request_new.html", {"form": form, **plans, **ids})


@login_required
@shows_application_errors
def request_plans(request):
    """htmx: the plan picker for the chosen product, and (out of band) the topic select
    with the product family's topics."""
    from django.template.loader import render_to_string

    from partnerdesk.web.forms import TopicForm, product_family

    try:
        product_id = int(request.GET.get("product") or 0)
    except ValueError:
        product_id = 0
    plans = _plan_context(request.user, product_id or None, request.GET.get("category"))
    typed = {name: request.GET.get(name) for name in ("access_id", "contract_id")}
    response = render(request, "partnerdesk/plan_picker.html", {**plans, **typed})
    topics = TopicForm(family=product_family(product_id))
    response.content += render_to_string(
        "partnerdesk/topic_field.html", {"form": topics, "oob": True}, request=request
    ).encode()
    return response


@login_required
def request_list(request):
    """The organization's requests: filtered, searched, sorted and paged in the database."""
    context = request_lists.request_page(user=request.user, params=request.GET, per_page=25)
    organization = request.user.organization
    in_csp = organization is not None and organization.in_csp
    spec = list(request_lists.PARTNER_COLUMNS)
    if in_csp:
        spec.insert(3, (_("CSP customer"), None))
    return render(
        request,
        "partnerdesk/request_list.html",
        {
            **context,
            "columns": request_lists.columns(request.GET, context["filters"].ordering, spec),
            "in_csp": in_csp,
            "customers": selectors.customer_choices(user=request.user) if in_csp else [],
            "products": selectors.product_list(),
            "filtered": bool(request.GET.dict().keys() - {"page", "ordering"}),
        },
    )


@login_required
def request_export(request):
    """The list as it is filtered and sorted, as CSV (streamed)."""
    filters, errors = request_filters(request.GET.dict())
    if errors:
        return problem_page(request, ValidationFailed(errors))
    response = StreamingHttpResponse(
        export_lines(user=request.user, filters=filters), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{export_filename()}"'
    return response


@login_required
@shows_application_errors
def request_detail(request, pk: int):
    support_request = selectors.support_request_get(user=request.user, request_id=pk)
    # Opening the request is reading what it was told about (a write the reader caused).
    request_notices_mark_read(user=request.user, request_id=support_request.pk)
    return render(
        request,
        "partnerdesk/request_detail.html",
        {
            "support_request": support_request,
            **conversation_context(request.user, support_request),
            "may_withdraw": support_request.can_be_withdrawn
            and who_may.may_withdraw(request.user, support_request),
        },
    )


def conversation_context(user, support_request) -> dict:
    """The conversation as ``user`` may read it, and the reply form (both request pages)."""
    return {
        "notes": who_may.notes_visible_to(user, support_request),
        "note_form": NoteForm(),
        "is_engineer": who_may.is_engineer(user),
    }


@require_http_methods(["GET", "POST"])
@login_required
@shows_application_errors
def request_withdraw(request, pk: int):
    """GET (or a POST without ``confirm=withdraw``): "Withdraw this request?", saying what
    happens to the incident; only the confirmed POST withdraws."""
    if request.method == "POST" and request.POST.get("confirm") == "withdraw":
        withdrawn = services.support_request_withdraw(user=request.user, request_id=pk)
        if withdrawn.is_advisory:
            messages.success(
                request, _("The request was withdrawn and its reserved hours given back.")
            )
        elif withdrawn.charged:
            messages.success(request, _("The request was withdrawn and its incident given back."))
        else:  # the Cloud Solution Provider plan: no incident to speak of
            messages.success(request, _("The request was withdrawn."))
        return redirect("web:request_detail", pk=pk)
    support_request = selectors.support_request_withdrawable(user=request.user, request_id=pk)
    if request.method == "POST":  # not confirmed: ask, changing nothing
        return redirect("web:request_withdraw", pk=pk)
    template = (
        "partnerdesk/withdraw_confirm_form.html"
        if request.headers.get("HX-Request")
        else "partnerdesk/withdraw_confirm.html"
    )
    return render(request, template, {"support_request": support_request})


@require_POST
@login_required
@shows_application_errors
def request_note(request, pk: int):
    """A reply, with its files (the attachments of the form's ``files``), all or nothing."""
    form = NoteForm(request.POST)
    target = "web:staff_request" if request.user.is_staff else "web:request_detail"
    if not form.is_valid():
        errors = form.errors.get("body") or [_("Write something first.")]
        messages.error(request, errors[0])
        return redirect(target, pk=pk)
    uploads = request.FILES.getlist("files")
    with transaction.atomic():
        note = services.support_request_add_note(
            author=request.user,
            request_id=pk,
            body=form.cleaned_data["body"],
            internal=form.cleaned_data["internal"],
            attention_needed=form.cleaned_data["attention_needed"],
        )
        if uploads:
            attachments_add(user=request.user, request_id=pk, uploads=uploads, note=note)
    if note.internal:
        messages.success(request, _("The internal note is saved; partners don't see it."))
    elif note.asks_partner:
        messages.success(request, _("Your question is sent; the request waits for the reply."))
    else:
        messages.success(request, _("Your reply is sent."))
    return redirect(target, pk=pk)
