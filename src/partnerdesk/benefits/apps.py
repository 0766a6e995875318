from django.apps import AppConfig


class BenefitsConfig(AppConfig):
    name = "partnerdesk.benefits"
    label = "benefits"
