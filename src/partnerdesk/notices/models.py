from __future__ import annotations

from django.db import models
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from partnerdesk.benefits.forecast import balance_ends_on
from partnerdesk.benefits.models import Unit, in_unit
from partnerdesk.core.models import OrganizationScopedQuerySet
from partnerdesk.core.quantities import amount_text, plural_count

USAGE_THRESHOLDS = (50, 75, 90, 100)  # per cent of the allowance used
EXPIRY_THRESHOLDS = (60, 30, 7)  # days before the entitlement expires
# Days before expiry from which a forecast of more than half of the allowance expiring
# unused is told (once per entitlement: its notice's threshold is this number).
UNUSED_NOTICE_DAYS = 30


class NoticeKind(models.TextChoices):
    USAGE = "usage", _("Incidents used")
    EXPIRY = "expiry", _("Expiry ahead")
    UNUSED = "unused", _("Forecast to expire unused")


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
    # An unused notice's forecast when it was recorded, in ledger units (hours in minutes).
    amount = models.PositiveIntegerField(_("amount"), null=True, blank=True)
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
        if self.kind == NoticeKind.UNUSED:
            return self._unused_message(name)
        return ngettext(
            "%(benefit)s expires in %(days)d day.",
            "%(benefit)s expires in %(days)d days.",
            self.threshold,
        ) % {"benefit": name, "days": self.threshold}

    def _unused_message(self, name: str) -> str:
        unit = self.entitlement.benefit.unit
        amount = in_unit(self.amount or 0, unit)
        ends_on = balance_ends_on(self.entitlement)
        values = {
            "benefit": name,
            "count": amount_text(amount),
            "date": date_format(ends_on, "DATE_FORMAT") if ends_on else "",
        }
        n = plural_count(amount)
        if unit == Unit.HOURS:
            return (
                ngettext(
                    "%(benefit)s: about %(count)s hour will expire unused on %(date)s "
                    "at the current pace.",
                    "%(benefit)s: about %(count)s hours will expire unused on %(date)s "
                    "at the current pace.",
                    n,
                )
                % values
            )
        return (
            ngettext(
                "%(benefit)s: about %(count)s incident will expire unused on %(date)s "
                "at the current pace.",
                "%(benefit)s: about %(count)s incidents will expire unused on %(date)s "
                "at the current pace.",
                n,
            )
            % values
        )


class NoticeRead(models.Model):
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["notice", "user"], name="notice_read_once")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.notice_id}"


class RequestNoticeKind(models.TextChoices):
    """What a person is told about a support request (in the portal, and by e-mail)."""

    OPENED = "opened", _("Request opened")
    PICKED_UP = "picked_up", _("Picked up by an engineer")
    REPLY = "reply", _("New reply")
    ATTENTION_NEEDED = "attention_needed", _("Waiting for your reply")
    CLOSED = "closed", _("Request closed")
    SLA_WARNING = "sla_warning", _("First response due soon")
    SLA_BREACH = "sla_breach", _("First response overdue")

    @classmethod
    def once_per_request(cls) -> tuple[RequestNoticeKind, ...]:
        """Kinds a recipient is told at most once per request (the clock's warnings)."""
        return (cls.SLA_WARNING, cls.SLA_BREACH)


class RequestNotice(models.Model):
    """One thing one person is told about one request, unread until they open it."""

    recipient = models.ForeignKey(
        "accounts.User",
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="request_notices",
    )
    support_request = models.ForeignKey(
        "support.SupportRequest",
        verbose_name=_("support request"),
        on_delete=models.CASCADE,
        related_name="notices",
    )
    kind = models.CharField(_("kind"), max_length=24, choices=RequestNoticeKind.choices)
    note = models.ForeignKey(
        "support.RequestNote",
        verbose_name=_("note"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("request notice")
        verbose_name_plural = _("request notices")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="request_notice_inbox"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["support_request", "recipient", "kind"],
                condition=models.Q(kind__in=["sla_warning", "sla_breach"]),
                name="request_notice_clock_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.kind} #{self.support_request_id}"
