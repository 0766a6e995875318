"""The operations console in Russian and Polish, as an operator and as a superuser: section
headers in the language, titles and messages that read as sentences, and the
infrastructure kept for superusers."""

import re
from html import unescape

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from partnerdesk.benefits.models import Entitlement
from partnerdesk.partners.models import Competency
from tests.factories import OrganizationFactory, UserFactory, membership

CLOUD = "Cloud Platform"

SECTIONS = {
    "ru": ["Учётные записи", "Преимущества", "Партнёры", "Поддержка", "Уведомления"],
    "pl": ["Konta", "Korzyści", "Partnerzy", "Wsparcie", "Powiadomienia"],
}
INTERNAL = {
    "ru": ["Очереди задач (RQ)", "Фоновые задачи", "Попытки входа"],
    "pl": ["Kolejki zadań (RQ)", "Zadania w tle", "Próby logowania"],
}
# Django's own phrasing with the model's nominative name: «Выберите активация для
# изменения», «Добавить активация», "Wybierz aktywacja do zmiany".
UNGRAMMATICAL = {
    "ru": re.compile(
        r"Выберите (?!запись)[а-яё]+ для|(Добавить|Изменить) (?!запись|ещё)[а-яё]+|был успешно"
    ),
    "pl": re.compile(
        r"Wybierz (?!wpis)[a-ząćęłńóśźż]+ do|(Dodaj|Zmień) (?!wpis|kolejny)[a-ząćęłńóśźż]+"
        r"|został\(a\)|\(-na\)"
    ),
}
INTERNAL_URLS = [
    "/admin/django_rq/",
    "/admin/django_rq/dashboard/",
    "/admin/django_tasks_database/",
    "/admin/django_tasks_database/dbtaskresult/",
    "/admin/axes/",
    "/admin/axes/accessattempt/",
    "/admin/django_rq/dashboard/stats.json",
    "/admin/auth/group/",
]


def visible_text(response) -> str:
    html = response.content.decode()
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    html = re.sub(r"(?i)</?(a|span|strong|em|b|i|code|small)\b[^>]*>", "", html)
    return re.sub(r"\s+", " ", unescape(re.sub(r"(?s)<[^>]+>", " ", html))).strip()


def head_title_of(response) -> str:
    match = re.search(r"(?s)<title>(.*?)</title>", response.content.decode())
    return unescape(match.group(1)).strip()


def title_of(response) -> str:
    match = re.search(r"(?s)<h1[^>]*>(.*?)</h1>", response.content.decode())
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", match.group(1)))).strip()


@pytest.fixture
def entitlement(db, today):
    organization = OrganizationFactory(name="Contoso Ltd")
    membership(organization, "gold", CLOUD)
    return Entitlement.objects.filter(organization=organization).first()


def signed_in(language: str, *, superuser: bool) -> Client:
    user = UserFactory(organization=None, is_staff=True, is_superuser=superuser, language=language)
    if not superuser:
        # Every permission there is: what hides the internals is the site, not a missing
        # permission.
        user.user_permissions.set(Permission.objects.all())
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("language", ["ru", "pl"])
@pytest.mark.parametrize("superuser", [False, True], ids=["operator", "superuser"])
def test_the_index_names_every_section_in_the_language(language, superuser, entitlement):
    client = signed_in(language, superuser=superuser)
    text = visible_text(client.get("/admin/"))

    for section in SECTIONS[language]:
        assert section in text
    for english in ("ACCOUNTS", "Accounts", "BENEFITS", "DJANGO_RQ", "Django_Rq", "Task Results"):
        assert english not in text
    for section in INTERNAL[language]:
        assert (section in text) is superuser


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_an_operator_cannot_open_an_internal_section(url, entitlement):
    operator = signed_in("ru", superuser=False)
    assert operator.get(url).status_code == 404
    if not url.endswith("stats.json"):  # statistics read Redis, which tests do not run
        assert signed_in("ru", superuser=True).get(url).status_code == 200


@pytest.mark.parametrize(
    ("language", "titles"),
    [
        (
            "ru",
            {
                "list": "Выберите запись для изменения: ",
                "add": "Новая запись: ",
                "change": "Изменение записи: ",
                "delete": (
                    "Вы уверены, что хотите удалить запись «Quantum Computing» (компетенция)?"
                ),
                "refused": "Удаление записи «Contoso Ltd",
            },
        ),
        (
            "pl",
            {
                "list": "Wybierz wpis do zmiany: ",
                "add": "Nowy wpis: ",
                "change": "Edycja wpisu: ",
                "delete": "Czy na pewno usunąć wpis „Quantum Computing” (kompetencja)?",
                "refused": "Usunięcie wpisu „Contoso Ltd",
            },
        ),
    ],
)
@pytest.mark.parametrize("superuser", [False, True], ids=["operator", "superuser"])
def test_list_form_and_delete_pages_read_as_sentences(language, titles, superuser, entitlement):
    client = signed_in(language, superuser=superuser)
    spare = Competency.objects.create(name="Quantum Computing")
    pages = {
        "list": client.get("/admin/partners/organization/"),
        "add": client.get("/admin/partners/organization/add/"),
        "change": client.get(f"/admin/partners/organization/{entitlement.organization.pk}/change/"),
        "delete": client.get(f"/admin/partners/competency/{spare.pk}/delete/"),
        # An organization's ledger cannot be deleted: the page says why, as a sentence.
        "refused": client.get(
            f"/admin/partners/organization/{entitlement.organization.pk}/delete/"
        ),
    }
    for page, response in pages.items():
        assert response.status_code == 200, page
        text = visible_text(response)
        assert titles[page] in text, (page, text[:400])
        # The titles (the page's and the heading): Django's own phrasing puts the model's
        # nominative name where another case belongs.
        titles_seen = f"{head_title_of(response)} {title_of(response)}"
        assert not UNGRAMMATICAL[language].search(titles_seen), (page, titles_seen)
    # The model's name follows the colon in lower case, as in a sentence.
    assert re.match(r".*: [a-zа-яёąćęłńóśźż]", title_of(pages["list"]))


@pytest.mark.parametrize(
    ("language", "added", "saved"),
    [
        (
            "ru",
            "Запись «Quantum Computing» (компетенция) добавлена.",
            "Запись «Quantum Computing Advanced» (компетенция) изменена.",
        ),
        (
            "pl",
            "Wpis „Quantum Computing” (kompetencja) został dodany.",
            "Wpis „Quantum Computing Advanced” (kompetencja) został zmieniony.",
        ),
    ],
)
def test_the_save_messages_are_sentences(language, added, saved, entitlement):
    client = signed_in(language, superuser=False)

    response = client.post(
        "/admin/partners/competency/add/", {"name": "Quantum Computing"}, follow=True
    )
    assert added in visible_text(response)

    competency = Competency.objects.get(name="Quantum Computing")
    response = client.post(
        f"/admin/partners/competency/{competency.pk}/change/",
        {"name": "Quantum Computing Advanced", "is_cloud": "on"},
        follow=True,
    )
    assert saved in visible_text(response)
