from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from partnerdesk.core import limits
from partnerdesk.core.models import OrganizationScopedQuerySet, TranslatedName
from partnerdesk.partners.models import CompetencyKind, Program, ProgramOffer, Qualification


class Deployment(models.TextChoices):
    ON_PREMISES = "on_premises", _("On-premises")
    CLOUD = "cloud", _("Cloud")


class Coverage(models.TextChoices):
    ON_PREMISES = "on_premises", _("On-premises products")
    CLOUD = "cloud", _("Cloud products")
    ALL = "all", _("On-premises and cloud products")


class Unit(models.TextChoices):
    INCIDENTS = "incidents", pgettext_lazy("unit", "Incidents")
    HOURS = "hours", pgettext_lazy("unit", "Hours")


# The ledger counts in whole units of this size: incidents one by one, hours to the minute
# (an allotment of 10 hours is a balance of 600). Whole numbers keep every sum exact.
LEDGER_SCALE = {Unit.INCIDENTS: 1, Unit.HOURS: 60}


def in_unit(value: int | None, unit: str) -> int | Decimal | None:
    """A ledger quantity in its benefit's unit: incidents as they are, minutes as hours."""
    if value is None:
        return None
    scale = LEDGER_SCALE[unit]
    if scale == 1 or value % scale == 0:
        return value // scale
    return Decimal(value) / scale


class BenefitKind(models.TextChoices):
    PROGRAM = "program", _("Program benefit (from memberships)")
    PAID_PLAN = "paid_plan", _("Paid partner support plan")


