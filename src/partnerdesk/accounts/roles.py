from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    GLOBAL_ADMIN = "global_admin", _("Global admin")
    MPN_PARTNER_ADMIN = "mpn_partner_admin", _("MPN partner admin")
    ADMIN_AGENT = "admin_agent", _("Admin agent")
    HELPDESK_AGENT = "helpdesk_agent", _("Helpdesk agent")

    @classmethod
    def admins(cls) -> frozenset[Role]:
        """The roles the seed allows to activate benefits."""
        return frozenset({cls.GLOBAL_ADMIN, cls.MPN_PARTNER_ADMIN})

    @classmethod
    def csp_agents(cls) -> frozenset[Role]:
        """The roles that act for CSP customers."""
        return frozenset({cls.ADMIN_AGENT, cls.HELPDESK_AGENT})


ROLE_FIELDS = {
    Role.GLOBAL_ADMIN: "is_global_admin",
    Role.MPN_PARTNER_ADMIN: "is_mpn_partner_admin",
    Role.ADMIN_AGENT: "is_admin_agent",
    Role.HELPDESK_AGENT: "is_helpdesk_agent",
}
