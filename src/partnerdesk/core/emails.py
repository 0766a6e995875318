"""One spelling of an e-mail address for storing and comparing: partnerdesk treats
``DAN@Contoso.com`` and ``dan@contoso.com`` as the same person everywhere — sign-in, the
import, tokens, the console — as every mail system in practice does."""

from __future__ import annotations


def email_normalized(value: str) -> str:
    return value.strip().lower()
