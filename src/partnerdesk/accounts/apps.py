from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "partnerdesk.accounts"
    label = "accounts"

    def ready(self):
        from partnerdesk.accounts import signals  # noqa: F401
