import argparse
import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from partnerdesk.benefits.models import in_unit
from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.core.quantities import quantity_text
from partnerdesk.onboarding.program_move import program_move


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("“%(value)s” is not a date (YYYY-MM-DD)") % {"value": value}
        ) from None


def _offer(value: str) -> tuple[str, str | None]:
    """``success_core``, or ``solutions_partner=Infrastructure (Azure)``."""
    code, sep, qualification = value.partition("=")
    return code.strip(), qualification.strip() if sep else None


class Command(BaseCommand):
    help = (
        "Move an organization from one partner program to the next on a date: its "
        "memberships of other programs that run then end the day before, the new "
        "program's memberships start that day, and the ledger records both sides (on that "
        "date, by the worker's periodic refresh, when it is still ahead). On any error nothing is "
        "written."
    )

    def add_arguments(self, parser):
        parser.add_argument("partner_id", help="The organization's partner ID.")
        parser.add_argument(
            "--to", required=True, metavar="PROGRAM", help="The new program's code: ai-cloud-2025."
        )
        parser.add_argument(
            "--on",
            required=True,
            type=_date,
            metavar="DATE",
            help="The first day in the new program, YYYY-MM-DD.",
        )
        parser.add_argument(
            "--offer",
            required=True,
            action="append",
            type=_offer,
            dest="offers",
            metavar="OFFER[=AREA]",
            help="An offer of the new program, with the competency or solution area it is "
            'held in after "=" (solutions_partner=Infrastructure (Azure)); once per offer.',
        )
        parser.add_argument(
            "--ends",
            type=_date,
            metavar="DATE",
            help="The new memberships' last day (default: a year after --on, less a day).",
        )

    def handle(self, *args, partner_id: str, to: str, on, offers, ends, **options):
        try:
            moved = program_move(
                partner_id=partner_id, to_program=to, on=on, offers=offers, ends=ends
            )
        except ValidationFailed as error:
            for problem in error.errors:
                self.stderr.write(f"{problem['path']}: {problem['message']}")
            count = len(error.errors)
            raise CommandError(
                ngettext(
                    "%(count)d error; nothing was written.",
                    "%(count)d errors; nothing was written.",
                    count,
                )
                % {"count": count}
            ) from None
        for membership in moved.closed:
            self.stdout.write(_("Closed: %(membership)s") % {"membership": membership})
        for membership in moved.opened:
            self.stdout.write(_("Opened: %(membership)s") % {"membership": membership})
        for entry in moved.entries:
            benefit = entry.entitlement.benefit
            amount = in_unit(abs(entry.delta), benefit.unit)
            self.stdout.write(
                _("Ledger: %(kind)s, %(benefit)s, %(change)s")
                % {
                    "kind": entry.get_kind_display(),
                    "benefit": benefit.display_name,
                    "change": ("-" if entry.delta < 0 else "+")
                    + quantity_text(amount, benefit.unit),
                }
            )
        if not moved.recorded_now:
            self.stdout.write(
                _("The ledger records the move on %(on)s, by the worker's periodic refresh.")
                % {"on": moved.on.isoformat()}
            )
        elif not moved.entries:
            self.stdout.write(_("The ledger had nothing to record."))
