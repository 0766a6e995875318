"""Every user-facing string is in the Russian and Polish catalogs, translated."""

import os
import shutil
from pathlib import Path

import polib
import pytest
from django.core.management import call_command

import partnerdesk

PACKAGE = Path(partnerdesk.__file__).parent
LANGUAGES = ["ru", "pl"]


def catalog(root: Path, language: str) -> polib.POFile:
    return polib.pofile(str(root / "locale" / language / "LC_MESSAGES" / "django.po"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_is_complete_and_not_fuzzy(language):
    po = catalog(PACKAGE, language)
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert "nplurals=4" in po.metadata["Plural-Forms"]


def test_no_source_string_is_missing_from_the_catalogs(tmp_path):
    assert shutil.which("xgettext"), "GNU gettext is required (apt-get install gettext)"
    copy = tmp_path / "partnerdesk"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "static"))
    cwd = os.getcwd()
    os.chdir(copy)
    try:
        call_command("makemessages", locale=LANGUAGES, no_location=True, verbosity=0)
    finally:
        os.chdir(cwd)
    for language in LANGUAGES:
        extracted = {e.msgid for e in catalog(copy, language) if not e.obsolete}
        shipped = {e.msgid for e in catalog(PACKAGE, language) if e.translated()}
        assert sorted(extracted - shipped) == [], f"untranslated in {language}"


def test_seed_messages_are_translated(settings):
    from django.utils import translation

    from partnerdesk.benefits.messages import NO_BENEFITS
    from partnerdesk.core.exceptions import NotAuthorized

    with translation.override("ru"):
        assert str(NotAuthorized().detail) == "У вас нет прав на это действие."
        assert str(NO_BENEFITS) != "Looks like you don't have any benefits yet."
    with translation.override("pl"):
        assert str(NotAuthorized().detail) == "Nie masz uprawnień do wykonania tej akcji."
