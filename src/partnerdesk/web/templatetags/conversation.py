"""Template tags of the request pages: the incident sentence, said once (support.wording)."""

from django import template

from partnerdesk.support.wording import incident_text as _incident_text

register = template.Library()


@register.simple_tag
def incident_text(support_request) -> str:
    return _incident_text(support_request)
