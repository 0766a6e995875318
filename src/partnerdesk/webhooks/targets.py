"""Where a webhook may go (SSRF): checked when an endpoint is registered and again before
every attempt, because a name's addresses change.

A URL is refused when its host resolves to any address that is not a public one:
loopback (127.0.0.0/8, ::1), private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local
(169.254/16 — the cloud metadata service at 169.254.169.254 — and fe80::/10),
multicast, reserved, unspecified (0.0.0.0, ::), shared (100.64/10), or an IPv4 address
mapped into IPv6. ``PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE=1`` lets loopback and private
addresses through (tests, single-host setups). Only ``https`` is allowed, unless DEBUG is
on or the address is a private one that the setting allows.

The request then connects to the very address that was checked (``Target.address``; see
``sending.PinnedAdapter``), with the URL's host name in the Host header and, for https,
in SNI and the certificate check, so a name cannot resolve to a public address for the
check and to a private one for the connection (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from partnerdesk.webhooks.exceptions import WebhookUrlRefused

URL_MAX = 2000
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (a name, or an address without brackets)
    port: int
    address: str  # the checked address the connection goes to
    path: str  # path and query, as written

    @property
    def pinned_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        ip = ipaddress.ip_address(self.address)
        host = f"[{ip}]" if ip.version == 6 else str(ip)
        return f"{self.scheme}://{host}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _private_allowed() -> bool:
    return bool(settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE)


def _is_public(ip: Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return False  # ::ffff:10.0.0.1 reaches 10.0.0.1
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


def _is_allowed_private(ip: Address) -> bool:
    """What ALLOW_PRIVATE opens: loopback and private ranges; never link-local (the
    metadata service), multicast or the unspecified address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return False
    return ip.is_loopback or ip.is_private


def _refusal(ip: Address) -> str:
    inner = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip
    if inner.is_loopback:
        kind = _("a loopback address")
    elif inner.is_link_local:
        kind = _("a link-local address (such as the cloud metadata service)")
    elif inner.is_unspecified:
        kind = _("the unspecified address")
    elif inner.is_multicast:
        kind = _("a multicast address")
    elif inner.is_private:
        kind = _("a private address")
    else:
        kind = _("an address that is not public")
    return _(
        "The host resolves to %(address)s, %(kind)s: webhooks go to public addresses only."
    ) % {"address": ip, "kind": kind}


def _resolve(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookUrlRefused(
            _("The host %(host)s could not be resolved.") % {"host": host}
        ) from None
    addresses: list[Address] = []
    for *_rest, sockaddr in found:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise WebhookUrlRefused(_("The host %(host)s could not be resolved.") % {"host": host})
    return addresses


def webhook_target(url: str) -> Target:
    """The checked target of ``url``, or ``WebhookUrlRefused`` saying why not."""
    if len(url) > URL_MAX:
        raise WebhookUrlRefused(_("The URL is longer than %(max)d characters.") % {"max": URL_MAX})
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise WebhookUrlRefused(_("This is not a valid URL.")) from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise WebhookUrlRefused(_("The URL must start with https://."))
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise WebhookUrlRefused(_("The URL has no host."))
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlRefused(
            _("Put no user name or password in the URL: the signature authenticates the sender.")
        )
    port = port or (443 if scheme == "https" else 80)
    addresses = _resolve(host, port)
    for ip in addresses:
        if not _is_public(ip) and not (_private_allowed() and _is_allowed_private(ip)):
            raise WebhookUrlRefused(_refusal(ip))
    private_only = _private_allowed() and not any(_is_public(ip) for ip in addresses)
    if scheme == "http" and not (settings.DEBUG or private_only):
        raise WebhookUrlRefused(_("The URL must start with https://."))
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return Target(scheme=scheme, host=host, port=port, address=str(addresses[0]), path=path)
