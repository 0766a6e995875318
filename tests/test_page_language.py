"""Every page, rendered in Russian and Polish with the demo data, reads as that language:
no ".." (a date's "г." before a full stop), no English word from the product's own
vocabulary, no capital letter after a colon in the middle of a sentence.

What may legitimately stay as it is — names of people, organizations, customers and
products, request titles and notes (user data), and the program's proper names
(Microsoft, Azure, Partner Center, the benefits' and offers' names) — is blanked out before
the checks. The colon rule looks inside one piece of text only (inline markup joined), so a
label in one element and a value in the next never count as one sentence.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from partnerdesk.accounts.models import User
from partnerdesk.benefits.models import Benefit, Entitlement
from partnerdesk.onboarding.demo import OPERATOR_EMAIL
from partnerdesk.partners.models import Competency, Customer, Offer, Organization
from partnerdesk.support.models import Product, RequestNote, SupportRequest, SupportTopic, Workload

LANGUAGES = ["ru", "pl"]

# The product's own vocabulary in English: none of it may show through a translation.
ENGLISH_TERMS = [
    "Allotment",
    "Remaining",
    "Expires",
    "Expired",
    "Membership",
    "Memberships",
    "Benefit",
    "Benefits",
    "Incident",
    "Incidents",
    "Request",
    "Requests",
    "Support",
    "Unlimited",
    "Not eligible",
    "Not covered",
    "not covered",
    "Submit",
    "Dashboard",
    "Notices",
    "Withdraw",
    "Activate",
    "Activation",
    "Pending",
    "Severity",
    "Used",
    "Title",
    "Description",
    "Customers",
    "Sign in",
    "Sign out",
    "Password",
    "Plans",
    "Queue",
    "Resolved",
    "Solved",
    "Duplicate",
    "Engineer",
    "Assigned",
    "Opened",
    "Refunded",
    "Charged",
    "Save",
    "Cancel",
    "Search",
    "Next",
    "Previous",
    "Overview",
    "Due",
    "Contract",
    "Access ID",
    "Contract ID",
]
_TERMS = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, ENGLISH_TERMS)) + r")(?![\w-])")

# Proper names that keep their spelling in every language.
BRANDS = [
    "Microsoft Entra ID",
    "Microsoft 365",
    "Dynamics 365",
    "Partner Center",
    "Cloud Solution Provider",
    "Microsoft",
    "Майкрософт",
    "Azure",
    "Windows",
    "Entra",
    "Idempotency-Key",
    "partnerdesk",
    "MPN",
    "CSP",
    "English",
    "Русский",
    "Polski",
]
PLACEHOLDER = "\u2063"  # invisible separator: neither a letter nor punctuation
_INLINE = re.compile(r"(?i)</?(a|strong|em|b|i|abbr|time|bdi|code)\b[^>]*>")
_COLON_CAPITAL = re.compile(r"\w: +(?P<word>[A-ZА-ЯЁĄĆĘŁŃÓŚŹŻ][\w-]*)")
_DOUBLE_PUNCTUATION = re.compile(r"(?<!\.)\.\.(?!\.)|,,|\.,|,\.|\s[,.;:](?=\s|$)")


def text_pieces(html: str) -> list[str]:
    """The visible text, one piece per run of text between block-level boundaries."""
    html = re.sub(r"(?is)<(script|style|template)\b.*?</\1>", " ", html)
    html = re.sub(r"(?s)<!--.*?-->", " ", html)
    html = _INLINE.sub("", html)
    pieces = (unescape(p) for p in re.split(r"<[^>]+>", html))
    return [" ".join(p.split()) for p in pieces if p.strip()]


def user_data() -> list[str]:
    """Every name and free text the demo data put on the pages, longest first."""
    values: set[str] = set(BRANDS)
    values |= set(Organization.objects.values_list("name", flat=True))
    values |= set(Customer.objects.values_list("name", flat=True))
    values |= set(User.objects.values_list("name", flat=True))
    values |= set(User.objects.values_list("email", flat=True))
    values |= set(Competency.objects.values_list("name", flat=True))
    values |= set(Workload.objects.values_list("name", flat=True))
    values |= set(SupportTopic.objects.values_list("name", flat=True))
    for product in Product.objects.all():
        values |= {product.family, str(product), f"{product.family} {product.version}".strip()}
    for request in SupportRequest.objects.all():
        values |= {request.title, request.description, request.error_message}
        values |= {line.strip() for line in request.description.splitlines()}
    values |= set(RequestNote.objects.values_list("body", flat=True))
    with translation.override("en"):
        values |= {benefit.display_name for benefit in Benefit.objects.all()}
        values |= {str(label) for _value, label in Offer.choices}
    return sorted((v for v in values if v and v.strip()), key=len, reverse=True)


def blanked(piece: str, data: list[str]) -> str:
    for value in data:
        if value in piece:
            piece = piece.replace(value, PLACEHOLDER)
    return piece


def language_problems(html: str, data: list[str]) -> list[str]:
    problems = []
    for raw in text_pieces(html):
        piece = blanked(raw, data)
        for match in _DOUBLE_PUNCTUATION.finditer(piece):
            problems.append(f"double punctuation {match.group(0)!r} in {raw!r}")
        for match in _TERMS.finditer(piece):
            problems.append(f"English {match.group(0)!r} in {raw!r}")
        for match in _COLON_CAPITAL.finditer(piece):
            word = match.group("word")
            # An acronym or code (ID, PDF, A/B/C severities) is written in capitals anywhere.
            if word.isupper() or len(word) == 1:
                continue
            problems.append(f"capital after a colon {match.group(0)!r} in {raw!r}")
    return problems


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<td>С облачной компетенцией: Без ограничений; с другой: 10</td>", "capital"),
        ("<td>Z kompetencją w chmurze: Bez limitu; z inną: 10</td>", "capital"),
        ("<p>Действует до 1 декабря 2026 г..</p>", "double"),
        ("<td>Remaining</td>", "English"),
        ("<p>Осталось: <strong>Unlimited</strong></p>", "English"),
    ],
)
def test_the_checks_catch_the_issues_examples(html, expected):
    problems = language_problems(html, ["Contoso Ltd"])
    assert any(p.startswith(expected) for p in problems), problems


@pytest.mark.parametrize(
    "html",
    [
        "<td>С облачной компетенцией: без ограничений; с другой: 10</td>",
        "<p>Организация: Contoso Ltd</p>",
        "<p>Обращение #3 назначено вам: Contoso Ltd</p>",
        "<dt>Статус:</dt><dd>Открыто</dd>",
        "<p>Серьёзность: A · идентификатор: ID-42</p>",
        "<p>Продукты: Microsoft 365, Azure</p>",
        "<p>Дополнительно…</p><p>Загрузка...</p>",
        "<script>var a = 'Request: Unlimited..';</script><p>Готово.</p>",
    ],
)
def test_the_checks_leave_proper_names_and_labels_alone(html):
    assert language_problems(html, user_data_sample()) == []


def user_data_sample() -> list[str]:
    return sorted([*BRANDS, "Contoso Ltd"], key=len, reverse=True)


def pages(demo: dict) -> list[tuple[str, str, str]]:
    """(who, what, url) for every page a person reaches."""
    contoso = Organization.objects.get(name="Contoso Ltd")
    entitlement = Entitlement.objects.filter(organization=contoso).order_by("pk").first()
    own_request = SupportRequest.objects.filter(organization=contoso).order_by("pk").first()
    customer = Customer.objects.filter(organization=contoso).order_by("pk").first()
    listed = [
        (None, "login", "/login/"),
        ("ann@contoso.example", "dashboard", "/dashboard/"),
        ("ann@contoso.example", "benefits", "/benefits/technical/"),
        ("ann@contoso.example", "benefit detail", f"/benefits/technical/{entitlement.pk}/"),
        ("ann@contoso.example", "requests", "/support/requests/"),
        ("ann@contoso.example", "request detail", f"/support/requests/{own_request.pk}/"),
        ("ann@contoso.example", "new request", "/support/requests/new/"),
        ("ann@contoso.example", "plans", "/benefits/plans/"),
        ("ann@contoso.example", "notices", "/notices/"),
        ("carla@contoso.example", "CSP customers", "/csp/customers/"),
        ("carla@contoso.example", "CSP customer", f"/csp/customers/{customer.pk}/"),
        ("kim@litware.example", "CSP-only dashboard", "/dashboard/"),
        ("lea@proseware.example", "lapsed benefits", "/benefits/technical/"),
        ("lea@proseware.example", "lapsed new request", "/support/requests/new/"),
        (OPERATOR_EMAIL, "staff queue", "/staff/requests/"),
        (OPERATOR_EMAIL, "staff request", f"/staff/requests/{own_request.pk}/"),
        (OPERATOR_EMAIL, "staff SLA", "/staff/sla/"),
        (OPERATOR_EMAIL, "staff home", "/staff/"),
    ]
    return listed


@pytest.fixture
def demo(transactional_db):
    call_command("demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return {}


def test_the_staff_home_page_is_among_the_pages():
    from django.urls import reverse

    assert reverse("web:staff_home") == "/staff/"


@pytest.mark.slow
def test_every_page_reads_as_russian_and_polish(demo):
    data = user_data()
    problems: list[str] = []
    for language in LANGUAGES:
        clients: dict[str | None, Client] = {}
        for who, what, url in pages(demo):
            if who not in clients:
                client = Client(headers={"accept-language": language})
                if who is not None:
                    user = User.objects.get(email=who)
                    user.language = language
                    user.save(update_fields=["language"])
                    client.force_login(user)
                clients[who] = client
            response = clients[who].get(url)
            if response.status_code != 200:
                problems.append(f"{language} {what} ({url}): status {response.status_code}")
                continue
            html = response.content.decode()
            assert f'<html lang="{language}"' in html, (language, what)
            found = language_problems(html, data)
            problems += [f"{language} {what} ({url}): {p}" for p in found]
            assert len(text_pieces(html)) > 10, (language, what)
    assert problems == [], "\n".join(problems)
