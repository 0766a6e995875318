from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "partnerdesk.notices"
    label = "notices"
    verbose_name = _("Notices")

    def ready(self) -> None:
        from partnerdesk.notices.requests import on_request_event
        from partnerdesk.support.events import request_event

        request_event.connect(on_request_event, dispatch_uid="notices.request_notices")
