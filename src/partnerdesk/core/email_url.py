"""``EMAIL_URL``: where partnerdesk's e-mail goes, as one URL, turned into Django's EMAIL_*
settings.

- ``smtp://[user:password@]host[:port]`` — plain SMTP (port 25), for a relay on this host
  or a trusted network: nothing is encrypted, not even the password;
- ``smtp+tls://…`` — STARTTLS, required (port 587, message submission);
- ``smtp+ssl://…`` — TLS from the first byte (port 465, "implicit TLS", RFC 8314);
- ``console:`` — printed on standard output (development).

User name and password are percent-encoded (``@`` is ``%40``). ``?timeout=SECONDS``
bounds every wait on the server (10 s unless given). ``smtps://`` is refused on purpose:
libraries disagree on whether it means STARTTLS or implicit TLS.

A URL that cannot be used is an ``ImproperlyConfigured`` error naming the variable, raised
when the settings load, so the process stops at start-up, not at the first e-mail."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
# scheme → (security, default port)
SMTP_SCHEMES = {"smtp": ("none", 25), "smtp+tls": ("starttls", 587), "smtp+ssl": ("tls", 465)}
DEFAULT_TIMEOUT = 10.0
_PASSWORD = re.compile(r"(://[^/?#@:]*:)[^/?#]*@")
SCHEMES_HELP = "use smtp://, smtp+tls://, smtp+ssl:// or console:"


def email_settings(url: str, *, variable: str = "EMAIL_URL") -> dict[str, object]:
    """The EMAIL_* settings that ``url`` stands for."""

    def refuse(reason: str) -> ImproperlyConfigured:
        return ImproperlyConfigured(f"{variable}: {reason} (in {_redacted(url)!r})")

    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:  # a port that is not a number, or out of range
        raise refuse(f"not a usable URL: {error}") from None
    scheme = parts.scheme.lower()
    if scheme == "console":
        if parts.netloc or parts.path.strip("/") or parts.query:
            raise refuse("console: takes no host, path or parameters")
        return {"EMAIL_BACKEND": CONSOLE_BACKEND}
    if scheme not in SMTP_SCHEMES:
        raise refuse(f"unknown scheme {scheme!r}; {SCHEMES_HELP}")
    if not parts.hostname:
        raise refuse("no host")
    if parts.path.strip("/"):
        raise refuse("an SMTP URL has no path")
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    if bool(user) != bool(password):
        raise refuse("give both a user name and a password, or neither")
    security, default_port = SMTP_SCHEMES[scheme]
    return {
        "EMAIL_BACKEND": SMTP_BACKEND,
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or default_port,
        "EMAIL_HOST_USER": user,
        "EMAIL_HOST_PASSWORD": password,
        "EMAIL_USE_TLS": security == "starttls",
        "EMAIL_USE_SSL": security == "tls",
        "EMAIL_TIMEOUT": _timeout(parts.query, refuse),
    }


def _timeout(query: str, refuse) -> float:
    parameters = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(parameters) - {"timeout"})
    if unknown:
        raise refuse(f"unknown parameter {unknown[0]!r}; only timeout=SECONDS is known")
    if "timeout" not in parameters:
        return DEFAULT_TIMEOUT
    try:
        timeout = float(parameters["timeout"])
    except ValueError:
        timeout = 0.0
    if not 0 < timeout < float("inf"):
        raise refuse("timeout must be a positive number of seconds")
    return timeout


def _redacted(url: str) -> str:
    """``url`` with its password hidden, fit for an error message or a log."""
    return _PASSWORD.sub(r"\1***@", url)
