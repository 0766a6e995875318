from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "partnerdesk.web"
    label = "web"
