"""schemathesis against our own OpenAPI document, every operation, with every check it has
(``--checks all``), over HTTP against the production server, as a real partner user: no
5xx, every answer matches the schema (status, content type, headers, body), what the
schema allows is accepted and what it forbids is refused."""

import re
import secrets
import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks

from partnerdesk.api.api import api
from partnerdesk.api.schemas import IDEMPOTENCY_KEY_PATTERN
from partnerdesk.benefits.ledger import ledger_post
from partnerdesk.benefits.models import Entitlement
from tests.factories import (
    OTHER,
    CustomerFactory,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    token_for,
)
from tests.helpers import ServerProcess

schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
# gunicorn's limit_request_line: a longer request line (a query string of hundreds of
# values, as the negative cases build for list and integer parameters) is answered 414 by
# the HTTP server itself.
REQUEST_LINE_MAX = 4094
load_all_checks()
ALL_CHECKS = list(CHECKS.get_all())


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    process = ServerProcess(
        workers=1,
        DJANGO_DEBUG="0",
        PARTNERDESK_HTTPS="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        # Each test makes its own catalog; the server must not keep an earlier one.
        PARTNERDESK_CATALOG_TTL="0",
        # The checks send thousands of requests, many without credentials on purpose;
        # the limits themselves are tested in test_hostile_input.
        PARTNERDESK_API_RATE="1000000/m",
        PARTNERDESK_API_ANON_RATE="1000000/m",
    )
    yield process
    process.stop()


@pytest.fixture
def partner_token(transactional_db):
    organization = OrganizationFactory(in_mpn=True, in_csp=True)
    membership(organization, "gold", OTHER)
    activate(organization)
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    ledger_post(entitlement_id=contract.pk, kind="adjustment", delta=10_000, note="fuzzing")
    CustomerFactory(organization=organization)
    user = UserFactory(organization=organization, is_global_admin=True, is_admin_agent=True)
    return token_for(user)


def request_line_length(case, base_url: str) -> int:
    sent = case.as_transport_kwargs(base_url=base_url)
    prepared = requests.Request(
        method=sent["method"], url=sent["url"], params=sent.get("params")
    ).prepare()
    return len(f"{prepared.method} {prepared.path_url} HTTP/1.1")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_keeps_its_contract(case, server, partner_token):
    key = (case.headers or {}).get("Idempotency-Key")
    if key is not None and re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        # A key sent again with another body is 422 by the contract: that depends on what
        # the server saw before, not on this request, so every well-formed key is new.
        case.headers["Idempotency-Key"] = f"{key[:200]}-{uuid.uuid4().hex}"
    headers = {"Authorization": f"Bearer {partner_token}"}
    if request_line_length(case, server.url) > REQUEST_LINE_MAX:
        # Refused by the HTTP server before partnerdesk sees it: not the API's contract.
        assert case.call(base_url=server.url, headers=headers).status_code == 414
        return
    case.call_and_validate(base_url=server.url, headers=headers, checks=ALL_CHECKS)
