"""Every e-mail links to the page it is about, as an absolute address on
``PARTNERDESK_BASE_URL``, in its plain-text part and in its HTML part (where the address is
a link), and that page answers its recipient."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.urls import reverse

from partnerdesk.benefits.activation import activation_reject, activation_request
from partnerdesk.benefits.models import Activation, Entitlement
from partnerdesk.benefits.notifications import activation_notify
from partnerdesk.core.emails import portal_url
from partnerdesk.notices.requests import request_notice_email
from partnerdesk.notices.services import notices_send_due
from tests.factories import OTHER, OrganizationFactory, UserFactory, activate, membership
from tests.factories import open_request as request_for

BASE = "https://desk.example"
URL = re.compile(r"https?://[^\s<>\"]+")


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.PARTNERDESK_BASE_URL = BASE


def links(message) -> tuple[list[str], list[str]]:
    """The addresses of the plain-text part, and the hrefs of the HTML part."""
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return URL.findall(message.body), re.findall(r'href="([^"]+)"', html)


def assert_links_to(message, path: str, client, recipient) -> None:
    text, html = links(message)
    expected = BASE + path
    assert expected in text, message.body
    assert expected in html
    client.force_login(recipient)
    for url in text:
        assert url.startswith(BASE + "/")
        page = client.get(urlsplit(url).path)
        assert page.status_code == 200, url


@pytest.fixture
def partner():
    organization = OrganizationFactory(contact_email="")
    membership(organization, "gold", OTHER)
    admin = UserFactory(
        organization=organization, email="ann@partner.example", is_global_admin=True
    )
    return organization, admin


def test_portal_url_is_absolute():
    assert portal_url("/notices/") == "https://desk.example/notices/"
    with pytest.raises(ValueError):
        portal_url("notices/")


def test_the_usage_notice_links_to_the_benefit_and_the_notices(client, partner):
    organization, admin = partner
    activate(organization)
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    user = UserFactory(organization=organization)
    for n in range(10):
        request_for(user, contract, title=f"r{n}")
    mail.outbox.clear()
    notices_send_due()
    [message] = [m for m in mail.outbox if m.to == [admin.email]]
    assert_links_to(message, reverse("web:benefit_detail", args=[contract.pk]), client, admin)
    assert BASE + reverse("web:notices") in message.body


@pytest.mark.parametrize("outcome", ["completed", "rejected"])
def test_the_activation_e_mails_link_to_the_benefit(client, partner, outcome):
    organization, admin = partner
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    activation = activation_request(user=admin, entitlement_id=contract.pk).activation
    operator = UserFactory(organization=None, is_staff=True)
    if outcome == "completed":
        from partnerdesk.benefits.activation import activation_complete

        activation_complete(activation_id=activation.pk, operator=operator)
    else:
        activation_reject(activation_id=activation.pk, operator=operator, reason="Not yet")
    assert Activation.objects.get(pk=activation.pk).state == outcome
    mail.outbox.clear()
    assert activation_notify(activation_id=activation.pk) == 1
    [message] = mail.outbox
    assert message.to == [admin.email]
    assert_links_to(message, reverse("web:benefit_detail", args=[contract.pk]), client, admin)


def test_request_e_mails_link_to_the_request_page_of_each_reader(client, partner):
    organization, admin = partner
    activate(organization)
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    support_request = request_for(admin, contract, title="Cluster down")
    engineer = UserFactory(organization=None, is_staff=True, email="eng@microsoft.example")
    mail.outbox.clear()
    sent = request_notice_email(
        request_id=support_request.pk,
        kind="opened",
        note_id=None,
        to=[[admin.email, "en", False], [engineer.email, "ru", True]],
    )
    assert sent == 2
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert_links_to(
        by_recipient[admin.email],
        reverse("web:request_detail", args=[support_request.pk]),
        client,
        admin,
    )
    assert_links_to(
        by_recipient[engineer.email],
        reverse("web:staff_request", args=[support_request.pk]),
        client,
        engineer,
    )


def test_the_html_part_escapes_what_the_partner_typed(partner):
    organization, admin = partner
    activate(organization)
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    support_request = request_for(admin, contract, title="<script>alert(1)</script>")
    mail.outbox.clear()
    request_notice_email(
        request_id=support_request.pk, kind="opened", note_id=None, to=[[admin.email, "pl", False]]
    )
    [message] = mail.outbox
    [(html, _)] = message.alternatives
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'lang="pl"' in html
