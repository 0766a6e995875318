"""E-mail configured by EMAIL_URL: the URL's forms and its mistakes (a clear error at
start-up), and a real SMTP server (aiosmtpd, in a thread of the test) that receives the
activation e-mail in each recipient's language over STARTTLS with a password, and test
messages over implicit TLS and plain SMTP."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
import time
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from django.core.exceptions import ImproperlyConfigured

from partnerdesk.benefits.activation import activation_request
from partnerdesk.benefits.models import Entitlement, EntitlementState
from partnerdesk.core.email_url import email_settings
from tests.factories import OTHER, OrganizationFactory, UserFactory, membership
from tests.helpers import console_script, free_port

SMTP = "django.core.mail.backends.smtp.EmailBackend"
USER, PASSWORD = "partnerdesk@mail.example", "s3cret/with:odd@chars"
QUOTED_USER, QUOTED_PASSWORD = "partnerdesk%40mail.example", "s3cret%2Fwith%3Aodd%40chars"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"smtp+tls://{QUOTED_USER}:{QUOTED_PASSWORD}@mail.example",
            {"EMAIL_HOST": "mail.example", "EMAIL_PORT": 587, "EMAIL_USE_TLS": True,
             "EMAIL_USE_SSL": False, "EMAIL_HOST_USER": USER, "EMAIL_HOST_PASSWORD": PASSWORD},
        ),
        (
            "smtp+ssl://u:p@mail.example:2465?timeout=3",
            {"EMAIL_PORT": 2465, "EMAIL_USE_TLS": False, "EMAIL_USE_SSL": True,
             "EMAIL_TIMEOUT": 3.0},
        ),
        ("smtp+ssl://mail.example", {"EMAIL_PORT": 465, "EMAIL_HOST_USER": ""}),
        (
            "smtp://127.0.0.1",
            {"EMAIL_PORT": 25, "EMAIL_USE_TLS": False, "EMAIL_USE_SSL": False,
             "EMAIL_TIMEOUT": 10.0},
        ),
        ("SMTP://relay:2525/", {"EMAIL_HOST": "relay", "EMAIL_PORT": 2525}),
    ],
)  # fmt: skip
def test_an_smtp_url_gives_django_its_settings(url, expected):
    config = email_settings(url)
    assert config["EMAIL_BACKEND"] == SMTP
    assert {k: config[k] for k in expected} == expected


def test_console_prints():
    assert email_settings("console:") == {
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"
    }


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("smtps://u:secret@mail.example", "unknown scheme 'smtps'"),
        ("mailto:ann@contoso.example", "unknown scheme 'mailto'"),
        ("mail.example:587", "unknown scheme"),
        ("smtp://u:secret@mail.example:submission", "not a usable URL"),
        ("smtp://mail.example:70000", "not a usable URL"),
        ("smtp+tls://", "no host"),
        ("smtp://u@mail.example", "both a user name and a password"),
        ("smtp://:secret@mail.example", "both a user name and a password"),
        ("smtp://mail.example/inbox", "no path"),
        ("smtp://mail.example?tls=true", "unknown parameter 'tls'"),
        ("smtp://mail.example?timeout=0", "timeout must be a positive number"),
        ("smtp://mail.example?timeout=soon", "timeout must be a positive number"),
        ("console://mail.example", "console: takes no host"),
    ],
)
def test_a_url_that_cannot_be_used_is_refused_naming_the_variable(url, reason):
    with pytest.raises(ImproperlyConfigured) as refused:
        email_settings(url)
    message = str(refused.value)
    assert message.startswith("EMAIL_URL: ") and reason in message
    assert "secret" not in message


def test_a_bad_url_stops_the_process_at_start_up():
    done = console_script("check", EMAIL_URL="smtp+tls://ann:secret@mail.example:tls")
    assert done.returncode != 0
    assert "ImproperlyConfigured: EMAIL_URL: not a usable URL" in done.stderr
    assert "secret" not in done.stderr


def test_email_url_and_a_backend_class_at_once_is_an_error():
    done = console_script(
        "check",
        EMAIL_URL="console:",
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
    )
    assert done.returncode != 0
    assert "EMAIL_URL and DJANGO_EMAIL_BACKEND are both set" in done.stderr


# --- a real SMTP server -----------------------------------------------------------------


class Mailbox:
    """What the server accepted: each message with how it came (TLS, signed-in user)."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.original_content, policy=default)
        with self.arrived:
            self.messages.append(
                {
                    "to": envelope.rcpt_tos,
                    "subject": str(message["Subject"]).strip(),
                    "body": message.get_body(("plain",)).get_content(),
                    "html": (message.get_body(("html",)) or message).get_content(),
                    "tls": session.ssl is not None,
                    "user": session.auth_data.login.decode() if session.authenticated else None,
                }
            )
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, *, within: float) -> list[dict]:
        deadline = time.monotonic() + within
        with self.arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"{len(self.messages)} of {count} e-mails arrived in {within} s")
                self.arrived.wait(left)
            return list(self.messages)


