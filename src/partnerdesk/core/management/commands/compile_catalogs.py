from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Compile the translation catalogs (.po to .mo) without needing GNU gettext, "
        "refusing catalogs whose placeholders do not match their source strings."
    )

    def handle(self, *args, **options):
        compiled = 0
        for locale_dir in settings.LOCALE_PATHS:
            for po_path in sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.po")):
                catalog = polib.pofile(str(po_path))
                problems = placeholder_problems(catalog)
                if problems:
                    raise CommandError(f"{po_path}:\n" + "\n".join(problems))
                catalog.save_as_mofile(str(po_path.with_suffix(".mo")))
                compiled += 1
        self.stdout.write(f"compiled {compiled} catalog(s)")


def placeholder_problems(catalog: polib.POFile) -> list[str]:
    import re

    pattern = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")

    def names(text: str) -> set[str]:
        return {a or b for a, b in pattern.findall(text)}

    problems = []
    for entry in catalog.translated_entries():
        expected = names(entry.msgid) | names(entry.msgid_plural or "")
        translations = [entry.msgstr] if not entry.msgid_plural else entry.msgstr_plural.values()
        for text in translations:
            if names(text) - expected:
                problems.append(f"  line {entry.linenum}: unknown placeholder in {text!r}")
            if not entry.msgid_plural and names(entry.msgid) - names(text):
                problems.append(f"  line {entry.linenum}: placeholder missing in {text!r}")
    return problems
