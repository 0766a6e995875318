"""The benchmark's dataset generator writes data the rest of the system accepts."""

from bench.dataset import DatasetSize, generate
from partnerdesk.accounts.models import User
from partnerdesk.support.models import SupportRequest
from partnerdesk.support.reconcile import reconcile
from tests.factories import OrganizationFactory, UserFactory, activate, membership, open_request


def test_generated_data_reconciles_and_grows_in_steps(db, client):
    written = generate(DatasetSize(organizations=20, requests=200, writers=5))
    generate(DatasetSize(start=20, organizations=30, requests=300))

    assert User.objects.filter(email__endswith="@bench.example").count() == 150
    assert SupportRequest.objects.count() == 500
    assert reconcile()[1] == []
    assert len(written) == 5
    answer = client.get("/api/v1/benefits", headers={"authorization": f"Bearer {written[0]}"})
    assert answer.status_code == 200 and len(answer.json()["items"]) == 2
    # Ordinary inserts still work after the generator's explicit ids (sequences reset).
    from partnerdesk.benefits.models import Entitlement

    organization = OrganizationFactory()
    membership(organization, "action_pack")
    activate(organization)
    contract = Entitlement.objects.get(organization=organization)
    created = open_request(UserFactory(organization=organization), contract)
    assert created.pk > 500
    assert reconcile()[1] == []
