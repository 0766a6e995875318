from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from partnerdesk.core.models import OrganizationScopedQuerySet

USAGE_THRESHOLDS = (50, 75, 90, 100)  # per cent of the allowance used
EXPIRY_THRESHOLDS = (60, 30, 7)  # days before the entitlement expires


class NoticeKind(models.TextChoices):
    USAGE = "usage", _("Incidents used")
    EXPIRY = "expiry", _("Expiry ahead")


class Notice(models.Model):
    """One threshold crossed by one entitlement. The unique constraint is what makes a
    notice fire once and never again, whoever runs the check and however often."""

    organization = models.ForeignKey(
        "partners.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="notices",
    )
    entitlement = models.ForeignKey(
        "benefits.Entitlement",
        verbose_name=_("entitlement"),
        on_delete=models.CASCADE,
        related_name="notices",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=NoticeKind.choices)
    threshold = models.PositiveSmallIntegerField(_("threshold"))
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entitlement", "kind", "threshold"], name="notice_once_per_threshold"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entitlement} {self.kind} {self.threshold}"

    @property
    def message(self) -> str:
        """In the reader's language, at the time it is read."""
        name = self.entitlement.benefit.display_name
        if self.kind == NoticeKind.USAGE:
            if self.threshold >= 100:
                return _("%(benefit)s: every incident has been used.") % {"benefit": name}
            return _("%(benefit)s: %(percent)d%% of the incidents have been used.") % {
                "benefit": name,
                "percent": self.threshold,
            }
        return ngettext(
            "%(benefit)s expires in %(days)d day.",
            "%(benefit)s expires in %(days)d days.",
            self.threshold,
        ) % {"benefit": name, "days": self.threshold}


class NoticeRead(models.Model):
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["notice", "user"], name="notice_read_once")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.notice_id}"
