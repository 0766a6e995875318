from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "partnerdesk.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self):
        from partnerdesk.core.emails import register_checks

        register_checks()
