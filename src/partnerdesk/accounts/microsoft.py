"""Who a Microsoft sign-in is, and which partner user it lets in.

The first sign-in links the Microsoft account to the imported partner user with that
e-mail address, and records the account's subject (``oid``, else ``sub``); later sign-ins
find the user by the subject alone, so a changed address still signs in. Work accounts
must come from the organization's Entra tenant (``Organization.tenant_id``) every time;
personal Microsoft accounts (the consumer tenant) are recorded as such.

Operators (``is_staff``) do not sign in with Microsoft: their power spans every
organization, so no partner tenant may vouch for them; they keep their passwords (and
django-axes' lockout)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from partnerdesk.accounts.audit import audit_record
from partnerdesk.accounts.models import AccountType, User
from partnerdesk.core.emails import email_normalized
from partnerdesk.core.exceptions import ApplicationError
from partnerdesk.core.tenants import CONSUMER_TENANT_ID, tenant_id_normalized


class SignInRefused(ApplicationError):
    """A Microsoft sign-in that lets nobody in; the page offers another account."""

    code = "signin_refused"
    status = 403
    title = _("Sign-in refused")
    default_detail = _("This Microsoft account cannot sign in to partnerdesk.")

    def __init__(self, detail: Any = None, *, email: str = "", reason: str = "") -> None:
        super().__init__(detail, extra={"email": email, "reason": reason})
        self.email = email


class SignInFailed(SignInRefused):
    """The answer from the provider did not check out (state, nonce, issuer, signature,
    an error it sent back, or it could not be reached)."""

    code = "signin_failed"
    status = 400
    title = _("Sign-in failed")
    default_detail = _(
        "The sign-in with Microsoft could not be completed (it may have been started in "
        "another window, or taken too long). Start it again."
    )


class NoPartnerAccount(SignInRefused):
    code = "no_partner_account"
    title = _("No partner account")

    def __init__(self, email: str) -> None:
        if email:
            detail = _("There is no partner account for %(email)s.") % {"email": email}
        else:
            detail = _("Microsoft did not tell us this account's e-mail address.")
        super().__init__(detail, email=email)


class WrongTenant(SignInRefused):
    code = "wrong_tenant"
    title = _("Wrong organization")

    def __init__(self, email: str) -> None:
        super().__init__(
            _(
                "The Microsoft work account %(email)s is not in your partner "
                "organization's directory (tenant). Sign in with your account in your "
                "organization's directory, or ask your program operator to record your "
                "organization's tenant ID."
            )
            % {"email": email},
            email=email,
        )


class OperatorAccount(SignInRefused):
    code = "operator_account"
    title = _("Operators sign in with a password")
    default_detail = _(
        "This address belongs to an operator account. Operators sign in with their "
        "password, not with Microsoft."
    )


class AccountLinkedElsewhere(SignInRefused):
    code = "account_linked_elsewhere"

    def __init__(self, email: str) -> None:
        super().__init__(
            _(
                "The partner account %(email)s is linked to another Microsoft account. "
                "Sign in with that one, or ask your program operator to unlink it."
            )
            % {"email": email},
            email=email,
        )


class EmailNotVerified(SignInRefused):
    code = "email_not_verified"

    def __init__(self, email: str) -> None:
        super().__init__(
            _("Microsoft has not verified the address %(email)s.") % {"email": email},
            email=email,
        )


def _verified(claims: dict[str, Any]) -> bool | None:
    # Entra's optional claim xms_edov: the address's domain is verified by the tenant.
    if claims.get("email_verified") is True or claims.get("xms_edov") is True:
        return True
    if claims.get("email_verified") is False or claims.get("xms_edov") is False:
        return False
    return None


@dataclass(frozen=True)
class MicrosoftIdentity:
    """What partnerdesk takes from a checked ID token."""

    subject: str
    email: str
    email_verified: bool | None  # None: the token does not say
    tenant_id: str

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> MicrosoftIdentity:
        subject = claims.get("oid") or claims.get("sub")
        if not subject:
            raise SignInFailed(reason="no_subject")
        email = claims.get("email")
        return cls(
            subject=str(subject),
            email=email_normalized(email) if isinstance(email, str) else "",
            email_verified=_verified(claims),
            tenant_id=tenant_id_normalized(str(claims.get("tid") or "")),
        )

    @property
    def personal(self) -> bool:
        return self.tenant_id == CONSUMER_TENANT_ID

    @property
    def account_type(self) -> str:
        return AccountType.PERSONAL if self.personal else AccountType.WORK


def _tenant_checked(user: User, identity: MicrosoftIdentity) -> None:
    """A work account only from the organization's own tenant (none recorded: none)."""
    if identity.personal:
        return
    tenant = user.organization.tenant_id if user.organization else ""
    if not tenant or identity.tenant_id != tenant:
        raise WrongTenant(identity.email or user.email)


def _address_trusted(identity: MicrosoftIdentity) -> bool:
    """The address may link an account unless the provider says it is unverified. Entra
    says nothing of the kind for work accounts: there the tenant check stands for it (only
    the organization's own directory, which owns its users' addresses, gets this far);
    Microsoft verifies the addresses of personal accounts itself."""
    return identity.email_verified is not False


def _may_sign_in(user: User, identity: MicrosoftIdentity) -> None:
    if not user.is_active:
        raise NoPartnerAccount(identity.email or user.email)
    if user.is_staff:
        raise OperatorAccount(email=user.email)
    if user.organization_id is None:
        raise NoPartnerAccount(identity.email or user.email)
    _tenant_checked(user, identity)


def user_for_microsoft_sign_in(*, identity: MicrosoftIdentity) -> User:
    """The partner user this Microsoft account signs in as, linked at its first sign-in;
    ``SignInRefused`` (a subclass saying why) when there is none."""
    with transaction.atomic():
        user = User.objects.filter(oidc_subject=identity.subject).first()
        linking = user is None
        if linking:
            user = User.objects.filter(email=identity.email).first() if identity.email else None
            if user is None:
                raise NoPartnerAccount(identity.email)
        _may_sign_in(user, identity)
        if linking:
            if user.oidc_subject:
                raise AccountLinkedElsewhere(user.email)
            if not _address_trusted(identity):
                raise EmailNotVerified(identity.email)
            user.oidc_subject = identity.subject
        changed = ["oidc_subject"] if linking else []
        if user.account_type != identity.account_type:
            user.account_type = identity.account_type
            changed.append("account_type")
        if changed:
            user.save(update_fields=changed)
        if linking:
            audit_record(
                action="user.microsoft_linked",
                actor=user,
                organization_id=user.organization_id,
                target=user,
                account_type=user.account_type,
                tenant_id=identity.tenant_id,
            )
    return user
