"""``{% portal_url "web:benefit_detail" entitlement.pk %}``: a page's absolute address on
the portal (``core.emails.portal_url``), for the links in e-mails."""

from django import template
from django.urls import reverse

from partnerdesk.core.emails import portal_url as absolute

register = template.Library()


@register.simple_tag
def portal_url(name: str, *args) -> str:
    return absolute(reverse(name, args=args))
