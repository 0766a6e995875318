from django.utils.translation import gettext_lazy as _

from partnerdesk.core.exceptions import ApplicationError


class IncidentsExhausted(ApplicationError):
    code = "incidents_exhausted"
    status = 409
    title = _("No incidents left")
    default_detail = _("This support contract has no incidents left.")


class EntitlementExpired(ApplicationError):
    code = "entitlement_expired"
    status = 409
    title = _("Expired")
    default_detail = _("This benefit has expired.")


class ActivationNotPending(ApplicationError):
    code = "activation_not_pending"
    status = 409
    title = _("Already decided")
    default_detail = _("This activation has already been completed, rejected or cancelled.")
