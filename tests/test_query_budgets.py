"""The hot paths run a fixed number of statements whatever the data size: the count is the
same with 1 and with 15 requests stored, and within the budget. Transaction control
(BEGIN, SAVEPOINT, RELEASE) is not counted: inside a test's transaction every atomic
block is a savepoint, in production it is BEGIN and COMMIT.

The operator's list is also checked at 100,000 stored requests: the database reads one
page's rows (the plan walks the newest-first index and stops at the limit), not all."""

import json

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from partnerdesk.benefits.models import Entitlement
from partnerdesk.core import sql
from partnerdesk.support import selectors
from partnerdesk.support.models import SupportRequest
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

# Charged create by a linked account: the token, the key's claim, the contracts (read
# and locked), the request, the balance, the ledger entry, the audit event, the answer.
# Creating a request: 8 statements, and since the outbox one more, a single INSERT of the
# request's two events (support_request.opened and incident.charged).
BUDGET = {"benefits": 3, "requests": 3, "operator_requests": 3, "create": 9}
TRANSACTION_CONTROL = ("BEGIN", "SAVEPOINT", "RELEASE", "COMMIT", "ROLLBACK")


def partner_with(requests: int) -> tuple[Client, object]:
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
    return Client(headers={"authorization": f"Bearer {token_for(user)}"}), user


def operator_client() -> Client:
    operator = UserFactory(organization=None, is_staff=True)
    return Client(headers={"authorization": f"Bearer {token_for(operator)}"})


def statements(call) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code in (200, 201), response.content
    return [
        q["sql"] for q in captured if not q["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL)
    ]


def fixed(path_call, budget: int) -> None:
    clients = {n: partner_with(n)[0] for n in (1, 15)}
    small, large = (statements(lambda n=n: path_call(clients[n], n)) for n in (1, 15))
    assert len(small) == len(large), f"{len(small)} statements with 1 request, {len(large)} with 15"
    assert len(large) <= budget, "\n".join([f"{len(large)} statements, budget {budget}:", *large])


def test_benefits_list(db):
    fixed(lambda client, n: client.get("/api/v1/benefits"), BUDGET["benefits"])


def test_request_list(db):
    fixed(lambda client, n: client.get("/api/v1/support-requests?limit=50"), BUDGET["requests"])


def test_operator_request_list(db):
    operator = operator_client()
    counts = []
    for n in (1, 15):
        partner_with(n)
        counts.append(len(statements(lambda: operator.get("/api/v1/support-requests?limit=50"))))
    assert counts[0] == counts[1] <= BUDGET["operator_requests"], counts


def test_request_creation_with_an_idempotency_key(db):
    body = {"severity": "B", "title": "budget", "product_id": product("SQL Server", "2022").pk}

    def create(client, n):
        return client.post(
            "/api/v1/support-requests",
            body | {"description": f"d{n}"},
            content_type="application/json",
            headers={"idempotency-key": f"budget-{n}"},
        )

    fixed(create, BUDGET["create"])


def _store_requests(user, count: int) -> None:
    now = timezone.now()
    columns = ("organization", "opened_by", "product", "severity", "title", "description")
    blank = ("error_message", "contact_name", "contact_email", "contact_phone", "resolution")
    onprem = product("SQL Server", "2022").pk
    blanks, tail = [""] * len(blank), (now, now, "open", False)
    sql.insert_many(
        SupportRequest,
        (*columns, *blank, "created_at", "updated_at", "status", "charged"),
        (
            (user.organization_id, user.pk, onprem, "C", f"r{n}", "d", *blanks, *tail)
            for n in range(count)
        ),
    )


def _rows_read(plan) -> int | None:
    """On PostgreSQL, the most rows any scan of the request table produced."""
    found = []

    def walk(node):
        if node.get("Relation Name") == "support_supportrequest":
            found.append(node["Actual Rows"] * node.get("Actual Loops", 1))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return max(found) if found else None


def test_the_operator_list_reads_one_page_of_100000_requests(db):
    _client, user = partner_with(1)
    _store_requests(user, 100_000)
    operator = UserFactory(organization=None, is_staff=True)
    client = Client(headers={"authorization": f"Bearer {token_for(operator)}"})

    answer = client.get("/api/v1/support-requests?limit=50").json()
    assert len(answer["items"]) == 50
    # Counted up to 10,000: past that, "at least".
    assert (answer["count"], answer["count_exact"]) == (10_000, False)
    newest = SupportRequest.objects.order_by("-created_at", "-id").values_list("pk", flat=True)
    assert [item["id"] for item in answer["items"]] == list(newest[:50])

    page = selectors.page_query(selectors.requests_visible_to(operator))[:50]
    if connection.vendor == "postgresql":
        plan = json.loads(page.explain(analyze=True, format="json"))
        assert _rows_read(plan) <= 50, plan
    else:
        plan = page.explain()
        assert "request_newest" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # no sort of every row before the limit

    # A list under the cap is counted exactly.
    few, _user = partner_with(3)
    assert few.get("/api/v1/support-requests?limit=1").json() | {"items": []} == {
        "items": [],
        "count": 3,
        "count_exact": True,
    }
