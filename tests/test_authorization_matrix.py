"""Every API operation and every portal page, discovered from the URL configuration, tried
as anonymous, as a user of another organization, as each role and as an operator. A new
endpoint without a row here fails the completeness test, so none can be forgotten.

Another organization's objects answer 404, never 403."""

from __future__ import annotations

import pytest
import requests
from django.urls import URLPattern, URLResolver

from partnerdesk.api.api import api
from partnerdesk.benefits.ledger import ledger_post
from partnerdesk.benefits.models import Entitlement
from tests.factories import (
    OTHER,
    CustomerFactory,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    open_request,
    product,
    token_for,
)

ROLES = ["ordinary", "global_admin", "mpn_partner_admin", "admin_agent", "helpdesk_agent"]
ACTORS = ["anonymous", "outsider", *ROLES, "operator"]
OK = {200}
PARTNERS = set(ROLES)


def expect(**answers) -> dict[str, set[int]]:
    """Per actor: the allowed statuses; ``partners`` stands for every role of the owner."""
    table = {}
    for actor in ACTORS:
        key = "partners" if actor in PARTNERS and actor not in answers else actor
        table[actor] = answers.get(key, answers.get("default"))
    return table


# (method, path) -> allowed statuses per actor. Paths as the OpenAPI document names them.
# Every try acts on a request opened just for it, so no answer depends on an earlier try
# (no 409 for a request someone already withdrew or closed).
API = {
    ("GET", "/api/v1/health"): expect(default=OK),
    ("GET", "/api/v1/me"): expect(anonymous={401}, default=OK),
    ("GET", "/api/v1/benefits"): expect(anonymous={401}, operator={403}, default=OK),
    ("GET", "/api/v1/benefits/{benefit_id}"): expect(
        anonymous={401}, outsider={404}, operator={403}, partners=OK
    ),
    ("POST", "/api/v1/benefits/{benefit_id}/activate"): expect(
        anonymous={401},
        outsider={404},
        operator={403},
        partners={403},
        global_admin={200, 202},
        mpn_partner_admin={200, 202},
    ),
    ("GET", "/api/v1/benefits/{benefit_id}/ledger"): expect(
        anonymous={401}, outsider={404}, operator={403}, partners=OK
    ),
    ("GET", "/api/v1/benefits/{benefit_id}/statement"): expect(
        anonymous={401}, outsider={404}, operator={403}, partners=OK
    ),
    ("GET", "/api/v1/products"): expect(anonymous={401}, default=OK),
    ("GET", "/api/v1/support-topics"): expect(anonymous={401}, default=OK),
    ("POST", "/api/v1/support-requests"): expect(
        anonymous={401}, outsider={403}, operator={403}, partners={201}
    ),
    ("GET", "/api/v1/support-requests"): expect(anonymous={401}, default=OK),
    ("GET", "/api/v1/support-requests/export"): expect(anonymous={401}, default=OK),
    ("POST", "/api/v1/support-requests/{request_id}/pick-up"): expect(
        anonymous={401}, outsider={404}, partners={403}, operator=OK
    ),
    ("POST", "/api/v1/support-requests/{request_id}/assign"): expect(
        anonymous={401}, outsider={404}, partners={403}, operator=OK
    ),
    ("GET", "/api/v1/support-requests/{request_id}"): expect(
        anonymous={401}, outsider={404}, default=OK
    ),
    # The opener (every try's request is the ordinary user's) and the admins; another
    # member may not (support.permissions).
    ("POST", "/api/v1/support-requests/{request_id}/withdraw"): expect(
        anonymous={401},
        outsider={404},
        operator={404},
        partners={403},
        ordinary=OK,
        global_admin=OK,
        mpn_partner_admin=OK,
    ),
    ("POST", "/api/v1/support-requests/{request_id}/close"): expect(
        anonymous={401}, outsider={404}, partners={403}, operator=OK
    ),
    # Engineers only; the matrix's requests are technical, so the engineer gets as far as
    # "time is logged on advisory requests only" (422).
    ("POST", "/api/v1/support-requests/{request_id}/time-entries"): expect(
        anonymous={401}, outsider={404}, partners={403}, operator={422}
    ),
    ("POST", "/api/v1/support-requests/{request_id}/notes"): expect(
        anonymous={401}, outsider={404}, default={201}
    ),
    # Anyone who can see the request (engineers on every request); support.attachments.
    ("POST", "/api/v1/support-requests/{request_id}/attachments"): expect(
        anonymous={401}, outsider={404}, default={201}
    ),
    ("GET", "/api/v1/support-requests/{request_id}/attachments/{attachment_id}"): expect(
        anonymous={401}, outsider={404}, default=OK
    ),
    ("GET", "/api/v1/customers"): expect(
        anonymous={401},
        outsider={403},
        operator={403},
        partners={403},
        admin_agent=OK,
        helpdesk_agent=OK,
    ),
    # Everyone's own organization's events; a staff user's plain token has none (and no
    # operator scope to read everyone's: test_events).
    ("GET", "/api/v1/events"): expect(anonymous={401}, operator={403}, default=OK),
    # Operator tokens only (test_admin_organizations): not even a staff user's plain token.
    ("PUT", "/api/v1/admin/organizations/{partner_id}"): expect(anonymous={401}, default={403}),
    ("GET", "/api/v1/admin/organizations/{partner_id}"): expect(anonymous={401}, default={403}),
    # Operator tokens only too (test_webhooks): refused before the endpoint is looked up.
    ("POST", "/api/v1/admin/webhooks"): expect(anonymous={401}, default={403}),
    ("GET", "/api/v1/admin/webhooks"): expect(anonymous={401}, default={403}),
    ("GET", "/api/v1/admin/webhooks/{endpoint_id}"): expect(anonymous={401}, default={403}),
    ("DELETE", "/api/v1/admin/webhooks/{endpoint_id}"): expect(anonymous={401}, default={403}),
    ("POST", "/api/v1/admin/webhooks/{endpoint_id}/resume"): expect(anonymous={401}, default={403}),
    ("GET", "/api/v1/admin/webhooks/{endpoint_id}/deliveries"): expect(
        anonymous={401}, default={403}
    ),
    ("POST", "/api/v1/admin/webhooks/deliveries/{delivery_id}/replay"): expect(
        anonymous={401}, default={403}
    ),
}
# Public, and the same for everyone.
API_DOCUMENTS = {("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/docs")}

