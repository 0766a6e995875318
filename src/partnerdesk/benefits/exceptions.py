from django.utils.translation import gettext_lazy as _

from partnerdesk.core.exceptions import ApplicationError


class IncidentsExhausted(ApplicationError):
    code = "incidents_exhausted"
    status = 409
    title = _("No incidents left")
    default_detail = _("This support contract has no incidents left.")
