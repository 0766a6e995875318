"""One HTTP attempt at a delivery: the body signed as Standard Webhooks says, sent to the
checked address (``targets``), redirects not followed, every wait bounded. No database
here: the worker calls ``send`` outside any transaction, in a thread of its own."""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from standardwebhooks import Webhook

from partnerdesk.core.exceptions import ApplicationError
from partnerdesk.webhooks.targets import webhook_target

USER_AGENT = "partnerdesk-webhooks/1"
RESPONSE_BODY_MAX = 2000  # characters of the receiver's answer kept with the attempt


@dataclass(frozen=True)
class Message:
    url: str
    secret: str
    msg_id: str  # webhook-id: the event's uid, the same on every try
    body: bytes


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    body: str
    error: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class PinnedAdapter(HTTPAdapter):
    """Connects to the address in the URL (the checked one) while TLS is spoken to the
    original host: SNI and the certificate's name are ``hostname``'s."""

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = self.hostname
            pool_kwargs["assert_hostname"] = self.hostname
        return host_params, pool_kwargs


def signed_headers(message: Message, at: datetime.datetime) -> dict[str, str]:
    return {
        "webhook-id": message.msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(message.secret).sign(message.msg_id, at, message.body),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


def _read_capped(response: requests.Response, deadline: float) -> str:
    """At most RESPONSE_BODY_MAX characters of the answer, read before ``deadline``."""
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= RESPONSE_BODY_MAX * 4 or time.monotonic() > deadline:
            break
    return b"".join(chunks).decode("utf-8", errors="replace")[:RESPONSE_BODY_MAX]


def send(message: Message) -> Answer:
    started = time.monotonic()

    def answer(status: int | None, body: str = "", error: str = "") -> Answer:
        took = int((time.monotonic() - started) * 1000)
        return Answer(status_code=status, body=body, error=error[:1000], duration_ms=took)

    try:
        target = webhook_target(message.url)  # again: the name may point elsewhere now
    except ApplicationError as refused:
        return answer(None, error=str(refused.detail))
    headers = signed_headers(message, datetime.datetime.now(datetime.UTC))
    headers["Host"] = target.host_header
    timeouts = (
        settings.PARTNERDESK_WEBHOOKS_CONNECT_TIMEOUT,
        settings.PARTNERDESK_WEBHOOKS_TIMEOUT,
    )
    deadline = started + sum(timeouts)
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: it would connect for us
        adapter = PinnedAdapter(target.host)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        try:
            with session.post(
                target.pinned_url,
                data=message.body,
                headers=headers,
                timeout=timeouts,
                allow_redirects=False,
                stream=True,
            ) as response:
                body = _read_capped(response, deadline)
                status = response.status_code
        except requests.Timeout as exc:
            return answer(None, error=f"timed out: {exc}")
        except requests.RequestException as exc:
            return answer(None, error=f"{type(exc).__name__}: {exc}")
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        return answer(status, body, error=f"redirect to {location!r} not followed")
    if not 200 <= status < 300:
        return answer(status, body, error=f"answered {status}")
    return answer(status, body)