class Benefit(TranslatedName, models.Model):
    """A support benefit: one of the program's (Microsoft Product Support, Signature Cloud
    Support, derived from memberships through the allotment rules) or a paid partner
    support plan (Premier, Advanced) that an operator grants for a term."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(
        _("kind"), max_length=16, choices=BenefitKind.choices, default=BenefitKind.PROGRAM
    )
    program = models.ForeignKey(
        Program,
        verbose_name=_("program"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="benefits",
        help_text=_("The program whose offers grant it; empty for a paid plan."),
    )
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices, default=Unit.INCIDENTS)
    covers = models.CharField(
        _("covers"), max_length=16, choices=Coverage.choices, help_text=_("Products it covers.")
    )
    plan_incidents = models.PositiveIntegerField(
        _("incidents per term"),
        null=True,
        blank=True,
        help_text=_("Paid plans only. Empty: unlimited."),
    )
    highlights = models.TextField(
        _("highlights"), blank=True, help_text=_("Paid plans: one line each, for the comparison.")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("benefit")
        verbose_name_plural = _("benefits")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_paid_plan(self) -> bool:
        return self.kind == BenefitKind.PAID_PLAN

    def covers_deployment(self, deployment: str) -> bool:
        """Whether a support incident for a product of this deployment draws on it
        (advisory hours are not incidents)."""
        return self.unit == Unit.INCIDENTS and self.covers in (Coverage.ALL, deployment)

    @property
    def highlight_lines(self) -> list[str]:
        return [gettext(line.strip()) for line in self.highlights.splitlines() if line.strip()]


class Allotment(models.TextChoices):
    LIMITED = "limited", _("A number of incidents or hours")
    UNLIMITED = "unlimited", _("Unlimited")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")


class AllotmentRule(models.Model):
    """One cell of a program's table: what an offer (held in a competency of a kind, where
    the offer is held in competencies) grants of a benefit, in the benefit's unit."""

    benefit = models.ForeignKey(
        Benefit, verbose_name=_("benefit"), on_delete=models.CASCADE, related_name="rules"
    )
    # One of the benefit's program's offers (ProgramOffer.code); see clean().
    offer = models.CharField(_("offer"), max_length=40)
    competency_kind = models.CharField(
        _("competency kind"), max_length=8, choices=CompetencyKind.choices
    )
    allotment = models.CharField(_("allotment"), max_length=16, choices=Allotment.choices)
    amount = models.PositiveIntegerField(
        _("amount"), null=True, blank=True, help_text=_("In the benefit's unit.")
    )

    class Meta:
        verbose_name = _("allotment rule")
        verbose_name_plural = _("allotment rules")
        ordering = ["benefit", "offer", "competency_kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["benefit", "offer", "competency_kind"], name="allotment_rule_unique_cell"
            ),
            models.CheckConstraint(
                name="allotment_rule_amount_iff_limited",
                condition=(Q(allotment=Allotment.LIMITED, amount__gt=0))
                | (~Q(allotment=Allotment.LIMITED) & Q(amount__isnull=True)),
                violation_error_message=_(
                    "Give a positive amount for a limited allotment, and none otherwise."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.benefit} · {self.offer} · {self.get_competency_kind_display()}"

    def clean(self) -> None:
        """The offer belongs to the benefit's program; a competency kind only where the
        offer is held in competencies."""
        from django.core.exceptions import ValidationError

        super().clean()
        if self.benefit_id is None:
            return
        benefit = Benefit.objects.get(pk=self.benefit_id)
        offer = ProgramOffer.objects.filter(program_id=benefit.program_id, code=self.offer).first()
        if offer is None:
            raise ValidationError({"offer": _("The benefit's program has no such offer.")})
        in_competency = offer.held_in == Qualification.COMPETENCY
        if in_competency == (self.competency_kind == CompetencyKind.NONE):
            raise ValidationError(
                {
                    "competency_kind": _(
                        "Give a competency kind exactly when the offer is held in a competency."
                    )
                }
            )

    @property
    def is_eligible(self) -> bool:
        return self.allotment != Allotment.NOT_ELIGIBLE

    @property
    def allowance(self) -> int | None:
        """The amount granted, in the benefit's unit; None means unlimited."""
        return self.amount if self.allotment == Allotment.LIMITED else None

    def allowance_for(self, benefit: Benefit) -> int | None:
        """The amount granted as the ledger counts it (hours in minutes)."""
        allowance = self.allowance
        return None if allowance is None else allowance * LEDGER_SCALE[benefit.unit]


class EntitlementState(models.TextChoices):
    NOT_ACTIVATED = "not_activated", _("Not activated")
    ACTIVATION_PENDING = "activation_pending", _("Activation pending")
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")
    LAPSED = "lapsed", _("Lapsed with its membership")


# States in which an entitlement is the organization's current one for its benefit.
CURRENT_STATES = (
    EntitlementState.NOT_ACTIVATED,
    EntitlementState.ACTIVATION_PENDING,
    EntitlementState.ACTIVE,
)


class EntitlementStatus(models.TextChoices):
    """What partners see (and the API returns): the state, refined by balance and dates."""

    NOT_ACTIVATED = "not_activated", _("Not activated")
    ACTIVATION_PENDING = "activation_pending", _("Activation pending")
    ACTIVE = "active", _("Active")
    EXHAUSTED = "exhausted", _("Exhausted")
    EXPIRED = "expired", _("Expired")


class EntitlementQuerySet(OrganizationScopedQuerySet):
    def current(self) -> EntitlementQuerySet:
        return self.filter(state__in=CURRENT_STATES)

    def visible(self) -> EntitlementQuerySet:
        return self.exclude(state=EntitlementState.LAPSED)


class Entitlement(models.Model):
    """An organization's right to a benefit, derived from its best active membership.

    ``balance``, ``used``, ``allowance`` and ``ledger_hash`` change only through
    ``benefits.ledger``, together with a ledger entry, so ``balance`` always equals the sum
    of the ledger's deltas. For an unlimited entitlement (``allowance`` is null) the balance
    is still the ledger's sum but may go below zero: uses are recorded, never refused.
    """

    organization = models.ForeignKey(
        "partners.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="entitlements",
    )
    benefit = models.ForeignKey(
        Benefit, verbose_name=_("benefit"), on_delete=models.PROTECT, related_name="entitlements"
    )
    membership = models.ForeignKey(
        "partners.Membership",
        verbose_name=_("granting membership"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="entitlements",
    )
    # The granting offers' codes, joined by "+" where a program adds them up.
    offer = models.CharField(_("offer"), max_length=120)
    competency_name = models.CharField(_("competency"), max_length=120, blank=True)
    state = models.CharField(
        _("state"),
        max_length=24,
        choices=EntitlementState.choices,
        default=EntitlementState.NOT_ACTIVATED,
    )
    allowance = models.PositiveIntegerField(_("allowance"), null=True, blank=True)
    used = models.IntegerField(_("used"), default=0)
    balance = models.IntegerField(_("balance"), default=0)
    activation_deadline = models.DateField(_("last date to activate"))
    # Where the benefit goes with its membership (mpn-2021): the membership's last day.
    # Empty where it outlives the membership once activated (ai-cloud-2025), or a plan.
    membership_ends = models.DateField(_("membership ends"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    expires_on = models.DateField(_("expires"), null=True, blank=True)
    access_id = models.CharField(_("Access ID"), max_length=64, null=True, blank=True, unique=True)
    contract_id = models.CharField(
        _("Contract ID"), max_length=64, null=True, blank=True, unique=True
    )
    # A limited balance below zero, which only an operator's override can leave (set and
    # cleared by the ledger with the balance).
    overdrawn = models.BooleanField(_("overdrawn"), default=False, db_default=False, editable=False)
    # The hash of the newest ledger entry: the head of the entitlement's hash chain.
    ledger_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    objects = EntitlementQuerySet.as_manager()

    class Meta:
        verbose_name = _("entitlement")
        verbose_name_plural = _("entitlements")
        ordering = ["organization", "benefit__position", "-created_at"]
        constraints = [
            # Below zero only through an operator's audited override (``overdrawn``).
            models.CheckConstraint(
                name="entitlement_balance_not_negative",
                condition=Q(allowance__isnull=True) | Q(balance__gte=0) | Q(overdrawn=True),
            ),
            models.CheckConstraint(
                name="entitlement_overdrawn_means_negative",
                condition=Q(overdrawn=False) | Q(balance__lt=0, allowance__isnull=False),
            ),
            models.CheckConstraint(name="entitlement_used_not_negative", condition=Q(used__gte=0)),
            models.UniqueConstraint(
                fields=["organization", "benefit"],
                condition=Q(state__in=CURRENT_STATES),
                name="entitlement_one_current_per_benefit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.benefit} — {self.organization}"

    @property
    def is_unlimited(self) -> bool:
        return self.allowance is None

    @property
    def remaining(self) -> int | None:
        return None if self.allowance is None else max(self.balance, 0)

    # The counters in the benefit's unit (hours for advisory hours, kept in minutes).
    @property
    def allowance_in_unit(self) -> int | Decimal | None:
        return in_unit(self.allowance, self.benefit.unit)

    @property
    def used_in_unit(self) -> int | Decimal:
        return in_unit(self.used, self.benefit.unit)

    @property
    def remaining_in_unit(self) -> int | Decimal | None:
        return in_unit(self.remaining, self.benefit.unit)

    @property
    def expires(self) -> datetime.date | None:
        """The date that matters now: expiry once active, else the last date to activate."""
        if self.state in (EntitlementState.ACTIVE, EntitlementState.EXPIRED):
            return self.expires_on
        return self.activation_deadline

    @cached_property
    def latest_activation(self) -> Activation | None:
        """From prefetched activations, or set by the selector that read it."""
        activations = sorted(self.activations.all(), key=lambda a: a.pk, reverse=True)
        return activations[0] if activations else None

    def can_be_activated_on(self, day: datetime.date) -> bool:
        return self.state == EntitlementState.NOT_ACTIVATED and self.activation_deadline >= day

    def membership_ended_before(self, day: datetime.date) -> bool:
        """A program benefit that goes with its membership, whose membership ended: lost
        with it, even before the periodic job records the lapse."""
        return (
            self.membership_ends is not None
            and self.state in CURRENT_STATES
            and self.membership_ends < day
        )

    def status_on(self, day: datetime.date) -> str:
        """Derived from the stored dates, without writing: a read never has to wait for
        the job that records expiries and lapses."""
        if self.membership_ended_before(day):
            return EntitlementStatus.EXPIRED
        if self.state == EntitlementState.ACTIVE:
            if self.expires_on is not None and self.expires_on < day:
                return EntitlementStatus.EXPIRED
            if self.allowance is not None and self.balance <= 0:
                return EntitlementStatus.EXHAUSTED
            return EntitlementStatus.ACTIVE
        if self.state == EntitlementState.NOT_ACTIVATED and self.activation_deadline < day:
            return EntitlementStatus.EXPIRED
        if self.state in (EntitlementState.EXPIRED, EntitlementState.LAPSED):
            return EntitlementStatus.EXPIRED
        return self.state


class LedgerKind(models.TextChoices):
    GRANT = "grant", _("Grant")
    CONSUME = "consume", _("Use")
    REFUND = "refund", _("Refund")
    RESERVE = "reserve", _("Reservation")
    SETTLE = "settle", _("Settlement")
    EXPIRE = "expire", _("Expiry")
    ADJUSTMENT = "adjustment", _("Adjustment")


# The kinds that record a request's use: each moves "used" by minus its delta (a use of
# one incident, a reservation of 90 minutes, the settlement's release or extra charge).
# Every other kind moves only the balance.
USE_KINDS = frozenset(
    {LedgerKind.CONSUME, LedgerKind.REFUND, LedgerKind.RESERVE, LedgerKind.SETTLE}
)


def used_delta(kind: str, delta: int) -> int:
    return -delta if kind in USE_KINDS else 0


class LedgerEntry(models.Model):
    """Append-only: an entry is never changed or deleted (the database refuses too);
    corrections are new entries. ``entry_hash`` covers the entry's content and
    ``previous_hash``, the hash of the entitlement's entry before it."""

    entitlement = models.ForeignKey(
        Entitlement,
        verbose_name=_("entitlement"),
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=LedgerKind.choices)
    delta = models.IntegerField(_("change"))
    balance_after = models.IntegerField(_("balance after"))
    allowance_after = models.PositiveIntegerField(_("allowance after"), null=True, blank=True)
    # PROTECT: an entry never changes, so its actor can be deactivated, never deleted.
    actor = models.ForeignKey(
        "accounts.User",
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    support_request = models.ForeignKey(
        "support.SupportRequest",
        verbose_name=_("support request"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )
    # An operator's override that let this settlement take the balance below zero.
    overdraw = models.BooleanField(_("overdraw allowed"), default=False, db_default=False)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    previous_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    entry_hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["entitlement", "id"]
        indexes = [models.Index(fields=["entitlement", "id"], name="ledger_entitlement_chain")]
        constraints = [
            models.CheckConstraint(
                name="ledger_consume_and_refund_are_one_incident",
                condition=~Q(kind__in=[LedgerKind.CONSUME, LedgerKind.REFUND])
                | Q(kind=LedgerKind.CONSUME, delta=-1)
                | Q(kind=LedgerKind.REFUND, delta=1),
            ),
            models.CheckConstraint(
                name="ledger_reservation_takes_time",
                condition=~Q(kind=LedgerKind.RESERVE) | Q(delta__lt=0),
            ),
            # Only a settlement, by an operator, may take a balance below zero.
            models.CheckConstraint(
                name="ledger_overdraw_is_an_operators_settlement",
                condition=Q(overdraw=False) | Q(kind=LedgerKind.SETTLE, actor__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["support_request"],
                condition=Q(kind=LedgerKind.RESERVE),
                name="ledger_one_reservation_per_request",
            ),
            models.UniqueConstraint(
                fields=["support_request"],
                condition=Q(kind=LedgerKind.SETTLE),
                name="ledger_one_settlement_per_request",
            ),
            # A request is charged at most once and refunded at most once, whoever tries.
            models.UniqueConstraint(
                fields=["support_request"],
                condition=Q(kind=LedgerKind.CONSUME),
                name="ledger_one_charge_per_request",
            ),
            models.UniqueConstraint(
                fields=["support_request"],
                condition=Q(kind=LedgerKind.REFUND),
                name="ledger_one_refund_per_request",
            ),
            models.CheckConstraint(
                name="ledger_uses_name_their_request",
                condition=~Q(kind__in=sorted(USE_KINDS)) | Q(support_request__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.delta:+d}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Ledger entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Ledger entries are append-only.")


class ActivationState(models.TextChoices):
    PENDING = "pending", _("Pending")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


class Activation(models.Model):
    """A partner admin's request to activate an entitlement, completed by the worker once
    ``due_at`` has passed, or earlier by an operator."""

    entitlement = models.ForeignKey(
        Entitlement,
        verbose_name=_("entitlement"),
        on_delete=models.CASCADE,
        related_name="activations",
    )
    state = models.CharField(
        _("state"), max_length=16, choices=ActivationState.choices, default=ActivationState.PENDING
    )
    requested_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True)
    due_at = models.DateTimeField(_("completes automatically at"), db_index=True)
    decided_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    rejection_reason = models.TextField(
        _("reason for rejection"), max_length=limits.REASON_MAX, blank=True
    )

    class Meta:
        verbose_name = _("activation")
        verbose_name_plural = _("activations")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entitlement"],
                condition=Q(state=ActivationState.PENDING),
                name="activation_one_pending_per_entitlement",
            ),
            models.UniqueConstraint(
                fields=["entitlement"],
                condition=Q(state=ActivationState.COMPLETED),
                name="activation_completes_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entitlement} · {self.get_state_display()}"


class PlanGrant(models.Model):
    """An operator's grant of a paid support plan to an organization for a term."""

    organization = models.ForeignKey(
        "partners.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="plan_grants",
    )
    plan = models.ForeignKey(
        Benefit,
        verbose_name=_("plan"),
        on_delete=models.PROTECT,
        related_name="grants",
        limit_choices_to={"kind": BenefitKind.PAID_PLAN},
    )
    starts = models.DateField(_("starts"))
    ends = models.DateField(_("ends"))
    entitlement = models.OneToOneField(
        Entitlement,
        verbose_name=_("entitlement"),
        on_delete=models.PROTECT,
        related_name="plan_grant",
        null=True,
        editable=False,
    )
    granted_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("granted by"),
        on_delete=models.SET_NULL,
        null=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(_("granted"), auto_now_add=True)

    class Meta:
        verbose_name = _("plan grant")
        verbose_name_plural = _("plan grants")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="plan_grant_period_ordered", condition=Q(ends__gte=models.F("starts"))
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan} — {self.organization} ({self.starts} – {self.ends})"
