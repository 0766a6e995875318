"""One spelling of an e-mail address for storing and comparing: partnerdesk treats
``DAN@Contoso.com`` and ``dan@contoso.com`` as the same person everywhere — sign-in, the
import, tokens, the console — as every mail system in practice does."""

from __future__ import annotations


def email_normalized(value: str) -> str:
    return value.strip().lower()


# --- links and messages --------------------------------------------------------------------


def portal_url(path: str) -> str:
    """``path`` (``/support/requests/7/``, as ``reverse`` gives it) as an absolute URL on
    the portal's address as people reach it, ``PARTNERDESK_BASE_URL``: what every e-mail
    links to. ``check --deploy`` reports a base URL left at its development default."""
    from django.conf import settings

    if not path.startswith("/"):
        raise ValueError(f"portal_url needs an absolute path, not {path!r}")
    return settings.PARTNERDESK_BASE_URL.rstrip("/") + path


def send_portal_mail(subject: str, body: str, to: list[str], *, language: str = "") -> int:
    """One message with a plain-text part (``body``) and an HTML part made from it, in
    which the links are links; how many were sent (0 or 1)."""
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives
    from django.utils.html import escape, linebreaks, urlize

    lang = escape(language or settings.LANGUAGE_CODE)
    html = (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head><body>"
        f"{linebreaks(urlize(escape(body), autoescape=True))}</body></html>"
    )
    message = EmailMultiAlternatives(subject, body, None, to)
    message.attach_alternative(html, "text/html")
    return message.send()


def _base_url_check(app_configs=None, **kwargs):
    from django.conf import settings
    from django.core.checks import Error

    base = settings.PARTNERDESK_BASE_URL
    if (
        not base.startswith(("http://", "https://"))
        or "://127.0.0.1" in base
        or ("://localhost" in base)
    ):
        return [
            Error(
                f"PARTNERDESK_BASE_URL is {base!r}: the links in e-mails would lead nowhere.",
                hint="Set PARTNERDESK_BASE_URL to the portal's address as people reach it.",
                id="partnerdesk.E020",
            )
        ]
    return []


def register_checks() -> None:
    from django.core.checks import Tags, register

    register(Tags.security, deploy=True)(_base_url_check)
