"""Threshold notices: each fires once, never again, by e-mail in the recipient's language
and in the portal; the worker's periodic job drives them."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from partnerdesk.benefits.ledger import ledger_post
from partnerdesk.benefits.models import Entitlement
from partnerdesk.notices.models import Notice
from partnerdesk.notices.services import notices_send_due
from partnerdesk.support.models import Product, SupportRequest
from tests.factories import OrganizationFactory, UserFactory, activate, membership
from tests.helpers import console_script


@pytest.fixture
def partner():
    organization = OrganizationFactory(contact_email="contact@partner.example")
    membership(organization, "action_pack")  # 10 incidents
    activate(organization)
    UserFactory(
        organization=organization, email="ola@partner.example", language="pl", is_global_admin=True
    )
    UserFactory(
        organization=organization,
        email="ivan@partner.example",
        language="ru",
        is_mpn_partner_admin=True,
    )
    UserFactory(organization=organization, email="eve@partner.example")  # not an admin
    return organization


def use(organization, count: int) -> None:
    entitlement = Entitlement.objects.get(organization=organization, state="active")
    user = UserFactory(organization=organization)
    product = Product.objects.get(family="SQL Server", version="2022")
    for _ in range(count):
        request = SupportRequest.objects.create(
            organization=organization,
            opened_by=user,
            product=product,
            entitlement=entitlement,
            charged=True,
            severity="C",
            title="t",
            description="d",
        )
        ledger_post(
            entitlement_id=entitlement.pk, kind="consume", delta=-1, support_request_id=request.pk
        )


def thresholds(organization, kind="usage") -> list[int]:
    return sorted(
        Notice.objects.filter(organization=organization, kind=kind).values_list(
            "threshold", flat=True
        )
    )


def test_each_usage_threshold_fires_once(partner):
    assert notices_send_due() == 0
    use(partner, 5)
    assert notices_send_due() == 1
    assert thresholds(partner) == [50]
    assert notices_send_due() == 0  # never repeated

    use(partner, 4)  # 90 %: crosses 75 and 90 at once
    mail.outbox.clear()
    notices_send_due()
    assert thresholds(partner) == [50, 90]  # 75 % passed meanwhile: never sent
    # One e-mail per recipient (the admins and the program contact), about the most
    # pressing threshold only.
    recipients = [m.to[0] for m in mail.outbox]
    assert len(recipients) == len(set(recipients))
    expected = {"contact@partner.example", "ivan@partner.example", "ola@partner.example"}
    assert expected <= set(recipients)
    assert "eve@partner.example" not in recipients
    assert all("90" in m.subject and "75" not in m.subject for m in mail.outbox)

    use(partner, 1)
    notices_send_due()
    assert thresholds(partner) == [50, 90, 100]


def test_a_refund_does_not_make_a_threshold_fire_again(partner):
    use(partner, 5)
    notices_send_due()
    entitlement = Entitlement.objects.get(organization=partner, state="active")
    request = SupportRequest.objects.filter(organization=partner).first()
    ledger_post(
        entitlement_id=entitlement.pk, kind="refund", delta=1, support_request_id=request.pk
    )
    use(partner, 1)
    assert notices_send_due() == 0
    assert thresholds(partner) == [50]


def in_language(notice: Notice, language: str) -> str:
    with translation.override(language):
        return notice.message


def test_e_mails_speak_each_recipients_language(partner):
    use(partner, 5)
    notices_send_due()
    notice = Notice.objects.get()
    by_recipient = {m.to[0]: m for m in mail.outbox}
    english = "Microsoft Product Support: 50% of the incidents have been used."
    assert by_recipient["contact@partner.example"].subject == english
    for address, language in (("ola@partner.example", "pl"), ("ivan@partner.example", "ru")):
        translated = in_language(notice, language)
        assert translated != english
        assert by_recipient[address].subject == translated
    assert "eve@partner.example" not in by_recipient


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [(61, []), (60, [60]), (29, [30]), (7, [7]), (0, [7])],
)
def test_expiry_thresholds(partner, today, days_left, expected):
    Entitlement.objects.filter(organization=partner, state="active").update(
        expires_on=today + datetime.timedelta(days=days_left)
    )
    notices_send_due()
    assert thresholds(partner, "expiry") == expected
    notices_send_due()
    assert thresholds(partner, "expiry") == expected


def test_expiry_notice_plural_forms(partner, today):
    Entitlement.objects.filter(organization=partner, state="active").update(
        expires_on=today + datetime.timedelta(days=7)
    )
    notices_send_due()
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert (
        subjects["ivan@partner.example"]
        == "Срок действия Microsoft Product Support истекает через 7 дней."
    )
    assert subjects["ola@partner.example"] == "Microsoft Product Support wygasa za 7 dni."


def test_notices_show_in_the_portal_until_read(client, partner):
    use(partner, 5)
    notices_send_due()
    reader = UserFactory(organization=partner)
    client.force_login(reader)

    dashboard = client.get(reverse("web:dashboard")).content.decode()
    assert "50% of the incidents have been used." in dashboard
    assert 'class="count"' in dashboard
    client.get(reverse("web:notices"))
    again = client.get(reverse("web:dashboard")).content.decode()
    assert 'class="count"' not in again
    stranger = UserFactory(organization=OrganizationFactory())
    client.force_login(stranger)
    assert "50%" not in client.get(reverse("web:notices")).content.decode()


def test_the_worker_runs_the_notice_job(transactional_db, tmp_path):
    organization = OrganizationFactory(contact_email="contact@partner.example")
    membership(organization, "action_pack")
    activate(organization)
    use(organization, 10)

    done = console_script(
        "worker",
        "--once",
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        DJANGO_EMAIL_FILE_PATH=str(tmp_path),
    )

    assert done.returncode == 0, done.stderr
    assert thresholds(organization) == [100]  # a catch-up: the highest crossed only
    assert any("every incident has been used" in p.read_text() for p in tmp_path.glob("*.log"))
