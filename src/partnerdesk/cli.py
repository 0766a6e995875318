"""The ``partnerdesk`` console script: every ``manage.py`` command, hyphens allowed."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerdesk.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["partnerdesk", *args])


if __name__ == "__main__":
    main()
