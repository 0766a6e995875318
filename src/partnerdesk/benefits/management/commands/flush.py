from django.core.management.commands import flush
from django.db import connections

from partnerdesk.benefits import triggers


class Command(flush.Command):
    """Django's ``flush``, which empties the ledger too: the append-only guard is lifted
    for the flush and put back after it, in the same database."""

    def handle(self, **options):
        connection = connections[options["database"]]
        triggers.drop(connection)
        try:
            return super().handle(**options)
        finally:
            triggers.install(connection)
