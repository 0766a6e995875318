"""Files on support requests: uploaded over HTTP (API multipart and the portal's forms),
allowed by what they hold, limited per file and per request, stored through Django's
storage API, served only to who may see the request and only ever as downloads."""

from __future__ import annotations

import codecs
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from partnerdesk.benefits.models import Entitlement
from partnerdesk.support import attachments
from partnerdesk.support.models import Attachment, RequestNote
from partnerdesk.support.services import support_request_close
from tests.factories import (
    OTHER,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    open_request,
    token_for,
)
from tests.helpers import ServerProcess

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
LOG = b"2026-12-02 04:00:01 ERROR Replication stopped: 0x80004005\n" * 20
PAGES_IN_DISGUISE = {
    "html-as-png": ("screenshot.png", "image/png", b"<html><body><script>alert(1)</script>"),
    "svg-as-jpg": (
        "photo.jpg",
        "image/jpeg",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    ),
    "xml-svg-as-png": (
        "chart.png",
        "image/png",
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>',
    ),
    "doctype-after-bom-and-space": (
        "report.png",
        "image/png",
        codecs.BOM_UTF8 + b" \r\n\t <!DOCTYPE HTML><p>hi",
    ),
    "utf16-html": ("log.txt", "text/plain", codecs.BOM_UTF16_LE + "<HTML>x".encode("utf-16-le")),
    "script-later-in-the-first-kib": (
        "trace.log",
        "text/plain",
        b"line one\n" * 50 + b"<ScRiPt>fetch('/api/v1/me')</script>",
    ),
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


@pytest.fixture
def contoso():
    organization = OrganizationFactory(name="Contoso")
    membership(organization, "gold", OTHER)
    activate(organization)
    return organization


@pytest.fixture
def partner(contoso):
    return UserFactory(organization=contoso, email="eve@contoso.example", name="Eve Adams")


@pytest.fixture
def engineer():
    return UserFactory(organization=None, is_staff=True, email="sam@vendor.example", name="Sam")


@pytest.fixture
def support_request(partner, contoso):
    contract = Entitlement.objects.get(organization=contoso, benefit__code="product_support")
    return open_request(partner, contract, title="Replication fails")


class Api:
    def __init__(self, base: str, user):
        self.base = base + "/api/v1"
        self.headers = {"Authorization": f"Bearer {token_for(user)}"}

    def upload(self, request_id: int, name: str, data: bytes, content_type="text/plain"):
        return requests.post(
            f"{self.base}/support-requests/{request_id}/attachments",
            files={"file": (name, data, content_type)},
            headers=self.headers,
            timeout=30,
        )

    def get(self, path: str):
        return requests.get(self.base + path, headers=self.headers, timeout=30)


def assert_download_only(answer: requests.Response, name: str) -> None:
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert answer.headers["Cache-Control"] == "private, no-store"


def test_a_log_goes_up_and_comes_back_as_a_download(live_server, partner, support_request, media):
    api = Api(live_server.url, partner)
    name = "журнал ошибок (1).log"
    answer = api.upload(support_request.pk, f"C:\\Users\\eve\\{name}", LOG, "image/png")
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created == {
        "id": created["id"],
        "name": name,
        "size": len(LOG),
        "content_type": "text/plain; charset=utf-8",
        "url": f"/api/v1/support-requests/{support_request.pk}/attachments/{created['id']}",
    }
    row = Attachment.objects.get(pk=created["id"])
    assert row.sha256 == hashlib.sha256(LOG).hexdigest()
    assert row.uploaded_by == partner
    # Stored under a random name, through the storage, never under the uploader's name.
    assert "журнал" not in row.file.name and row.file.name.startswith("attachments/")
    assert [p.read_bytes() for p in stored_files(media)] == [LOG]

    detail = api.get(f"/support-requests/{support_request.pk}").json()
    assert detail["attachments"] == [created]
    download = requests.get(live_server.url + created["url"], headers=api.headers, timeout=30)
    assert download.status_code == 200
    assert download.content == LOG
    assert download.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert_download_only(download, name)


@pytest.mark.parametrize("case", PAGES_IN_DISGUISE)
def test_pages_disguised_as_images_or_logs_are_refused(
    live_server, partner, support_request, media, case
):
    name, content_type, data = PAGES_IN_DISGUISE[case]
    answer = Api(live_server.url, partner).upload(support_request.pk, name, data, content_type)
    assert answer.status_code == 415, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["code"] == "attachment_type_not_allowed"
    assert name in problem["detail"]
    assert not Attachment.objects.exists()
    assert stored_files(media) == []


def test_a_polyglot_png_is_only_ever_a_download(live_server, partner, support_request):
    api = Api(live_server.url, partner)
    polyglot = PNG + b"<html><script>alert(document.cookie)</script></html>"
    answer = api.upload(support_request.pk, "pixel.html", polyglot, "text/html")
    assert answer.status_code == 201, answer.text
    assert answer.json()["content_type"] == "image/png"
    download = requests.get(live_server.url + answer.json()["url"], headers=api.headers, timeout=9)
    assert download.headers["Content-Type"] == "image/png"
    assert download.content == polyglot
    assert_download_only(download, "pixel.html")


@pytest.mark.parametrize(
    "data, expected",
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"GIF89a\x01\x00\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
        (b"PK\x03\x04\x14\x00\x00\x00", "application/zip"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "application/gzip"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "application/x-7z-compressed"),
        (b"MSCF\x00\x00\x00\x00\x10\x00", "application/vnd.ms-cab-compressed"),
        (b"ElfFile\x00" + b"\x00" * 24, "application/x-ms-evtx"),
        (
            (65536).to_bytes(4, "little") + b"\x00" * 0x47 + b"\xc0" + b"\x00" * 8,
            "application/x-ms-etl",
        ),
        (b'  {"log": {"version": "1.2", "entries": []}}', "application/json; charset=utf-8"),
        (
            codecs.BOM_UTF16_LE + "Event 7034: service stopped".encode("utf-16-le"),
            "text/plain; charset=utf-16",
        ),
    ],
)
def test_the_allowed_types_by_content(partner, support_request, data, expected):
    upload = SimpleUploadedFile("anything.bin", data, content_type="application/octet-stream")
    added = attachments.attachment_add(user=partner, request_id=support_request.pk, upload=upload)
    assert added.content_type == expected


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00\x03\x00\x00\x00",  # a Windows executable
        b"\x7fELF\x02\x01\x01\x00",
        b"plain text until a NUL\x00 byte",
        b"\xfe\xfd\xfc not text at all \x80\x81",
    ],
)
def test_anything_else_is_refused(partner, support_request, media, data):
    upload = SimpleUploadedFile("setup.log", data, content_type="text/plain")
    with pytest.raises(attachments.AttachmentTypeNotAllowed, match=r"setup\.log"):
        attachments.attachment_add(user=partner, request_id=support_request.pk, upload=upload)
    assert not Attachment.objects.exists()
    assert stored_files(media) == []


