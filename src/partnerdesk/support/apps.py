from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "partnerdesk.support"
    label = "support"
