from __future__ import annotations

import datetime

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from partnerdesk.core.models import OrganizationScopedQuerySet, TimeStampedModel, TranslatedName
from partnerdesk.core.tenants import tenant_id_normalized, validate_tenant_id


class Offer(models.TextChoices):
    """The offers of the seed's program (mpn-2021). A membership's offer is one of its
    program's offers (``benefits.ProgramOffer``), which are data."""

    ACTION_PACK = "action_pack", _("Action Pack")
    SILVER = "silver", _("Silver")
    GOLD = "gold", _("Gold")


class CombinationRule(models.TextChoices):
    """How a program combines the allotments of the offers an organization holds."""

    BEST = "best", _("The best allotment wins")
    SUM = "sum", _("The offers' allotments add up")


class ValidityRule(models.TextChoices):
    """By when a program's benefit must be activated."""

    MEMBERSHIP_END = "membership_end", _("By the end of the membership")
    MONTHS_FROM_START = "months_from_start", _("Within a number of months of its start")


class Program(TranslatedName, models.Model):
    """A version of the partner program: its offers, the benefits they grant, and the
    rules that combine and limit them. Programs are data (loaded by migrations, edited
    in the admin), so last year's memberships run beside this year's."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(
        _("valid to"), null=True, blank=True, help_text=_("Empty: still current.")
    )
    combination = models.CharField(
        _("combination rule"), max_length=16, choices=CombinationRule.choices
    )
    validity = models.CharField(_("activation rule"), max_length=24, choices=ValidityRule.choices)
    activation_months = models.PositiveSmallIntegerField(
        _("months to activate"),
        null=True,
        blank=True,
        help_text=_("Only for activation within a number of months of the membership's start."),
    )
    term_months = models.PositiveSmallIntegerField(
        _("term in months"), default=12, help_text=_("How long a benefit lasts once activated.")
    )

    class Meta:
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        ordering = ["valid_from", "code"]
        constraints = [
            models.CheckConstraint(
                name="program_period_ordered",
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                violation_error_message=_("A program cannot end before it starts."),
            ),
            models.CheckConstraint(
                name="program_activation_months_iff_counted",
                condition=(
                    Q(validity=ValidityRule.MONTHS_FROM_START, activation_months__gt=0)
                    | (~Q(validity=ValidityRule.MONTHS_FROM_START) & Q(activation_months=None))
                ),
                violation_error_message=_(
                    "Give the months to activate when benefits are activated within months "
                    "of the start, and none otherwise."
                ),
            ),
            models.CheckConstraint(
                name="program_term_positive",
                condition=Q(term_months__gt=0),
                violation_error_message=_("A benefit lasts at least one month."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def benefits_outlive_membership(self) -> bool:
        """Activated within N months of the start, a benefit lasts its term even after
        the membership ends; by the membership's end, it goes with the membership."""
        return self.validity == ValidityRule.MONTHS_FROM_START

    def activation_deadline(self, *, starts: datetime.date, ends: datetime.date) -> datetime.date:
        if self.validity == ValidityRule.MONTHS_FROM_START:
            return months_after(starts, self.activation_months) - datetime.timedelta(days=1)
        return ends


def months_after(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` later, or the month's last day when it is shorter."""
    import calendar

    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return day.replace(year=year, month=month, day=min(day.day, last))


class OfferKind(models.TextChoices):
    MEMBERSHIP = "membership", _("Membership")
    DESIGNATION = "designation", _("Designation")
    PACKAGE = "package", _("Benefits package")


class Qualification(models.TextChoices):
    """What an offer is held in."""

    NONE = "none", _("Nothing")
    COMPETENCY = "competency", _("A competency")
    SOLUTION_AREA = "solution_area", _("A solution area")


class ProgramOffer(TranslatedName, models.Model):
    """An offer of a program that an organization holds as a membership: Action Pack,
    a Silver competency, Partner Success Core, a Solutions Partner designation, …"""

    program = models.ForeignKey(
        Program, verbose_name=_("program"), on_delete=models.CASCADE, related_name="offers"
    )
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=OfferKind.choices)
    held_in = models.CharField(
        _("held in"), max_length=16, choices=Qualification.choices, default=Qualification.NONE
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["program", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["program", "code"], name="program_offer_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.program} · {self.name}"


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


class SolutionArea(models.Model):
    """What a Solutions Partner designation (ai-cloud-2025) is held in."""

    name = models.CharField(_("name"), max_length=120, unique=True)

    class Meta:
        verbose_name = _("solution area")
        verbose_name_plural = _("solution areas")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


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


DEFAULT_PROGRAM = "mpn-2021"


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
    program = models.ForeignKey(
        Program,
        verbose_name=_("program"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    # One of the program's offers (benefits.ProgramOffer.code); checked on every write
    # path (import, admin) against the program's catalog.
    offer = models.CharField(_("offer"), max_length=40)
    competency = models.ForeignKey(
        Competency,
        verbose_name=_("competency"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
    )
    solution_area = models.ForeignKey(
        SolutionArea,
        verbose_name=_("solution area"),
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
                name="membership_one_qualification",
                condition=Q(competency__isnull=True) | Q(solution_area__isnull=True),
                violation_error_message=_(
                    "A membership is held in a competency or a solution area, not both."
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
                fields=["organization", "offer", "solution_area", "starts"],
                condition=Q(solution_area__isnull=False),
                name="membership_unique_per_start_in_area",
            ),
            models.UniqueConstraint(
                fields=["organization", "program", "offer", "starts"],
                condition=Q(competency__isnull=True, solution_area__isnull=True),
                name="membership_unique_per_start_without_competency",
            ),
        ]

    def __str__(self) -> str:
        from partnerdesk.partners.catalog_snapshot import offer_named

        label = offer_named(self.program_id, self.offer)
        if self.competency_id:
            label = f"{label} — {self.competency}"
        elif self.solution_area_id:
            label = f"{label} — {self.solution_area}"
        return f"{label} ({self.starts:%Y-%m-%d} – {self.ends:%Y-%m-%d})"

    @property
    def competency_kind(self) -> str:
        return self.competency.kind if self.competency_id else CompetencyKind.NONE

    def save(self, *args, **kwargs):
        if self.program_id is None:
            # As in the import format: a membership without a program is the seed's.
            from partnerdesk.partners.catalog_snapshot import program_catalog

            self.program_id = program_catalog().by_code[DEFAULT_PROGRAM].pk
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """The admin's check; the import checks the same in ``onboarding.validation``."""
        from django.core.exceptions import ValidationError

        from partnerdesk.partners.catalog_snapshot import offers_by_key

        super().clean()
        if self.program_id is None:
            return
        offer = offers_by_key().get((self.program_id, self.offer))
        if offer is None:
            raise ValidationError({"offer": _("The program has no such offer.")})
        needs = {
            Qualification.COMPETENCY: (self.competency_id, _("This offer needs a competency.")),
            Qualification.SOLUTION_AREA: (
                self.solution_area_id,
                _("This offer needs a solution area."),
            ),
        }
        for held_in, (value, message) in needs.items():
            if offer.held_in == held_in and value is None:
                raise ValidationError(message)
        if offer.held_in != Qualification.COMPETENCY and self.competency_id:
            raise ValidationError({"competency": _("This offer is not held in a competency.")})
        if offer.held_in != Qualification.SOLUTION_AREA and self.solution_area_id:
            raise ValidationError(
                {"solution_area": _("This offer is not held in a solution area.")}
            )

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
