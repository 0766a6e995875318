from __future__ import annotations

import datetime

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from partnerdesk.benefits.models import Deployment
from partnerdesk.core import limits
from partnerdesk.core.models import OrganizationScopedQuerySet, TimeStampedModel, TranslatedName


class Product(models.Model):
    """A product partners can ask about. On-premises versions of one ``family`` form a
    lineage: the newest released version (N) is entitled, the one before (N-1) only while
    in mainstream support. Cloud products are always current."""

    family = models.CharField(_("product family"), max_length=120, db_index=True)
    version = models.CharField(_("version"), max_length=60, blank=True)
    deployment = models.CharField(_("deployment"), max_length=16, choices=Deployment.choices)
    released_on = models.DateField(_("released"), null=True, blank=True)
    mainstream_ends_on = models.DateField(
        _("mainstream support ends"),
        null=True,
        blank=True,
        help_text=_("Empty: no end announced (or a cloud product)."),
    )

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["family", "released_on", "version"]
        constraints = [
            models.UniqueConstraint(fields=["family", "version"], name="product_unique_version")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        # Product names are Microsoft's and stay as they are in every language.
        return f"{self.family} {self.version}" if self.version else self.family


class Workload(models.Model):
    """What a CSP partner can open a request about for a customer (Azure, Microsoft 365, …).
    A workload on the Cloud Solution Provider plan charges nothing; the others charge the
    partner's cloud support contract like any cloud request."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"deployment": "cloud"},
    )
    csp_plan = models.BooleanField(
        _("on the Cloud Solution Provider plan"),
        default=False,
        help_text=_("No support contract is attached and no incident is charged."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("CSP workload")
        verbose_name_plural = _("CSP workloads")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class SupportTopic(models.Model):
    """What a request is about, within one product family (Partner Center asks for a
    topic after the product). Catalog data that operators edit."""

    family = models.CharField(_("product family"), max_length=120, db_index=True)
    code = models.SlugField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("support topic")
        verbose_name_plural = _("support topics")
        ordering = ["family", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["family", "code"], name="support_topic_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.family}: {self.name}"


class BusinessCalendar(models.Model):
    """When support engineers work, for the business-hours clocks of severities B and C:
    a time zone, working days and hours, and holidays. The default calendar applies to
    every organization not listed on another one."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    # ISO weekday numbers, Monday 1 … Sunday 7, as digits: "12345" is Monday to Friday.
    working_days = models.CharField(_("working days"), max_length=7, default="12345")
    opens_at = models.TimeField(_("opens at"), default=datetime.time(9))
    closes_at = models.TimeField(_("closes at"), default=datetime.time(17))
    is_default = models.BooleanField(_("default calendar"), default=False)
    organizations = models.ManyToManyField(
        "partners.Organization",
        verbose_name=_("organizations"),
        blank=True,
        related_name="+",
        help_text=_("Organizations whose requests use this calendar instead of the default."),
    )

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="business_calendar_one_default",
            ),
            models.CheckConstraint(
                name="business_calendar_opens_before_closing",
                condition=Q(opens_at__lt=models.F("closes_at")),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        """Making a calendar the default takes the mark from the previous one, in one
        transaction (there is one default at every moment)."""
        from django.db import transaction

        with transaction.atomic():
            if self.is_default:
                previous = BusinessCalendar.objects.filter(is_default=True).exclude(pk=self.pk)
                for calendar in previous.select_for_update():
                    calendar.is_default = False
                    # save(), not update(): the calendars snapshot hears of it.
                    super(BusinessCalendar, calendar).save(update_fields=["is_default"])
            super().save(*args, **kwargs)

    def clean(self) -> None:
        """A real IANA time zone, working days as ISO weekday digits 1–7 without repeats,
        opening before closing, and always one default calendar."""
        from zoneinfo import available_timezones

        from django.core.exceptions import ValidationError

        errors: dict[str, str] = {}
        if self.time_zone not in available_timezones():
            errors["time_zone"] = _(
                "Give a time zone of the IANA database, such as Europe/Warsaw or UTC."
            )
        days = self.working_days or ""
        if not days or any(d not in "1234567" for d in days) or len(set(days)) != len(days):
            errors["working_days"] = _(
                "Give each working day once, as ISO weekday numbers 1 (Monday) to 7 (Sunday)."
            )
        times = (self.opens_at, self.closes_at)
        if None not in times and self.opens_at >= self.closes_at:
            errors["closes_at"] = _("The working day must close after it opens.")
        if not self.is_default:
            others = BusinessCalendar.objects.filter(is_default=True).exclude(pk=self.pk)
            if not others.exists():
                errors["is_default"] = _(
                    "One calendar must be the default: make another calendar the default instead."
                )
        if errors:
            raise ValidationError(errors)

    def get_constraints(self):
        # The one-default constraint is kept by save(), which moves the mark; the others
        # are checked as usual.
        return [
            (model, [c for c in constraints if c.name != "business_calendar_one_default"])
            for model, constraints in super().get_constraints()
        ]


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("calendar"),
        on_delete=models.CASCADE,
        related_name="holidays",
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_once_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class Severity(models.TextChoices):
    A = "A", _("A — critical: first response within 2 hours")
    B = "B", _("B — moderate: first response within 4 business hours")
    C = "C", _("C — minimal: first response within 8 business hours")

    @classmethod
    def aliases(cls) -> dict[str, Severity]:
        """Partner Center's own names for the severities, accepted wherever a letter is."""
        return {"critical": cls.A, "moderate": cls.B, "minimal": cls.C}

    @classmethod
    def parse(cls, value: str) -> Severity | None:
        """A letter or an alias (any case), or None when it is neither."""
        value = (value or "").strip()
        if value.upper() in cls.values:
            return cls(value.upper())
        return cls.aliases().get(value.lower())

    @classmethod
    def first_response_hours(cls) -> dict[Severity, int]:
        """The first-response target of each severity, in hours."""
        return {cls.A: 2, cls.B: 4, cls.C: 8}

    @classmethod
    def around_the_clock(cls) -> frozenset[Severity]:
        """Severities whose clock runs 24×7; the others count business hours only."""
        return frozenset({cls.A})


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    # Partner Center's own: an engineer asked the partner something and waits for the
    # answer; the first-response clock pauses meanwhile, the partner's reply clears it.
    ATTENTION_NEEDED = "attention_needed", _("Attention needed")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")

    @classmethod
    def finished(cls) -> tuple[RequestStatus, ...]:
        return (cls.RESOLVED, cls.CLOSED)

    @classmethod
    def active(cls) -> tuple[RequestStatus, ...]:
        """Still being worked on: the console's default view."""
        return (cls.OPEN, cls.IN_PROGRESS, cls.ATTENTION_NEEDED)


class SlaState(models.TextChoices):
    """Where a request stands against its first-response target."""

    ON_TRACK = "on_track", _("On track")
    WARNING = "warning", _("Due soon")
    BREACHED = "breached", _("Overdue")
    PAUSED = "paused", _("Paused: waiting for the partner")
    MET = "met", _("Met")


class Resolution(models.TextChoices):
    SOLVED = "solved", _("Solved")
    DUPLICATE = "duplicate", _("Duplicate")
    PRODUCT_BUG = "product_bug", _("Product bug")
    WITHDRAWN = "withdrawn", _("Withdrawn by the partner")

    @classmethod
    def closing(cls) -> tuple[Resolution, ...]:
        """What a support engineer may close a request with."""
        return (cls.SOLVED, cls.DUPLICATE, cls.PRODUCT_BUG)

    @classmethod
    def refunding(cls) -> frozenset[Resolution]:
        """Closing with these gives the incident back."""
        return frozenset({cls.DUPLICATE, cls.PRODUCT_BUG, cls.WITHDRAWN})


class Charging(models.TextChoices):
    INCIDENT = "incident", _("One incident, charged when the request is opened")
    HOURS = "hours", _("Advisory hours: an estimate reserved, settled on the time logged")
    FREE = "free", _("Free")


class Refunding(models.TextChoices):
    DUPLICATE_OR_BUG = "duplicate_or_bug", _("When closed as a duplicate or a product bug")
    CLOSURE = "closure", _("When the request is closed")
    NEVER = "never", _("Never")


class RequestCategory(TranslatedName, models.Model):
    """What a request is about, and so how it is charged: data an operator edits, loaded
    by a migration with the program's four (technical, billing, frontline, advisory)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    charging = models.CharField(_("charging"), max_length=16, choices=Charging.choices)
    refunding = models.CharField(
        _("refund"), max_length=24, choices=Refunding.choices, default=Refunding.NEVER
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("request category")
        verbose_name_plural = _("request categories")
        ordering = ["position", "code"]
        constraints = [
            # An advisory request settles its reservation instead of being refunded; a free
            # one has nothing to give back.
            models.CheckConstraint(
                name="request_category_refund_fits_charging",
                condition=Q(charging=Charging.INCIDENT) | Q(refunding=Refunding.NEVER),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def refunds_on(self, resolution: str) -> bool:
        """Whether closing (or withdrawing) with ``resolution`` gives the incident back."""
        if self.charging != Charging.INCIDENT:
            return False
        if resolution == Resolution.WITHDRAWN or self.refunding == Refunding.CLOSURE:
            return True
        return self.refunding == Refunding.DUPLICATE_OR_BUG and resolution in (
            Resolution.DUPLICATE,
            Resolution.PRODUCT_BUG,
        )


class SupportRequest(TimeStampedModel):
    organization = models.ForeignKey(
        "partners.Organization",
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        related_name="support_requests",
    )
    opened_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("opened by"),
        on_delete=models.PROTECT,
        related_name="support_requests",
    )
    customer = models.ForeignKey(
        "partners.Customer",
        verbose_name=_("CSP customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="support_requests",
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    entitlement = models.ForeignKey(
        "benefits.Entitlement",
        verbose_name=_("support contract"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="support_requests",
    )
    charged = models.BooleanField(_("incident charged"), default=False)
    severity = models.CharField(_("severity"), max_length=1, choices=Severity.choices)
    title = models.CharField(_("title"), max_length=limits.TITLE_MAX)
    description = models.TextField(_("description"), max_length=limits.DESCRIPTION_MAX)
    error_message = models.TextField(
        _("error message"), max_length=limits.ERROR_MESSAGE_MAX, blank=True
    )
    contact_name = models.CharField(_("contact name"), max_length=limits.NAME_MAX, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), max_length=limits.EMAIL_MAX, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=limits.PHONE_MAX, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    resolution = models.CharField(
        _("resolution"), max_length=16, choices=Resolution.choices, blank=True
    )
    assigned_to = models.ForeignKey(
        "accounts.User",
        verbose_name=_("support engineer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_requests",
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("incident refunded"), null=True, blank=True)
    topic = models.ForeignKey(
        SupportTopic,
        verbose_name=_("topic"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Empty on requests from before categories: they were technical.
    category = models.ForeignKey(
        RequestCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Advisory requests: the minutes reserved when it was opened, and when the time logged
    # was settled against them.
    estimate_minutes = models.PositiveIntegerField(_("estimate (minutes)"), null=True, blank=True)
    settled_at = models.DateTimeField(_("settled"), null=True, blank=True)
    # The first-response clock (support.sla): due when opened, moved on by the time a
    # request waits on the partner, stopped by the first answer an engineer writes.
    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("business calendar"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    # 75 % of the way to the due time, in the same clock: sla_state reads stored times only.
    sla_warning_at = models.DateTimeField(_("first response due soon"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    sla_paused_at = models.DateTimeField(_("clock paused"), null=True, blank=True)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("support request")
        verbose_name_plural = _("support requests")
        ordering = ["-created_at", "-id"]
        # The lists' order, newest first, for one organization and for every one.
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="request_org_newest"),
            models.Index(fields=["-created_at", "-id"], name="request_newest"),
            models.Index(fields=["first_response_due", "id"], name="request_first_response_due"),
        ]
        constraints = [
            models.CheckConstraint(
                name="support_request_charged_needs_contract",
                condition=Q(charged=False) | Q(entitlement__isnull=False),
            ),
            models.CheckConstraint(
                name="support_request_estimate_positive",
                condition=Q(estimate_minutes__isnull=True) | Q(estimate_minutes__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # The status it had when read: a change of it is an event (support.events).
        instance.loaded_status = instance.__dict__.get("status")
        return instance

    @property
    def is_advisory(self) -> bool:
        return self.estimate_minutes is not None

    @property
    def is_finished(self) -> bool:
        return self.status in RequestStatus.finished()

    @property
    def can_be_withdrawn(self) -> bool:
        return self.status == RequestStatus.OPEN and self.assigned_to_id is None


class TimeEntry(models.Model):
    """Time an engineer spent on an advisory request, to the minute: what closing the
    request settles its reservation against."""

    support_request = models.ForeignKey(
        SupportRequest,
        verbose_name=_("support request"),
        on_delete=models.PROTECT,
        related_name="time_entries",
    )
    engineer = models.ForeignKey(
        "accounts.User", verbose_name=_("engineer"), on_delete=models.PROTECT, related_name="+"
    )
    minutes = models.PositiveIntegerField(_("minutes"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("logged"), auto_now_add=True)

    class Meta:
        verbose_name = _("time entry")
        verbose_name_plural = _("time entries")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(name="time_entry_minutes_positive", condition=Q(minutes__gt=0))
        ]

    def __str__(self) -> str:
        return f"#{self.support_request_id} · {self.minutes} min"


class RequestNote(models.Model):
    support_request = models.ForeignKey(
        SupportRequest,
        verbose_name=_("support request"),
        on_delete=models.CASCADE,
        related_name="notes",
    )
    author = models.ForeignKey(
        "accounts.User", verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField(_("note"), max_length=limits.NOTE_MAX)
    # Engineers only: partners never see an internal note, nor are told of it.
    internal = models.BooleanField(_("internal note"), default=False)
    # An engineer's question that puts the request in attention_needed.
    asks_partner = models.BooleanField(_("waits for the partner"), default=False)
    created_at = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:60]


def attachment_path(instance: Attachment, filename: str) -> str:
    """Stored under a random name: the uploader's file name is only ever shown."""
    import uuid

    return f"attachments/{instance.support_request_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file on a request (and on one of its notes, when sent with a reply)."""

    support_request = models.ForeignKey(
        SupportRequest,
        verbose_name=_("support request"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    note = models.ForeignKey(
        RequestNote,
        verbose_name=_("note"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="attachments",
    )
    uploaded_by = models.ForeignKey(
        "accounts.User", verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=255)
    name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=100)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class ContractLink(models.Model):
    """A user account that has proved it knows a contract's Access ID and Contract ID."""

    user = models.ForeignKey(
        "accounts.User",
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="contract_links",
    )
    entitlement = models.ForeignKey(
        "benefits.Entitlement",
        verbose_name=_("support contract"),
        on_delete=models.CASCADE,
        related_name="links",
    )
    linked_at = models.DateTimeField(_("linked"), auto_now_add=True)

    class Meta:
        verbose_name = _("contract link")
        verbose_name_plural = _("contract links")
        constraints = [
            models.UniqueConstraint(fields=["user", "entitlement"], name="contract_link_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.entitlement_id}"
