"""E-mails about activations, each in its recipient's language.

The task that sends them may run more than once (a worker killed mid-run has its task
run again by the next one): each message sent is recorded as an audit event
``activation.notice_sent``, and a run sends only to the recipients not recorded yet, so a
re-run repeats at most the one message that was on its way when the worker died."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from partnerdesk.accounts.audit import audit_record
from partnerdesk.accounts.models import AuditEvent, User
from partnerdesk.benefits.models import Activation, ActivationState
from partnerdesk.core.emails import send_portal_mail

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


NOTICE_SENT = "activation.notice_sent"


def _already_notified(activation: Activation) -> set[tuple[str, str]]:
    """(address, state) of every notice about ``activation`` already sent."""
    events = AuditEvent.objects.filter(
        action=NOTICE_SENT, data__activation=activation.pk
    ).values_list("data", flat=True)
    return {(data.get("to", ""), data.get("state", "")) for data in events}


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
    done = _already_notified(activation)
    sent = 0
    for address, language in _recipients(activation):
        if (address, activation.state) in done:
            continue
        with translation.override(language):
            context = {"activation": activation, "entitlement": activation.entitlement}
            subject = render_to_string(f"{template}_subject.txt", context).strip()
            body = render_to_string(f"{template}_body.txt", context)
        sent += send_portal_mail(subject, body, [address], language=language)
        audit_record(
            action=NOTICE_SENT,
            organization_id=activation.entitlement.organization_id,
            activation=activation.pk,
            to=address,
            state=activation.state,
        )
    return sent
