"""A catch-up run of the notice job (the worker was down while several thresholds were
crossed) records and sends the highest threshold crossed only; the lower ones have passed
and are never sent later, in any language."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from partnerdesk.benefits.ledger import ledger_post
from partnerdesk.benefits.models import Entitlement
from partnerdesk.notices.models import Notice
from partnerdesk.notices.services import notices_send_due, thresholds_due
from partnerdesk.support.models import Product, SupportRequest
from tests.factories import OTHER, OrganizationFactory, UserFactory, activate, membership


def partner_speaking(language: str):
    organization = OrganizationFactory(contact_email="")
    membership(organization, "gold", OTHER)  # Product Support: 20 incidents
    activate(organization)
    admin = UserFactory(
        organization=organization,
        email=f"admin-{language}@partner.example",
        language=language,
        is_global_admin=True,
    )
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    return organization, admin, contract


def use(contract: Entitlement, count: int) -> None:
    user = UserFactory(organization=contract.organization)
    product = Product.objects.get(family="SQL Server", version="2022")
    for _ in range(count):
        request = SupportRequest.objects.create(
            organization=contract.organization,
            opened_by=user,
            product=product,
            entitlement=contract,
            charged=True,
            severity="C",
            title="t",
            description="d",
        )
        ledger_post(
            entitlement_id=contract.pk, kind="consume", delta=-1, support_request_id=request.pk
        )


def usage_thresholds(contract) -> list[int]:
    return sorted(
        Notice.objects.filter(entitlement=contract, kind="usage").values_list(
            "threshold", flat=True
        )
    )


def in_language(language: str, text: str, **values) -> str:
    with translation.override(language):
        return translation.gettext(text) % values


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_catch_up_sends_the_highest_threshold_only(client, language):
    _organization, admin, contract = partner_speaking(language)
    use(contract, 19)  # 0 % → 95 % while the job did not run
    mail.outbox.clear()

    assert notices_send_due() == 1
    assert usage_thresholds(contract) == [90]
    to_admin = [m for m in mail.outbox if m.to == [admin.email]]
    assert len(to_admin) == 1
    expected = in_language(
        language,
        "%(benefit)s: %(percent)d%% of the incidents have been used.",
        benefit=in_language(language, "Microsoft Product Support"),
        percent=90,
    )
    assert to_admin[0].subject == expected
    assert "50" not in to_admin[0].subject and "75" not in to_admin[0].subject

    # The portal shows the one notice, not four.
    client.force_login(admin)
    notices = client.get(reverse("web:notices")).content.decode()
    assert notices.count(expected) == 1
    for lower in (50, 75):
        assert f"{lower}%" not in notices

    # Later runs send nothing: 50 % and 75 % have passed, 90 % is sent.
    mail.outbox.clear()
    assert notices_send_due() == 0
    assert notices_send_due() == 0
    assert mail.outbox == []
    assert usage_thresholds(contract) == [90]

    use(contract, 1)  # 100 %
    assert notices_send_due() == 1
    assert usage_thresholds(contract) == [90, 100]
    assert [m.subject for m in mail.outbox if m.to == [admin.email]] == [
        in_language(
            language,
            "%(benefit)s: every incident has been used.",
            benefit=in_language(language, "Microsoft Product Support"),
        )
    ]
    mail.outbox.clear()
    assert notices_send_due() == 0
    assert mail.outbox == []


def test_an_expiry_catch_up_sends_the_nearest_only(today):
    _organization, admin, contract = partner_speaking("pl")
    Entitlement.objects.filter(pk=contract.pk).update(expires_on=today + datetime.timedelta(days=5))
    mail.outbox.clear()
    assert notices_send_due() == 1
    assert list(
        Notice.objects.filter(entitlement=contract, kind="expiry").values_list(
            "threshold", flat=True
        )
    ) == [7]
    assert [m.subject for m in mail.outbox if m.to == [admin.email]] == [
        "Microsoft Product Support wygasa za 7 dni."
    ]
    # 60 and 30 days have passed: moving the date back does not send them.
    Entitlement.objects.filter(pk=contract.pk).update(
        expires_on=today + datetime.timedelta(days=25)
    )
    assert notices_send_due() == 0


def test_thresholds_due_reads_only():
    """The rule itself: one per kind, nothing at or before what was recorded."""
    contract = Entitlement(allowance=20, used=19, expires_on=None)
    today = datetime.date(2026, 12, 2)
    assert thresholds_due(contract, today, set()) == [("usage", 90)]
    assert thresholds_due(contract, today, {("usage", 90)}) == []
    assert thresholds_due(contract, today, {("usage", 50)}) == [("usage", 90)]
    contract.used = 20
    assert thresholds_due(contract, today, {("usage", 90)}) == [("usage", 100)]
    contract.expires_on = today + datetime.timedelta(days=40)
    assert thresholds_due(contract, today, {("usage", 100)}) == [("expiry", 60)]
    assert thresholds_due(contract, today, {("usage", 100), ("expiry", 30)}) == []
