from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "partnerdesk.notices"
    label = "notices"

    def ready(self) -> None:
        from partnerdesk.notices.requests import on_request_event
        from partnerdesk.support.events import request_event

        request_event.connect(on_request_event, dispatch_uid="notices.request_notices")
