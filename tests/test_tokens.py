import pytest
from django.core.management import CommandError, call_command

from partnerdesk.accounts.models import ApiToken, token_digest
from tests.factories import UserFactory


def test_createtoken_prints_the_token_last_and_stores_only_its_hash(capsys):
    user = UserFactory(email="ann@contoso.example")

    call_command("createtoken", "ANN@contoso.example")

    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("pd_") and len(token) > 40
    stored = ApiToken.objects.get(user=user)
    assert stored.digest == token_digest(token)
    values = [str(v) for v in ApiToken.objects.values_list()[0]]
    assert token not in values


def test_createtoken_for_an_unknown_user_fails_clearly():
    with pytest.raises(CommandError, match=r"No user with the e-mail address nobody@x\.example"):
        call_command("createtoken", "nobody@x.example")


def test_createtoken_refuses_a_deactivated_user():
    UserFactory(email="gone@contoso.example", is_active=False)
    with pytest.raises(CommandError, match="deactivated"):
        call_command("createtoken", "gone@contoso.example")
