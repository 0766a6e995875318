from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from partnerdesk.benefits.exports import ledger_export_lines
from partnerdesk.core.csvfile import write_pieces


class Command(BaseCommand):
    help = (
        "Write every organization's ledger entries as CSV (UTF-8 with a byte-order mark), "
        "oldest first, streamed from the database in constant memory."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", default="-", help="The file to write; - for stdout.")

    def handle(self, *args, **options):
        rows = write_pieces(ledger_export_lines(), options["output"])
        self.stderr.write(
            ngettext("%(count)d ledger entry written.", "%(count)d ledger entries written.", rows)
            % {"count": rows}
        )