SIGN_IN = {302}  # login_required: to the sign-in page
PAGES = {
    "home": expect(default={302}),
    "login": expect(default=OK),
    "logout": expect(default={302}),
    "set_language": expect(default={302}),
    "password_reset": expect(default=OK),
    "password_reset_done": expect(default=OK),
    "password_reset_confirm": expect(default=OK),
    "password_reset_complete": expect(default=OK),
    "dashboard": expect(anonymous=SIGN_IN, operator={302}, default=OK),
    "notices": expect(anonymous=SIGN_IN, default=OK),  # engineers have request notices
    "benefits": expect(anonymous=SIGN_IN, operator={403}, default=OK),
    "benefit_detail": expect(anonymous=SIGN_IN, outsider={404}, operator={403}, partners=OK),
    "benefit_activate": expect(anonymous=SIGN_IN, outsider={404}, operator={403}, partners={302}),
    "benefit_statement": expect(anonymous=SIGN_IN, outsider={404}, operator={403}, partners=OK),
    "plans": expect(anonymous=SIGN_IN, default=OK),
    "requests": expect(anonymous=SIGN_IN, default=OK),
    "request_new": expect(anonymous=SIGN_IN, operator={403}, default=OK),
    "request_plans": expect(anonymous=SIGN_IN, operator={403}, default=OK),
    "request_detail": expect(anonymous=SIGN_IN, outsider={404}, default=OK),
    "request_withdraw": expect(
        anonymous=SIGN_IN,
        outsider={404},
        operator={404},
        partners={403},
        ordinary={302},
        global_admin={302},
        mpn_partner_admin={302},
    ),
    "request_note": expect(anonymous=SIGN_IN, outsider={404}, default={302}),
    "request_attachments_add": expect(anonymous=SIGN_IN, outsider={404}, default={302}),
    "request_attachment": expect(anonymous=SIGN_IN, outsider={404}, default=OK),
    "staff_home": expect(anonymous=SIGN_IN, operator=OK, default={403}),
    "staff_queue": expect(anonymous=SIGN_IN, operator=OK, default={403}),
    "staff_sla": expect(anonymous=SIGN_IN, operator=OK, default={403}),
    "staff_ledger_export": expect(anonymous=SIGN_IN, operator=OK, default={403}),
    "staff_requests_export": expect(anonymous=SIGN_IN, operator=OK, default={403}),
    "staff_request": expect(anonymous=SIGN_IN, operator=OK, default={403}),
    "staff_pick_up": expect(anonymous=SIGN_IN, operator={302}, default={403}),
    "staff_assign": expect(anonymous=SIGN_IN, operator={302}, default={403}),
    "requests_export": expect(anonymous=SIGN_IN, default=OK),
    "staff_close": expect(anonymous=SIGN_IN, operator={302}, default={403}),
    "staff_time": expect(anonymous=SIGN_IN, operator={302}, default={403}),
    # Sign in with Microsoft is off unless OIDC_* is set: no such pages (test_oidc has
    # them switched on, against a real provider).
    "microsoft_start": expect(default={404}),
    "microsoft_callback": expect(default={404}),
    "csp_customers": expect(
        anonymous=SIGN_IN,
        outsider={403},
        operator={403},
        partners={403},
        admin_agent=OK,
        helpdesk_agent=OK,
    ),
    "csp_customer": expect(
        anonymous=SIGN_IN,
        outsider={404},
        operator={404},
        partners={403},
        admin_agent=OK,
        helpdesk_agent=OK,
    ),
    "csp_request_new": expect(
        anonymous=SIGN_IN,
        outsider={404},
        operator={404},
        partners={403},
        admin_agent=OK,
        helpdesk_agent=OK,
    ),
}
POST_PAGES = {
    "logout",
    "set_language",
    "benefit_activate",
    "request_withdraw",
    "request_note",
    "request_attachments_add",
    "staff_pick_up",
    "staff_assign",
    "staff_close",
    "staff_time",
}


