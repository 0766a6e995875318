"""The hot paths run a fixed number of queries whatever the data size: the count is the
same with 1 and with 15 requests in the database, and within the budget. (Inside the test's
transaction, savepoints count as queries; in production they are BEGIN and COMMIT.)"""

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from partnerdesk.benefits.models import Entitlement
from partnerdesk.support.services import SupportRequestDraft, support_request_create
from tests.factories import (
    OTHER,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    product,
    token_for,
)

BUDGET = {"benefits": 6, "requests": 5, "create": 19}


def partner_with(requests: int) -> Client:
    organization = OrganizationFactory()
    membership(organization, "gold", OTHER)
    activate(organization)
    user = UserFactory(organization=organization)
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    for n in range(requests):
        support_request_create(
            user=user,
            draft=SupportRequestDraft(
                product_id=product("SQL Server", "2022").pk,
                severity="C",
                title=f"r{n}",
                description="d",
                contract_id=contract.contract_id,
                access_id=contract.access_id,
            ),
        )
    client = Client(headers={"authorization": f"Bearer {token_for(user)}"})
    client.get("/api/v1/benefits")  # the day's first read may re-derive entitlements
    return client


def count(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code in (200, 201), response.content
    return len(captured)


def fixed(path_call, budget: int) -> None:
    clients = {n: partner_with(n) for n in (1, 15)}
    small, large = (count(lambda n=n: path_call(clients[n], n)) for n in (1, 15))
    assert small == large, f"{small} queries with 1 request, {large} with 15"
    assert large <= budget, f"{large} queries, budget {budget}"


def test_benefits_list(db):
    fixed(lambda client, n: client.get("/api/v1/benefits"), BUDGET["benefits"])


def test_request_list(db):
    fixed(lambda client, n: client.get("/api/v1/support-requests?limit=50"), BUDGET["requests"])


def test_request_creation_with_an_idempotency_key(db):
    body = {"product_id": 0, "severity": "B", "title": "budget", "description": "d"}

    def create(client, n):
        return client.post(
            "/api/v1/support-requests",
            body | {"product_id": product("SQL Server", "2022").pk},
            content_type="application/json",
            headers={"idempotency-key": f"budget-{n}"},
        )

    fixed(create, BUDGET["create"])
