from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.accounts.roles import ROLE_FIELDS, Role
from partnerdesk.core.emails import email_normalized


class AccountType(models.TextChoices):
    WORK = "work", _("Work account (Microsoft Entra ID)")
    PERSONAL = "personal", _("Personal Microsoft account")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **fields) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=email_normalized(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str) -> User:
        """Sign-in looks the address up however it was typed (stored normalized)."""
        return self.get(email=email_normalized(username))

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: a partner user (with an organization) or an operator (staff)."""

    email = models.EmailField(_("e-mail address"), unique=True)
    name = models.CharField(_("full name"), max_length=200, blank=True)
    account_type = models.CharField(
        _("account type"), max_length=16, choices=AccountType.choices, default=AccountType.WORK
    )
    organization = models.ForeignKey(
        "partners.Organization",
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        related_name="users",
        null=True,
        blank=True,
    )
    is_global_admin = models.BooleanField(_("Global admin"), default=False)
    is_mpn_partner_admin = models.BooleanField(_("MPN partner admin"), default=False)
    is_admin_agent = models.BooleanField(_("Admin agent"), default=False)
    is_helpdesk_agent = models.BooleanField(_("Helpdesk agent"), default=False)
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        help_text=_("Empty: follow the browser's language."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("operator"), default=False, help_text=_("Vendor staff: may use the operations console.")
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # Who the person is at "Sign in with Microsoft": Entra's `oid`, else the token's `sub`.
    # Recorded at the first sign-in, so later ones find the user even if the address changed.
    oidc_subject = models.CharField(
        _("Microsoft account ID"),
        max_length=255,
        unique=True,
        null=True,
        blank=True,
        help_text=_(
            "Recorded at the first sign-in with Microsoft. Clear it to let the person link "
            "another Microsoft account."
        ),
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        constraints = [
            # Whatever writes users (the import's bulk statements included), one address
            # is one user however it is cased.
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = email_normalized(self.email)

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email

    @property
    def roles(self) -> list[str]:
        return [role.value for role, field in ROLE_FIELDS.items() if getattr(self, field)]

    def has_role(self, *roles: Role) -> bool:
        return any(getattr(self, ROLE_FIELDS[role]) for role in roles)


def token_digest(raw_token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(raw_token.encode()).hexdigest()


class TokenScope(models.TextChoices):
    """What a token may do beyond its user's own API: ``operator`` opens the operators'
    endpoints (``/api/v1/admin/…``, the whole ledger's export, events of every
    organization) to a staff user's token; a staff user's plain token cannot reach them."""

    OPERATOR = "operator", _("Operator")


class ApiToken(models.Model):
    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=16, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    # Space-separated TokenScope values; empty for a token of the user's own API.
    scopes = models.CharField(_("scopes"), max_length=100, blank=True, default="")

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class AuditEvent(models.Model):
    """Who did what, when: append-only, shown to operators in the admin."""

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        "accounts.User",
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    organization = models.ForeignKey(
        "partners.Organization",
        verbose_name=_("organization"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.CharField(_("object type"), max_length=64, blank=True)
    target_id = models.CharField(_("object ID"), max_length=64, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        db_table = "accounts_auditevent"
        # The name it was given when the model lived in core.
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="core_audite_target__8673ce_idx")
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)
