"""Template tags of the request pages' files (support.attachments): the request pages'
views stay as they are, the attachments partial asks for what it shows."""

from django import template

from partnerdesk.support import attachments

register = template.Library()


@register.simple_tag(takes_context=True)
def visible_attachments(context, support_request) -> list:
    """The files the signed-in user may see (the page has checked the request)."""
    return list(
        attachments.attachments_visible(context["request"].user, support_request).select_related(
            "note"
        )
    )


@register.simple_tag
def attachment_rules() -> str:
    """What may be attached, in words: the types and the limits."""
    return f"{attachments.allowed_types_text()} {attachments.limits_text()}"
