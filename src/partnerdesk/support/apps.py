from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _search_triggers(using, **kwargs):
    from django.db import connections

    from partnerdesk.support.search_index import ensure_triggers

    ensure_triggers(connections[using])


class SupportConfig(AppConfig):
    name = "partnerdesk.support"
    label = "support"
    verbose_name = _("Support")

    def ready(self) -> None:
        post_migrate.connect(_search_triggers, sender=self, dispatch_uid="support-search")
