"""The seed's wording, shared by the portal and the API."""

from django.utils.translation import gettext_lazy as _

NO_BENEFITS = _("Looks like you don't have any benefits yet.")
WRONG_ACCOUNT_HINT = _(
    "If you expected to see benefits here, you may have signed in with the wrong account. "
    "Sign in with the work or personal account associated with your MPN membership."
)

# A lapsed organization: every membership has ended (its benefits lapsed with them).
MEMBERSHIP_ENDED = _("Your membership ended on %(date)s.")
MEMBERSHIP_ENDED_HINT = _(
    "Its support benefits ended with it, so no support request can be charged now. Renew "
    "the membership (or ask your program contact about a paid support plan) to open "
    "requests again; the requests you opened before can still be read."
)


def membership_ended_text(ended_on) -> str:
    """ "Your membership ended on 30 November 2026." in the reader's long date format."""
    from django.utils.formats import date_format

    return MEMBERSHIP_ENDED % {"date": date_format(ended_on, "DATE_FORMAT")}
