"""Sign-ins, failed sign-ins and sign-outs go to the audit log."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from partnerdesk.accounts.audit import audit_record


def _address(request) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


@receiver(user_logged_in)
def signed_in(sender, request, user, **kwargs):
    audit_record(
        action="signin.succeeded",
        actor=user,
        organization=user.organization,
        target=user,
        address=_address(request),
    )


@receiver(user_login_failed)
def sign_in_failed(sender, credentials, request=None, **kwargs):
    # Never the password: only the name that was tried.
    audit_record(
        action="signin.failed",
        username=str(credentials.get("username", ""))[:254],
        address=_address(request),
    )


@receiver(user_logged_out)
def signed_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action="signout", actor=user, organization=user.organization, target=user)