def api_operations() -> set[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return {
        (method.upper(), path) for path, methods in schema["paths"].items() for method in methods
    }


def page_names() -> set[str]:
    from partnerdesk.web import urls

    names = set()
    for pattern in urls.urlpatterns:
        assert not isinstance(pattern, URLResolver), "nested URL confs need rows here too"
        assert isinstance(pattern, URLPattern) and pattern.name, pattern
        names.add(pattern.name)
    return names


def test_every_endpoint_and_page_has_a_row():
    assert api_operations() == set(API)
    assert page_names() == set(PAGES)


def attach(support_request):
    """A file on the request, from its opener."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from partnerdesk.support.attachments import attachment_add

    upload = SimpleUploadedFile("matrix.log", b"matrix log line\n")
    return attachment_add(
        user=support_request.opened_by, request_id=support_request.pk, upload=upload
    )


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # attachments: never var/media
    owner = OrganizationFactory(name="Owner", in_mpn=True, in_csp=True)
    membership(owner, "gold", OTHER)
    activate(owner)
    contract = Entitlement.objects.get(organization=owner, benefit__code="product_support")
    ledger_post(entitlement_id=contract.pk, kind="adjustment", delta=1000, note="matrix")
    users = {
        role: UserFactory(
            organization=owner,
            email=f"{role}@owner.example",
            **({f"is_{role}": True} if role != "ordinary" else {}),
        )
        for role in ROLES
    }
    outsider_org = OrganizationFactory(name="Outsider", in_mpn=True, in_csp=False)
    users["outsider"] = UserFactory(organization=outsider_org, email="out@outsider.example")
    users["operator"] = UserFactory(
        organization=None, is_staff=True, is_superuser=True, email="op@vendor.example"
    )
    customer = CustomerFactory(organization=owner)

    def new_request():
        return open_request(users["ordinary"], contract)

    return {"users": users, "contract": contract, "customer": customer, "new_request": new_request}


def test_api_matrix(live_server, world):
    tokens = {actor: token_for(user) for actor, user in world["users"].items()}
    contract = world["contract"]
    failures = {}
    for (method, path), allowed in API.items():
        for actor in ACTORS:
            support_request = world["new_request"]()
            attachment_id = attach(support_request).pk if "{attachment_id}" in path else 0
            url = live_server.url + path.format(
                benefit_id=contract.pk,
                request_id=support_request.pk,
                attachment_id=attachment_id,
                partner_id=contract.organization.partner_id,
                endpoint_id=1,
                delivery_id=1,
            )
            body = {
                "/api/v1/support-requests": {
                    "product_id": product("SQL Server", "2022").pk,
                    "severity": "B",
                    "title": "t",
                    "description": "d",
                    "contract_id": contract.contract_id,
                    "access_id": contract.access_id,
                },
                "/api/v1/support-requests/{request_id}/close": {"resolution": "solved"},
                "/api/v1/support-requests/{request_id}/assign": {"engineer": "op@vendor.example"},
                "/api/v1/support-requests/{request_id}/notes": {"body": "hello"},
                "/api/v1/support-requests/{request_id}/time-entries": {"minutes": 30},
            }.get(path)
            headers = {} if actor == "anonymous" else {"Authorization": f"Bearer {tokens[actor]}"}
            files = {"file": ("x.log", b"matrix\n")} if path.endswith("/attachments") else None
            answer = requests.request(
                method, url, json=body, files=files, headers=headers, timeout=10
            )
            if answer.status_code not in allowed[actor]:
                failures[f"{method} {path} as {actor}"] = (answer.status_code, answer.text[:120])
            elif answer.status_code >= 400:
                assert answer.headers["Content-Type"].startswith("application/problem+json")
    for method, path in API_DOCUMENTS:
        assert requests.request(method, live_server.url + path, timeout=10).status_code == 200
    assert failures == {}


def test_portal_matrix(client, world):
    from django.urls import reverse

    contract, customer = world["contract"], world["customer"]
    failures = {}
    for name, allowed in PAGES.items():
        for actor in ACTORS:
            client.logout()
            if actor != "anonymous":
                client.force_login(world["users"][actor])
            support_request = world["new_request"]()
            args = {
                "benefit_detail": [contract.pk],
                "benefit_activate": [contract.pk],
                "benefit_statement": [contract.pk],
                "request_detail": [support_request.pk],
                "request_withdraw": [support_request.pk],
                "request_note": [support_request.pk],
                "request_attachments_add": [support_request.pk],
                "request_attachment": [support_request.pk, attach(support_request).pk]
                if name == "request_attachment"
                else [],
                "staff_request": [support_request.pk],
                "staff_pick_up": [support_request.pk],
                "staff_assign": [support_request.pk],
                "staff_close": [support_request.pk],
                "staff_time": [support_request.pk],
                "csp_customer": [customer.pk],
                "csp_request_new": [customer.pk],
                "password_reset_confirm": ["MQ", "set-password"],
            }.get(name, [])
            url = reverse(f"web:{name}", args=args)
            data = {"body": "hi", "resolution": "solved", "language": "en", "minutes": "30"}
            if name == "request_attachments_add":
                from django.core.files.uploadedfile import SimpleUploadedFile

                data["files"] = SimpleUploadedFile("x.log", b"matrix\n")
            answer = client.post(url, data) if name in POST_PAGES else client.get(url)
            if answer.status_code not in allowed[actor]:
                failures[f"{name} as {actor}"] = answer.status_code
            if actor == "anonymous" and allowed[actor] is SIGN_IN:
                assert answer["Location"].startswith(reverse("web:login")), name
    assert failures == {}


# What a note may carry (support.permissions): internal notes and questions that wait on
# the partner are the engineers' own; a partner asking for either is refused, not ignored.
NOTE_OPTIONS = expect(anonymous={401}, outsider={404}, partners={403}, operator={201})


@pytest.mark.parametrize("option", ["internal", "attention_needed"])
def test_note_options_matrix(live_server, world, option):
    tokens = {actor: token_for(user) for actor, user in world["users"].items()}
    failures = {}
    for actor in ACTORS:
        support_request = world["new_request"]()
        headers = {} if actor == "anonymous" else {"Authorization": f"Bearer {tokens[actor]}"}
        answer = requests.post(
            f"{live_server.url}/api/v1/support-requests/{support_request.pk}/notes",
            json={"body": "hello", option: True},
            headers=headers,
            timeout=10,
        )
        if answer.status_code not in NOTE_OPTIONS[actor]:
            failures[f"{option} as {actor}"] = (answer.status_code, answer.text[:120])
        elif answer.status_code == 403:
            assert answer.json()["code"] == "role_required"
        if answer.status_code != 201:
            assert not support_request.notes.exists(), f"{option} as {actor} wrote a note"
    assert failures == {}
