from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _guard_ledger(using, **kwargs):
    """Every migrate ends with the ledger's triggers in place: on SQLite a migration that
    rebuilds the table would otherwise drop them silently."""
    from django.db import connections

    from partnerdesk.benefits import triggers

    connection = connections[using]
    if "benefits_ledgerentry" in connection.introspection.table_names():
        triggers.install(connection)


class BenefitsConfig(AppConfig):
    name = "partnerdesk.benefits"
    label = "benefits"
    verbose_name = _("Benefits")

    def ready(self) -> None:
        post_migrate.connect(_guard_ledger, sender=self, dispatch_uid="benefits-ledger-guard")