def password_check(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (USER, PASSWORD)
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1; the worker trusts it through SSL_CERT_FILE."""
    if not shutil.which("openssl"):
        pytest.skip("the openssl command makes the test server's certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def smtp_server(mailbox: Mailbox, **options) -> Controller:
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller


@pytest.fixture
def starttls_server(certificate):
    """STARTTLS required before anything, and a password (only over TLS) to send."""
    mailbox = Mailbox()
    controller = smtp_server(
        mailbox,
        tls_context=server_tls(certificate),
        require_starttls=True,
        authenticator=password_check,
        auth_required=True,
        auth_require_tls=True,
    )
    yield controller, mailbox
    controller.stop()


def test_the_activation_email_arrives_over_starttls_in_each_recipients_language(
    transactional_db, settings, starttls_server, certificate
):
    controller, mailbox = starttls_server
    settings.PARTNERDESK_ACTIVATION_DELAY = 0
    partner = OrganizationFactory(name="Contoso", contact_email="pawel@contoso.example")
    membership(partner, "silver", OTHER)
    UserFactory(organization=partner, email="pawel@contoso.example", language="pl")
    admin = UserFactory(
        organization=partner, email="olga@contoso.example", language="ru", is_global_admin=True
    )
    entitlement = Entitlement.objects.get(organization=partner, benefit__code="product_support")
    activation_request(user=admin, entitlement_id=entitlement.pk)

    done = console_script(
        "worker",
        "--once",
        EMAIL_URL=f"smtp+tls://{QUOTED_USER}:{QUOTED_PASSWORD}@127.0.0.1:{controller.port}",
        SSL_CERT_FILE=str(certificate[0]),
    )

    assert done.returncode == 0, done.stderr
    entitlement.refresh_from_db()
    assert entitlement.state == EntitlementState.ACTIVE
    by_recipient = {m["to"][0]: m for m in mailbox.wait_for(2, within=10)}
    assert set(by_recipient) == {"pawel@contoso.example", "olga@contoso.example"}
    polish, russian = by_recipient["pawel@contoso.example"], by_recipient["olga@contoso.example"]
    assert (
        polish["subject"].startswith("Korzyść")
        and "jest aktywna dla organizacji Contoso" in (polish["subject"])
    )
    assert "Identyfikator umowy" in polish["body"] and entitlement.contract_id in polish["body"]
    assert russian["subject"].startswith("Преимущество") and "активировано" in russian["subject"]
    assert "Идентификатор контракта" in russian["body"]
    assert entitlement.contract_id in russian["body"] and entitlement.access_id in russian["body"]
    assert {(m["tls"], m["user"]) for m in mailbox.messages} == {(True, USER)}


def test_a_wrong_password_is_refused_by_the_server_and_nothing_is_sent(
    starttls_server, certificate
):
    controller, mailbox = starttls_server
    done = console_script(
        "sendtestemail",
        "ann@contoso.example",
        EMAIL_URL=f"smtp+tls://{QUOTED_USER}:wrong@127.0.0.1:{controller.port}",
        SSL_CERT_FILE=str(certificate[0]),
    )
    assert done.returncode != 0
    assert "SMTPAuthenticationError" in done.stderr
    assert mailbox.messages == []


def test_a_certificate_the_worker_does_not_trust_is_refused(starttls_server):
    controller, mailbox = starttls_server
    done = console_script(
        "sendtestemail",
        "ann@contoso.example",
        EMAIL_URL=f"smtp+tls://{QUOTED_USER}:{QUOTED_PASSWORD}@127.0.0.1:{controller.port}",
    )
    assert done.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in done.stderr
    assert mailbox.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_with_a_password(certificate):
    mailbox = Mailbox()
    controller = smtp_server(
        mailbox,
        ssl_context=server_tls(certificate),
        authenticator=password_check,
        auth_required=True,
        # The connection is TLS from the first byte; aiosmtpd only knows STARTTLS as TLS.
        auth_require_tls=False,
    )
    try:
        done = console_script(
            "sendtestemail",
            "ann@contoso.example",
            EMAIL_URL=f"smtp+ssl://{QUOTED_USER}:{QUOTED_PASSWORD}@127.0.0.1:{controller.port}",
            SSL_CERT_FILE=str(certificate[0]),
        )
        assert done.returncode == 0, done.stderr
        [message] = mailbox.wait_for(1, within=10)
    finally:
        controller.stop()
    assert message["to"] == ["ann@contoso.example"] and message["user"] == USER


def test_plain_smtp_to_a_local_relay():
    mailbox = Mailbox()
    controller = smtp_server(mailbox)
    try:
        done = console_script(
            "sendtestemail",
            "ann@contoso.example",
            EMAIL_URL=f"smtp://127.0.0.1:{controller.port}?timeout=5",
        )
        assert done.returncode == 0, done.stderr
        [message] = mailbox.wait_for(1, within=10)
    finally:
        controller.stop()
    assert (message["to"], message["tls"], message["user"]) == (
        ["ann@contoso.example"],
        False,
        None,
    )
