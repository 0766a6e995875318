from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnboardingConfig(AppConfig):
    """Brings partners in: the bulk import, the demo data, and the operator console's
    membership edits, each followed by deriving the entitlements. It sits above partners
    and benefits so that neither has to reach up into the other."""

    name = "partnerdesk.onboarding"
    label = "onboarding"
    verbose_name = _("Onboarding")
