from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from partnerdesk.support.reconcile import reconcile


class Command(BaseCommand):
    help = "Check every balance against its ledger, and every charge against its request."

    def handle(self, *args, **options):
        checked, problems = reconcile()
        for problem in problems:
            self.stderr.write(problem)
        summary = ngettext(
            "%(count)d entitlement checked.", "%(count)d entitlements checked.", checked
        ) % {"count": checked}
        if problems:
            raise CommandError(
                summary
                + " "
                + ngettext(
                    "%(count)d difference found.", "%(count)d differences found.", len(problems)
                )
                % {"count": len(problems)}
            )
        self.stdout.write(summary + " " + _("Every balance equals its ledger."))
