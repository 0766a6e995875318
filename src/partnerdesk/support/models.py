from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from partnerdesk.benefits.models import Deployment
from partnerdesk.core import limits
from partnerdesk.core.models import OrganizationScopedQuerySet, TimeStampedModel


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


class Severity(models.TextChoices):
    A = "A", _("A — critical: first response within 2 hours")
    B = "B", _("B — moderate: first response within 4 business hours")
    C = "C", _("C — minimal: first response within 8 business hours")


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")

    @classmethod
    def finished(cls) -> tuple[RequestStatus, ...]:
        return (cls.RESOLVED, cls.CLOSED)


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

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("support request")
        verbose_name_plural = _("support requests")
        ordering = ["-created_at", "-id"]
        # The lists' order, newest first, for one organization and for every one.
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="request_org_newest"),
            models.Index(fields=["-created_at", "-id"], name="request_newest"),
        ]
        constraints = [
            models.CheckConstraint(
                name="support_request_charged_needs_contract",
                condition=Q(charged=False) | Q(entitlement__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_finished(self) -> bool:
        return self.status in RequestStatus.finished()

    @property
    def can_be_withdrawn(self) -> bool:
        return self.status == RequestStatus.OPEN and self.assigned_to_id is None


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
    created_at = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:60]


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
