from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "partnerdesk.notices"
    label = "notices"
