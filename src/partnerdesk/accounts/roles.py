from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    GLOBAL_ADMIN = "global_admin", _("Global admin")
    MPN_PARTNER_ADMIN = "mpn_partner_admin", _("MPN partner admin")
    ADMIN_AGENT = "admin_agent", _("Admin agent")
    HELPDESK_AGENT = "helpdesk_agent", _("Helpdesk agent")


# The roles the seed allows to activate benefits, and to act for CSP customers.
ACTIVATING_ROLES = frozenset({Role.GLOBAL_ADMIN, Role.MPN_PARTNER_ADMIN})
CSP_AGENT_ROLES = frozenset({Role.ADMIN_AGENT, Role.HELPDESK_AGENT})

ROLE_FIELDS = {
    Role.GLOBAL_ADMIN: "is_global_admin",
    Role.MPN_PARTNER_ADMIN: "is_mpn_partner_admin",
    Role.ADMIN_AGENT: "is_admin_agent",
    Role.HELPDESK_AGENT: "is_helpdesk_agent",
}