def test_an_empty_file_is_422(live_server, partner, support_request):
    answer = Api(live_server.url, partner).upload(support_request.pk, "empty.log", b"")
    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_error"
    assert answer.json()["errors"][0]["path"] == "file"
    assert not Attachment.objects.exists()


def test_a_malformed_multipart_body_is_a_problem(live_server, partner, support_request):
    api = Api(live_server.url, partner)
    url = f"{api.base}/support-requests/{support_request.pk}/attachments"
    no_boundary = requests.post(
        url, data=b"x", headers={**api.headers, "Content-Type": "multipart/form-data"}, timeout=9
    )
    assert no_boundary.status_code == 415
    assert no_boundary.json()["code"] == "unsupported_media_type"
    broken = requests.post(
        url,
        data=b"--b\r\nContent-Disposition: form-data; name=file; filename=a.log\r\n",
        headers={**api.headers, "Content-Type": "multipart/form-data; boundary=b"},
        timeout=9,
    )
    assert broken.status_code in {400, 422}
    assert broken.headers["Content-Type"].startswith("application/problem+json")
    assert not Attachment.objects.exists()


def test_a_file_over_the_limit_is_413_and_nothing_is_stored(
    live_server, settings, partner, support_request, media
):
    settings.PARTNERDESK_ATTACHMENT_MAX_BYTES = 2 * 1024 * 1024
    api = Api(live_server.url, partner)
    # Past the JSON body limit (512 KiB) and within the attachment limit: accepted here.
    big = b"x" * 1_500_000 + b"\n"
    assert api.upload(support_request.pk, "big.log", big).status_code == 201
    Attachment.objects.all().delete()
    for path in stored_files(media):
        path.unlink()

    too_big = b"y" * (2 * 1024 * 1024 + 1)  # read by the server: within the body's room
    answer = api.upload(support_request.pk, "too-big.log", too_big)
    assert answer.status_code == 413, answer.text
    assert answer.json()["code"] == "payload_too_large"
    assert "too-big.log" in answer.json()["detail"] and "2.0" in answer.json()["detail"]
    assert not Attachment.objects.exists()
    assert stored_files(media) == []

    far_too_big = b"z" * (3 * 1024 * 1024)  # refused by its Content-Length, unread
    answer = api.upload(support_request.pk, "far-too-big.log", far_too_big)
    assert answer.status_code == 413
    assert answer.json()["code"] == "payload_too_large"
    assert "2.0" in answer.json()["detail"]
    assert not Attachment.objects.exists()
    assert stored_files(media) == []

    # Everything else keeps the JSON body limit.
    notes = requests.post(
        f"{api.base}/support-requests/{support_request.pk}/notes",
        data=b'{"body": "' + b"a" * 600_000 + b'"}',
        headers={**api.headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert notes.status_code == 413


def test_the_production_server_takes_files_past_the_json_limit(
    transactional_db, tmp_path, partner, support_request
):
    """gunicorn (`partnerdesk serve`) puts no limit of its own on a body: ours apply."""
    served = tmp_path / "served-media"
    server = ServerProcess(
        PARTNERDESK_MEDIA_ROOT=str(served), PARTNERDESK_ATTACHMENT_MAX_BYTES=str(2 * 1024 * 1024)
    )
    try:
        api = Api(server.url, partner)
        big = LOG * 1500  # 1.7 MB
        answer = api.upload(support_request.pk, "cluster.log", big)
        assert answer.status_code == 201, answer.text
        download = requests.get(server.url + answer.json()["url"], headers=api.headers, timeout=30)
        assert download.content == big
        assert_download_only(download, "cluster.log")
        assert [p.read_bytes() == big for p in stored_files(served)] == [True]
        too_big = api.upload(support_request.pk, "core.log", b"c" * (3 * 1024 * 1024))
        assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large"
        assert len(stored_files(served)) == 1
    finally:
        server.stop()


def test_a_request_full_of_files_takes_no_more(
    live_server, settings, partner, support_request, media
):
    settings.PARTNERDESK_REQUEST_ATTACHMENTS_MAX_BYTES = 3000
    api = Api(live_server.url, partner)
    assert api.upload(support_request.pk, "one.log", b"1" * 2000).status_code == 201
    answer = api.upload(support_request.pk, "two.log", b"2" * 1001)
    assert answer.status_code == 413
    assert answer.json()["code"] == "payload_too_large"
    assert "two.log" in answer.json()["detail"]
    assert list(Attachment.objects.values_list("name", flat=True)) == ["one.log"]
    assert len(stored_files(media)) == 1
    assert api.upload(support_request.pk, "three.log", b"3" * 1000).status_code == 201


def test_two_uploads_at_once_cannot_both_take_the_last_room(
    live_server, settings, partner, support_request, media
):
    settings.PARTNERDESK_REQUEST_ATTACHMENTS_MAX_BYTES = 3000
    api = Api(live_server.url, partner)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(
                lambda n: api.upload(support_request.pk, f"{n}.log", str(n).encode() * 1400),
                range(4),
            )
        )
    assert sorted(a.status_code for a in answers) == [201, 201, 413, 413]
    assert attachments.request_attachments_size(support_request.pk) == 2800
    assert len(stored_files(media)) == 2


def test_the_upload_handler_stops_writing_past_the_limit(settings, tmp_path):
    from django.test import RequestFactory

    settings.PARTNERDESK_ATTACHMENT_MAX_BYTES = 10_000
    request = RequestFactory().post(
        "/support/requests/1/attachments/",
        {"files": SimpleUploadedFile("big.log", b"x" * 500_000)},
    )
    upload = request.FILES["files"]
    assert upload.size == 500_000  # counted in full, so refused by size
    assert Path(upload.temporary_file_path()).stat().st_size == 10_001  # not written in full


def test_another_organization_gets_404(live_server, support_request, media):
    outsider = UserFactory(organization=OrganizationFactory(name="Fabrikam"))
    owner_api = Api(live_server.url, support_request.opened_by)
    created = owner_api.upload(support_request.pk, "a.log", LOG).json()
    api = Api(live_server.url, outsider)
    answer = api.upload(support_request.pk, "b.log", LOG)
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    answer = requests.get(live_server.url + created["url"], headers=api.headers, timeout=9)
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert Attachment.objects.count() == 1 and len(stored_files(media)) == 1


def test_files_of_an_internal_note_are_for_engineers_only(
    live_server, partner, engineer, support_request
):
    note = RequestNote.objects.create(
        support_request=support_request, author=engineer, body="dump", internal=True
    )
    hidden = attachments.attachment_add(
        user=engineer,
        request_id=support_request.pk,
        upload=SimpleUploadedFile("memory.log", b"internal analysis\n"),
        note=note,
    )
    shown = attachments.attachment_add(
        user=partner,
        request_id=support_request.pk,
        upload=SimpleUploadedFile("setup.log", b"setup ran\n"),
    )
    partner_api, engineer_api = Api(live_server.url, partner), Api(live_server.url, engineer)
    path = f"/support-requests/{support_request.pk}"
    assert [a["id"] for a in partner_api.get(path).json()["attachments"]] == [shown.pk]
    assert [a["id"] for a in engineer_api.get(path).json()["attachments"]] == [hidden.pk, shown.pk]
    assert partner_api.get(f"{path}/attachments/{hidden.pk}").status_code == 404
    assert engineer_api.get(f"{path}/attachments/{hidden.pk}").content == b"internal analysis\n"

    client = Client()
    client.force_login(partner)
    page = client.get(reverse("web:request_detail", args=[support_request.pk])).content.decode()
    assert "setup.log" in page and "memory.log" not in page
    url = reverse("web:request_attachment", args=[support_request.pk, hidden.pk])
    assert client.get(url).status_code == 404


def test_a_finished_request_takes_no_files(live_server, partner, engineer, support_request):
    support_request_close(engineer=engineer, request_id=support_request.pk, resolution="solved")
    answer = Api(live_server.url, partner).upload(support_request.pk, "late.log", LOG)
    assert answer.status_code == 409
    assert answer.json()["code"] == "request_finished"
    assert not Attachment.objects.exists()


def test_engineers_upload_to_every_request(live_server, engineer, support_request):
    answer = Api(live_server.url, engineer).upload(support_request.pk, "fix.log", LOG)
    assert answer.status_code == 201


def test_the_portal_session_needs_its_csrf_token(partner, support_request):
    client = Client(enforce_csrf_checks=True)
    client.force_login(partner)
    url = f"/api/v1/support-requests/{support_request.pk}/attachments"
    refused = client.post(url, {"file": SimpleUploadedFile("a.log", LOG)})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    page = client.get(reverse("web:request_detail", args=[support_request.pk]))
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else None
    token = token or client.cookies["csrftoken"].value
    accepted = client.post(url, {"file": SimpleUploadedFile("a.log", LOG)}, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201, accepted.content


def test_the_portal_lists_uploads_and_explains_refusals(
    settings, partner, engineer, support_request, media
):
    client = Client()
    client.force_login(partner)
    add = reverse("web:request_attachments_add", args=[support_request.pk])
    page_url = reverse("web:request_detail", args=[support_request.pk])
    answer = client.post(
        add,
        {"files": [SimpleUploadedFile("a.log", LOG), SimpleUploadedFile("b.png", PNG)]},
        follow=True,
    )
    assert answer.redirect_chain[-1][0] == page_url + "#attachments"
    page = answer.content.decode()
    assert "2 files added." in page and "a.log" in page and "b.png" in page
    assert len(stored_files(media)) == 2

    # All or none: the good file before the disguised page is not kept either.
    answer = client.post(
        add,
        {
            "files": [
                SimpleUploadedFile("c.log", LOG),
                SimpleUploadedFile("d.png", b"<html><script>x</script>", content_type="image/png"),
            ]
        },
        follow=True,
    )
    assert "d.png looks like a web page" in answer.content.decode()
    assert sorted(Attachment.objects.values_list("name", flat=True)) == ["a.log", "b.png"]
    assert len(stored_files(media)) == 2

    settings.PARTNERDESK_ATTACHMENT_MAX_BYTES = 1000
    answer = client.post(add, {"files": [SimpleUploadedFile("huge.log", b"h" * 1001)]}, follow=True)
    assert "huge.log is larger than 1000" in answer.content.decode()
    assert not Attachment.objects.filter(name="huge.log").exists()
    assert len(stored_files(media)) == 2

    first = Attachment.objects.get(name="a.log")
    download = client.get(reverse("web:request_attachment", args=[support_request.pk, first.pk]))
    assert b"".join(download.streaming_content) == LOG
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == "default-src 'none'; sandbox"

    # The console's request page lists them for the engineer, and takes their uploads.
    client.force_login(engineer)
    answer = client.post(add, {"files": [SimpleUploadedFile("e.log", LOG)]}, follow=True)
    assert answer.redirect_chain[-1][0].startswith(
        reverse("web:staff_request", args=[support_request.pk])
    )
    assert "e.log" in answer.content.decode() and "a.log" in answer.content.decode()


def test_any_storage_backend_by_settings(live_server, settings, partner, support_request, media):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    api = Api(live_server.url, partner)
    created = api.upload(support_request.pk, "in-memory.log", LOG).json()
    assert stored_files(media) == []
    download = requests.get(live_server.url + created["url"], headers=api.headers, timeout=9)
    assert download.content == LOG


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\eve\\Desktop\\trace.etl", "trace.etl"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),  # no right-to-left override
        ("line\r\nbreak\x00.log", "linebreak.log"),
        ("..", "attachment"),
        ("a" * 300 + ".log", "a" * 196 + ".log"),
    ],
)
def test_the_shown_name_is_cleaned(raw, shown):
    assert attachments.display_name(raw) == shown


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "ru", "pl"])
def test_a_partner_attaches_a_log_on_the_request_page(
    browser, live_server, tmp_path, partner, engineer, support_request, language
):
    from django.utils import translation
    from playwright.sync_api import expect

    from tests.browser import LOCALES, screenshot, sign_in, t

    attachments.attachment_add(
        user=engineer,
        request_id=support_request.pk,
        upload=SimpleUploadedFile("repro-steps.png", PNG),
    )
    log = tmp_path / "setup-2026-12-02.log"
    log.write_bytes(LOG)
    context = browser.new_context(locale=LOCALES[language], viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live_server.url, partner.email)
        page.goto(f"{live_server.url}/support/requests/{support_request.pk}/")
        section = page.locator("#attachments")
        expect(section.get_by_role("heading", level=2)).to_have_text(t(language, "Files"))
        expect(section.get_by_label(t(language, "Add files"))).to_be_visible()
        with translation.override(language):
            rules = f"{attachments.allowed_types_text()} {attachments.limits_text()}"
        expect(section.locator("#attachment-files-help")).to_have_text(rules)
        section.get_by_label(t(language, "Add files")).set_input_files(str(log))
        section.get_by_role("button", name=t(language, "Upload")).click()
        rows = page.locator("#attachments-table tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(1)).to_contain_text("setup-2026-12-02.log")
        expect(rows.nth(1)).to_contain_text(partner.get_full_name())
        link = rows.nth(1).get_by_role("link", name="setup-2026-12-02.log")
        with page.expect_download() as download:
            link.click()
        assert download.value.suggested_filename == "setup-2026-12-02.log"
        assert Path(download.value.path()).read_bytes() == LOG
        screenshot(page, "request-files", language)
        page.set_viewport_size({"width": 390, "height": 844})
        expect(rows).to_have_count(2)
        screenshot(page, "request-files-phone", language)
    finally:
        context.close()
