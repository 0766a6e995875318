"""E-mails about activations, each in its recipient's language."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from partnerdesk.accounts.models import User
from partnerdesk.benefits.models import Activation, ActivationState

TEMPLATES = {
    ActivationState.COMPLETED: "benefits/email/activation_completed",
    ActivationState.REJECTED: "benefits/email/activation_rejected",
}


def _recipients(activation: Activation) -> list[tuple[str, str]]:
    """(address, language) for the program contact and the activating admin."""
    organization = activation.entitlement.organization
    addresses = [organization.contact_email, getattr(activation.requested_by, "email", "")]
    unique = list(dict.fromkeys(a.lower() for a in addresses if a))
    languages = dict(User.objects.filter(email__in=unique).values_list("email", "language"))
    return [(a, languages.get(a) or settings.LANGUAGE_CODE) for a in unique]


def activation_notify(*, activation_id: int) -> int:
    activation = (
        Activation.objects.select_related(
            "entitlement__organization", "entitlement__benefit", "requested_by"
        )
        .filter(pk=activation_id)
        .first()
    )
    if activation is None or activation.state not in TEMPLATES:
        return 0
    template = TEMPLATES[activation.state]
    sent = 0
    for address, language in _recipients(activation):
        with translation.override(language):
            context = {"activation": activation, "entitlement": activation.entitlement}
            subject = render_to_string(f"{template}_subject.txt", context).strip()
            body = render_to_string(f"{template}_body.txt", context)
        sent += send_mail(subject, body, None, [address])
    return sent
