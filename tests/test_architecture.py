"""The shape of the code, checked: layers import downward only, one module writes
balances, and the catalog a process keeps is dropped when an operator changes it."""

from __future__ import annotations

import ast
import datetime
import re
from pathlib import Path

from django.test import Client

from partnerdesk.support.catalog_snapshot import catalog
from partnerdesk.support.models import Product
from tests.factories import OrganizationFactory, UserFactory, activate, membership, token_for

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "partnerdesk"
# Each app may import from the apps before it, never from one after it.
LAYERS = [
    "core",
    "accounts",
    "partners",
    "events",
    "benefits",
    "support",
    "notices",
    "onboarding",
    "webhooks",
    "api",
    "web",
]


def modules(app: str):
    for path in sorted((PACKAGE / app).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def imported_apps(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "partnerdesk" and len(parts) > 1 and parts[1] in LAYERS:
                found.add(parts[1])
    return found


def test_layers_import_downward_only():
    upward = []
    for level, app in enumerate(LAYERS):
        for path in modules(app):
            for other in imported_apps(path):
                if LAYERS.index(other) > level:
                    upward.append(f"{path.relative_to(PACKAGE)} imports partnerdesk.{other}")
    assert upward == []


def test_only_the_ledger_writes_balances():
    """``balance`` and ``used`` change in ``benefits/ledger.py`` and nowhere else: no
    keyword write (``update(balance=…)``, ``Entitlement(used=…)``), no attribute write,
    no ``F("balance")`` arithmetic."""
    write = re.compile(r"\b(balance|used)=|\.(balance|used)\s*=[^=]|F\(\"(balance|used)\"\)")
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for app in LAYERS
        for path in modules(app)
        if path.relative_to(PACKAGE).as_posix() != "benefits/ledger.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if write.search(line)
    ]
    assert found == []


def test_a_catalog_change_reaches_the_next_request(db, today):
    """The process keeps the catalog in memory; an operator's change is seen at once: a
    new version is known to the very next request, and the version it pushed to N-1
    stops being covered the moment its mainstream support is ended."""
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    activate(organization)
    user = UserFactory(organization=organization)
    client = Client(headers={"authorization": f"Bearer {token_for(user)}"})
    contract = organization.entitlements.get()
    ids = {"contract_id": contract.contract_id, "access_id": contract.access_id}

    def open_for(product: Product):
        body = {"product_id": product.pk, "severity": "C", "title": "t", "description": "d"}
        return client.post("/api/v1/support-requests", body | ids, content_type="application/json")

    sql_2022 = Product.objects.get(family="SQL Server", version="2022")
    assert open_for(sql_2022).status_code == 201  # the catalog is in this process now
    assert sql_2022.pk in catalog().products

    sql_2025 = Product.objects.create(
        family="SQL Server",
        version="2025",
        deployment="on_premises",
        released_on=today - datetime.timedelta(days=10),
    )
    assert open_for(sql_2025).status_code == 201

    sql_2022.mainstream_ends_on = today - datetime.timedelta(days=1)
    sql_2022.save()
    refused = open_for(sql_2022)
    assert refused.status_code == 409
    assert refused.json()["code"] == "product_not_entitled"
