from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partnerdesk.partners"
    label = "partners"
