from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from partnerdesk.core.csvfile import write_pieces
from partnerdesk.support.export import every_request_lines


class Command(BaseCommand):
    help = (
        "Write every organization's support requests as CSV (UTF-8 with a byte-order "
        "mark), oldest first, streamed from the database in constant memory."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", default="-", help="The file to write; - for stdout.")

    def handle(self, *args, **options):
        rows = write_pieces(every_request_lines(), options["output"])
        self.stderr.write(
            ngettext(
                "%(count)d support request written.", "%(count)d support requests written.", rows
            )
            % {"count": rows}
        )
