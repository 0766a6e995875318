"""``{% activation_pending activation %}``: the pending benefit's sentence, which follows
the configured activation delay ("in about a minute" for the demo, a date for days)."""

from django import template

from partnerdesk.benefits.activation import activation_expected, activation_pending_text

register = template.Library()


@register.simple_tag
def activation_pending(activation) -> str:
    return activation_pending_text(activation) if activation is not None else ""


@register.simple_tag
def activation_expected_of(entitlement) -> str:
    """When the entitlement's pending activation should be done ("in about a minute",
    "by 5 December 2026"), or "" when none is pending."""
    from partnerdesk.benefits.models import ActivationState

    pending = entitlement.activations.filter(state=ActivationState.PENDING).order_by("-id").first()
    return activation_expected(pending.due_at) if pending is not None else ""
