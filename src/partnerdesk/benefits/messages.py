"""The seed's wording, shared by the portal and the API."""

from django.utils.translation import gettext_lazy as _

NO_BENEFITS = _("Looks like you don't have any benefits yet.")
WRONG_ACCOUNT_HINT = _(
    "If you expected to see benefits here, you may have signed in with the wrong account. "
    "Sign in with the work or personal account associated with your MPN membership."
)
