from __future__ import annotations

import datetime

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from partnerdesk.core.models import OrganizationScopedQuerySet, TimeStampedModel
from partnerdesk.core.tenants import tenant_id_normalized, validate_tenant_id


class Offer(models.TextChoices):
    ACTION_PACK = "action_pack", _("Action Pack")
    SILVER = "silver", _("Silver")
    GOLD = "gold", _("Gold")


class CompetencyKind(models.TextChoices):
    """What an allotment rule is keyed on: Action Pack has no competency."""

    NONE = "none", _("No competency")
    CLOUD = "cloud", _("Cloud competency")
    OTHER = "other", _("Other competency")


class Competency(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    is_cloud = models.BooleanField(_("cloud competency"), default=False)

    class Meta:
        verbose_name = _("competency")
        verbose_name_plural = _("competencies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def kind(self) -> str:
        return CompetencyKind.CLOUD if self.is_cloud else CompetencyKind.OTHER


class Organization(TimeStampedModel):
    partner_id = models.CharField(_("partner ID"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    in_mpn = models.BooleanField(_("enrolled in MPN"), default=False)
    in_csp = models.BooleanField(_("enrolled in CSP"), default=False)
    contact_name = models.CharField(_("program contact name"), max_length=200, blank=True)
    contact_email = models.EmailField(_("program contact e-mail"), blank=True)
    # "Sign in with Microsoft" lets in work accounts of this tenant only (accounts.oidc).
    tenant_id = models.CharField(
        _("Microsoft Entra tenant ID"),
        max_length=36,
        blank=True,
        validators=[validate_tenant_id],
        help_text=_(
            "The organization's directory (tenant) ID, a GUID. Work accounts sign in with "
            "Microsoft only from this tenant."
        ),
    )
    # The last day entitlements were re-derived from memberships; lets reads catch a
    # membership that lapsed overnight without a query per request.
    entitlements_synced_on = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("partner organization")
        verbose_name_plural = _("partner organizations")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.partner_id})"

    def clean(self) -> None:
        super().clean()
        self.tenant_id = tenant_id_normalized(self.tenant_id)

    @property
    def programs(self) -> list[str]:
        return [p for p, enrolled in (("mpn", self.in_mpn), ("csp", self.in_csp)) if enrolled]


class MembershipQuerySet(OrganizationScopedQuerySet):
    def active_on(self, day: datetime.date) -> MembershipQuerySet:
        return self.filter(starts__lte=day, ends__gte=day)


class Membership(TimeStampedModel):
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    offer = models.CharField(_("offer"), max_length=16, choices=Offer.choices)
    competency = models.ForeignKey(
        Competency,
        verbose_name=_("competency"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
    )
    starts = models.DateField(_("starts"))
    ends = models.DateField(_("ends"))

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["organization", "starts"]
        constraints = [
            models.CheckConstraint(
                name="membership_competency_matches_offer",
                condition=(Q(offer=Offer.ACTION_PACK, competency__isnull=True))
                | (Q(offer__in=[Offer.SILVER, Offer.GOLD], competency__isnull=False)),
                violation_error_message=_(
                    "Action Pack has no competency; Silver and Gold need one."
                ),
            ),
            models.CheckConstraint(
                name="membership_period_ordered",
                condition=Q(ends__gte=models.F("starts")),
                violation_error_message=_("A membership cannot end before it starts."),
            ),
            # Two partial constraints rather than nulls_distinct=False, which SQLite lacks.
            models.UniqueConstraint(
                fields=["organization", "offer", "competency", "starts"],
                condition=Q(competency__isnull=False),
                name="membership_unique_per_start",
            ),
            models.UniqueConstraint(
                fields=["organization", "offer", "starts"],
                condition=Q(competency__isnull=True),
                name="membership_unique_per_start_without_competency",
            ),
        ]

    def __str__(self) -> str:
        label = self.get_offer_display()
        if self.competency_id:
            label = f"{label} — {self.competency}"
        return f"{label} ({self.starts:%Y-%m-%d} – {self.ends:%Y-%m-%d})"

    @property
    def competency_kind(self) -> str:
        return self.competency.kind if self.competency_id else CompetencyKind.NONE

    def is_active_on(self, day: datetime.date) -> bool:
        return self.starts <= day <= self.ends


class Customer(TimeStampedModel):
    """A CSP customer of a partner organization."""

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="customers",
    )
    name = models.CharField(_("name"), max_length=200)
    tenant_id = models.CharField(_("tenant ID"), max_length=64)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("CSP customer")
        verbose_name_plural = _("CSP customers")
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "tenant_id"], name="customer_unique_tenant"
            )
        ]

    def __str__(self) -> str:
        return self.name
