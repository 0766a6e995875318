"""A malformed request gets its field messages in the caller's language, in the same
problem+json shape (``validation_error``, the field paths) as before."""

import pytest
from django.test import Client

from tests.factories import OrganizationFactory, UserFactory, membership, token_for

MESSAGES = {
    "en": {
        "missing": "This field is required.",
        "integer": "Enter a whole number.",
        "pattern": "Enter a value that matches the pattern ^(?:[Aa]|[Bb]|",
    },
    "ru": {
        "missing": "Обязательное поле.",
        "integer": "Введите целое число.",
        "pattern": "Введите значение, соответствующее шаблону ^(?:[Aa]|[Bb]|",
    },
    "pl": {
        "missing": "To pole jest wymagane.",
        "integer": "Wpisz liczbę całkowitą.",
        "pattern": "Wpisz wartość zgodną ze wzorcem ^(?:[Aa]|[Bb]|",
    },
}
PYDANTIC_ENGLISH = ("Field required", "Input should be", "valid integer")


def api_client(user, language: str) -> Client:
    return Client(
        headers={"authorization": f"Bearer {token_for(user)}", "accept-language": language}
    )


@pytest.fixture
def partner(db, today):
    organization = OrganizationFactory()
    membership(organization, "gold", "Cloud Platform")
    return UserFactory(organization=organization)


def field_errors(response) -> dict[str, str]:
    assert response.status_code == 422, response.content
    assert response["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["type"] == "urn:partnerdesk:problem:validation_error"
    assert set(body) >= {"type", "title", "status", "detail", "code", "errors"}
    for error in body["errors"]:
        assert set(error) == {"path", "message"}
        assert not any(english in error["message"] for english in PYDANTIC_ENGLISH), error
    return {e["path"]: e["message"] for e in body["errors"]}


@pytest.mark.parametrize("language", ["en", "ru", "pl"])
def test_a_request_body_with_missing_and_wrong_fields(language, partner):
    response = api_client(partner, language).post(
        "/api/v1/support-requests",
        {"product_id": "seven", "severity": "Z"},
        content_type="application/json",
    )
    errors = field_errors(response)
    expected = MESSAGES[language]
    assert errors["product_id"] == expected["integer"]
    assert errors["severity"].startswith(expected["pattern"])
    assert errors["title"] == expected["missing"]
    assert errors["description"] == expected["missing"]


@pytest.mark.parametrize("language", ["en", "ru", "pl"])
def test_a_path_parameter_that_is_not_a_number(language, partner):
    errors = field_errors(api_client(partner, language).get("/api/v1/benefits/abc"))
    assert list(errors.values()) == [MESSAGES[language]["integer"]]


@pytest.mark.parametrize("language", ["en", "ru", "pl"])
def test_a_query_filter_that_is_not_a_number(language, partner):
    response = api_client(partner, language).get("/api/v1/support-requests?product_id=abc")
    assert field_errors(response) == {"product_id": MESSAGES[language]["integer"]}


@pytest.mark.parametrize("language", ["en", "ru", "pl"])
def test_a_note_without_its_body(language, partner):
    response = api_client(partner, language).post(
        "/api/v1/support-requests/1/notes", {"internal": False}, content_type="application/json"
    )
    assert field_errors(response) == {"body": MESSAGES[language]["missing"]}
