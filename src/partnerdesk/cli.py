"""The ``partnerdesk`` console script: every ``manage.py`` command, hyphens allowed, in the
operator's language (PARTNERDESK_LANGUAGE, else the usual LANGUAGE / LC_ALL / LANG)."""

import os
import sys

LANGUAGE_VARIABLES = ("PARTNERDESK_LANGUAGE", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def language_from_environment(supported: set[str]) -> str | None:
    for name in LANGUAGE_VARIABLES:
        value = os.environ.get(name, "")
        if not value:
            continue
        # "ru_RU.UTF-8", "pl:en", "C.UTF-8": the first language named decides.
        code = value.split(":")[0].split(".")[0].split("_")[0].split("-")[0].lower()
        return code if code in supported else None
    return None


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerdesk.settings")
    import django
    from django.conf import settings
    from django.core.management import ManagementUtility
    from django.utils import translation

    django.setup()
    language = language_from_environment({code for code, _name in settings.LANGUAGES})
    if language:
        translation.activate(language)
    ManagementUtility(["partnerdesk", *args]).execute()


if __name__ == "__main__":
    main()
