"""CSP → Customers → a customer → Service management → New request."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from partnerdesk.support import selectors
from partnerdesk.web.forms import CustomerRequestForm
from partnerdesk.web.support_views import open_request
from partnerdesk.web.views import shows_application_errors


@login_required
@shows_application_errors
def customers(request):
    return render(
        request,
        "partnerdesk/csp_customers.html",
        {"customers": selectors.customer_list(user=request.user)},
    )


@login_required
@shows_application_errors
def service_management(request, pk: int):
    customer = selectors.customer_get(user=request.user, customer_id=pk)
    return render(
        request,
        "partnerdesk/csp_customer.html",
        {
            "customer": customer,
            "workloads": selectors.workload_list(),
            "requests": customer.support_requests.select_related("product").order_by("-id")[:50],
        },
    )


@login_required
@shows_application_errors
def new_request(request, pk: int):
    customer = selectors.customer_get(user=request.user, customer_id=pk)
    workloads = selectors.workload_list()
    chosen = request.POST.get("workload") or request.GET.get("workload") or workloads[0].code
    workload = next((w for w in workloads if w.code == chosen), workloads[0])
    form = CustomerRequestForm(
        request.POST or None,
        workloads=[(w.code, w.name) for w in workloads],
        reload_url=request.path,
        family=workload.product.family,
        initial={
            "workload": workload.code,
            "contact_name": request.user.get_full_name(),
            "contact_email": request.user.email,
        },
    )
    # Known before the form: without MPN there is no cloud support contract to charge.
    no_contract = not workload.csp_plan and not request.user.organization.in_mpn
    if request.method == "POST" and not no_contract and form.is_valid():
        draft = form.draft(
            product_id=None, customer_id=customer.pk, workload=form.cleaned_data["workload"]
        )
        created = open_request(request, form, draft)
        if created is not None:
            messages.success(
                request,
                _("Request #%(number)d is open for %(customer)s.")
                % {"number": created.pk, "customer": customer.name},
            )
            return redirect("web:request_detail", pk=created.pk)
    return render(
        request,
        "partnerdesk/csp_request_new.html",
        {
            "customer": customer,
            "form": form,
            "workload": workload,
            "workloads": workloads,
            "no_contract": no_contract,
        },
    )
