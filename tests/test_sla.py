"""First-response clocks: business hours of a calendar (time zone, working days, holidays,
daylight saving time), severity A around the clock, the pause while a request waits on the
partner, and the state a request's answer shows, with a frozen clock through the API."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from django.test import Client
from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st

# The URLconf (and the API's pydantic schemas) are built before any clock is frozen:
# freezegun's stand-in datetime class is not a type pydantic knows.
import partnerdesk.urls  # noqa: F401
from partnerdesk.accounts.models import User
from partnerdesk.benefits.models import Entitlement, LedgerEntry
from partnerdesk.support import sla
from partnerdesk.support.models import (
    BusinessCalendar,
    ContractLink,
    Holiday,
    SupportRequest,
    SupportTopic,
)
from partnerdesk.support.services import support_request_close
from tests.factories import (
    OTHER,
    CustomerFactory,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    product,
    token_for,
)

WARSAW = ZoneInfo("Europe/Warsaw")
UTC = datetime.UTC


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=WARSAW)


def warsaw(holidays=(), days="12345", opens=9, closes=17) -> sla.Hours:
    return sla.Hours(
        zone=WARSAW,
        days=frozenset(int(d) for d in days),
        opens=datetime.time(opens),
        closes=datetime.time(closes),
        holidays=frozenset(holidays),
    )


HOUR = 3600


# --- the arithmetic ----------------------------------------------------------------------


def test_the_weekend_does_not_count():
    # Friday 16:00: one hour left on Friday, the second on Monday morning.
    due = sla.business_add(local(2027, 3, 5, 16), 2 * HOUR, warsaw())
    assert due == local(2027, 3, 8, 10)
    assert sla.business_seconds(local(2027, 3, 5, 16), due, warsaw()) == 2 * HOUR


def test_a_holiday_does_not_count():
    monday = datetime.date(2027, 3, 8)
    due = sla.business_add(local(2027, 3, 5, 15), 4 * HOUR, warsaw(holidays=[monday]))
    assert due == local(2027, 3, 9, 11)  # Friday 15–17, then Tuesday 9–11
    assert (
        sla.business_seconds(local(2027, 3, 5, 12), local(2027, 3, 9, 12), warsaw([monday]))
        == (5 + 3) * HOUR
    )


def test_before_opening_and_after_closing_start_at_the_next_opening():
    hours = warsaw()
    assert sla.business_add(local(2027, 3, 9, 7), HOUR, hours) == local(2027, 3, 9, 10)
    assert sla.business_add(local(2027, 3, 9, 18), HOUR, hours) == local(2027, 3, 10, 10)
    assert sla.business_add(local(2027, 3, 9, 17), HOUR, hours) == local(2027, 3, 10, 10)
    # Saturday night counts nothing until Monday.
    assert sla.business_seconds(local(2027, 3, 6, 20), local(2027, 3, 8, 9), hours) == 0
    assert sla.business_seconds(local(2027, 3, 9, 12), local(2027, 3, 9, 11), hours) == 0


def test_local_hours_hold_across_the_end_of_summer_time():
    # Warsaw leaves summer time on Sunday 25 October 2026: Friday's 16:00 is 14:00 UTC,
    # Monday's 10:00 is 09:00 UTC; two business hours either way.
    due = sla.business_add(local(2026, 10, 23, 16), 2 * HOUR, warsaw())
    assert due == local(2026, 10, 26, 10)
    assert due.astimezone(UTC) == datetime.datetime(2026, 10, 26, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "real_hours"),
    [
        (datetime.date(2026, 10, 25), 5),  # 01:00–05:00 local, 03:00 happens twice
        (datetime.date(2026, 3, 29), 3),  # 02:00–03:00 local does not exist
        (datetime.date(2026, 10, 18), 4),
    ],
)
def test_a_working_day_across_a_clock_change_has_its_real_length(day, real_hours):
    night = warsaw(days="7", opens=1, closes=5)
    start = datetime.datetime.combine(day, datetime.time(0), tzinfo=WARSAW)
    end = start + datetime.timedelta(days=1)
    assert sla.business_seconds(start, end, night) == real_hours * HOUR
    assert sla.business_add(start, real_hours * HOUR, night) == datetime.datetime.combine(
        day, datetime.time(5), tzinfo=WARSAW
    )


def test_severity_a_runs_around_the_clock():
    saturday_night = local(2027, 3, 6, 23)
    clock = sla.clock_start("A", saturday_night, warsaw())
    assert clock.due == saturday_night + datetime.timedelta(hours=2)
    assert clock.warning_at == saturday_night + datetime.timedelta(minutes=90)
    # Across the switch to summer time: two real hours, whatever the wall clock says.
    night = local(2026, 3, 29, 1, 30)
    assert sla.clock_start("A", night, warsaw()).due.astimezone(UTC) == datetime.datetime(
        2026, 3, 29, 2, 30, tzinfo=UTC
    )


def test_severities_b_and_c_count_business_hours_with_a_warning_at_three_quarters():
    friday = local(2027, 3, 5, 15)
    b = sla.clock_start("B", friday, warsaw())
    assert (b.warning_at, b.due) == (local(2027, 3, 8, 10), local(2027, 3, 8, 11))
    c = sla.clock_start("C", friday, warsaw())
    assert (c.warning_at, c.due) == (local(2027, 3, 8, 13), local(2027, 3, 8, 15))


def test_a_calendar_without_a_working_day_says_so():
    with pytest.raises(sla.NoWorkingHours):
        sla.business_add(local(2027, 3, 5, 15), HOUR, warsaw(days=""))


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime.datetime(2026, 1, 1), max_value=datetime.datetime(2028, 1, 1)
    ),
    seconds=st.integers(min_value=1, max_value=40 * HOUR),
)
def test_adding_business_time_and_measuring_it_agree(start, seconds):
    hours = warsaw(holidays=[datetime.date(2026, 12, 25), datetime.date(2027, 1, 1)])
    start = start.replace(tzinfo=UTC)
    due = sla.business_add(start, seconds, hours)
    assert sla.business_seconds(start, due, hours) == pytest.approx(seconds)
    assert sla.business_seconds(start, due - datetime.timedelta(seconds=1), hours) < seconds


def test_the_pause_moves_the_clock_by_the_business_time_it_stood_still():
    hours = warsaw(holidays=[datetime.date(2027, 3, 8)])
    clock = sla.clock_start("B", local(2027, 3, 5, 15), hours)
    assert (clock.warning_at, clock.due) == (local(2027, 3, 9, 10), local(2027, 3, 9, 11))
    # Paused on Friday at 16:00 (two business hours left before the warning, three before
    # the due time), resumed on Tuesday at 9:30.
    moved = sla.clock_resume(
        severity="B",
        paused_at=local(2027, 3, 5, 16),
        resumed_at=local(2027, 3, 9, 9, 30),
        warning_at=clock.warning_at,
        due=clock.due,
        calendar_hours=hours,
    )
    assert (moved.warning_at, moved.due) == (local(2027, 3, 9, 11, 30), local(2027, 3, 9, 12, 30))
    # A pause over non-working time only moves nothing.
    still = sla.clock_resume(
        severity="B",
        paused_at=local(2027, 3, 5, 18),
        resumed_at=local(2027, 3, 9, 8),
        warning_at=clock.warning_at,
        due=clock.due,
        calendar_hours=hours,
    )
    assert still == clock
    # A warning time already passed when the clock paused stays where it was.
    late = sla.clock_resume(
        severity="B",
        paused_at=local(2027, 3, 9, 10, 30),
        resumed_at=local(2027, 3, 9, 14),
        warning_at=clock.warning_at,
        due=clock.due,
        calendar_hours=hours,
    )
    assert (late.warning_at, late.due) == (clock.warning_at, local(2027, 3, 9, 14, 30))


def test_the_state_comes_from_the_stored_times():
    due, warning = local(2027, 3, 9, 11), local(2027, 3, 9, 10)

    def state(now, **times):
        return sla.sla_state(
            due=times.get("due", due),
            warning_at=warning,
            responded_at=times.get("responded_at"),
            paused_at=times.get("paused_at"),
            closed_at=times.get("closed_at"),
            now=now,
        )

    assert state(local(2027, 3, 9, 9)) == "on_track"
    assert state(local(2027, 3, 9, 10)) == "warning"
    assert state(local(2027, 3, 9, 11)) == "breached"
    assert state(local(2027, 3, 10), responded_at=local(2027, 3, 9, 10, 59)) == "met"
    assert state(local(2027, 3, 10), responded_at=local(2027, 3, 9, 11, 1)) == "breached"
    assert state(local(2027, 3, 10), closed_at=local(2027, 3, 9, 9)) == "met"
    assert state(local(2027, 3, 20), paused_at=local(2027, 3, 9, 9)) == "paused"
    assert state(local(2027, 3, 20), paused_at=local(2027, 3, 9, 12)) == "breached"
    assert state(local(2027, 3, 9), due=None) is None


# --- through the API, with a frozen clock ------------------------------------------------


@pytest.fixture
def warsaw_partner():
    organization = OrganizationFactory(name="Fabrikam Polska")
    membership(organization, "gold", OTHER)
    activate(organization)
    calendar = BusinessCalendar.objects.create(
        name="Warszawa", time_zone="Europe/Warsaw", working_days="12345"
    )
    calendar.organizations.add(organization)
    Holiday.objects.create(calendar=calendar, date=datetime.date(2027, 3, 8), name="Święto")
    return organization


def api(user) -> Client:
    return Client(headers={"Authorization": f"Bearer {token_for(user)}"})


def request_state(client: Client, pk: int) -> dict:
    response = client.get(f"/api/v1/support-requests/{pk}")
    assert response.status_code == 200, response.content
    return response.json()


def open_b(client: Client, organization) -> dict:
    contract = Entitlement.objects.get(
        organization=organization, benefit__code="product_support", state="active"
    )
    response = client.post(
        "/api/v1/support-requests",
        {
            "product_id": product("SQL Server", "2022").pk,
            "severity": "moderate",
            "title": "Replication fails",
            "description": "The replica stays behind.",
            "contract_id": contract.contract_id,
            "access_id": contract.access_id,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_b_request_opened_on_friday_afternoon_is_due_after_the_holiday(warsaw_partner):
    user = UserFactory(organization=warsaw_partner)
    client = api(user)
    with freeze_time(local(2027, 3, 5, 15)):
        opened = open_b(client, warsaw_partner)
    assert opened["severity"] == "B"
    due = datetime.datetime.fromisoformat(opened["first_response_due"])
    assert due == local(2027, 3, 9, 11)  # Tuesday 11:00 in Warsaw: 10:00 UTC
    assert due.astimezone(UTC) == datetime.datetime(2027, 3, 9, 10, tzinfo=UTC)
    for moment, expected in [
        (local(2027, 3, 5, 16), "on_track"),
        (local(2027, 3, 8, 12), "on_track"),  # the holiday
        (local(2027, 3, 9, 9, 59), "on_track"),
        (local(2027, 3, 9, 10), "warning"),  # 75 %: three of the four business hours
        (local(2027, 3, 9, 11), "breached"),
    ]:
        with freeze_time(moment):
            assert request_state(client, opened["id"])["sla_state"] == expected, moment


def test_a_first_answer_in_time_meets_the_target(warsaw_partner):
    client = api(UserFactory(organization=warsaw_partner))
    engineer = UserFactory(organization=None, is_staff=True)
    with freeze_time(local(2027, 3, 5, 15)):
        opened = open_b(client, warsaw_partner)
    with freeze_time(local(2027, 3, 9, 10, 30)):
        support_request_close(engineer=engineer, request_id=opened["id"], resolution="solved")
    with freeze_time(local(2027, 3, 12)):
        assert request_state(client, opened["id"])["sla_state"] == "met"


def test_waiting_on_the_partner_pauses_the_clock(warsaw_partner):
    """The stored clock while the request waits on the partner: the answer says paused,
    and the resume moves the due time by the business time it stood still."""
    client = api(UserFactory(organization=warsaw_partner))
    with freeze_time(local(2027, 3, 5, 15)):
        opened = open_b(client, warsaw_partner)
    support_request = SupportRequest.objects.get(pk=opened["id"])
    paused_at, resumed_at = local(2027, 3, 5, 16), local(2027, 3, 9, 9, 30)
    SupportRequest.objects.filter(pk=support_request.pk).update(sla_paused_at=paused_at)
    with freeze_time(local(2027, 3, 10)):  # long past the first due time
        assert request_state(client, opened["id"])["sla_state"] == "paused"
    _calendar_id, hours = sla.calendars().for_organization(warsaw_partner.pk)
    clock = sla.clock_resume(
        severity=support_request.severity,
        paused_at=paused_at,
        resumed_at=resumed_at,
        warning_at=support_request.sla_warning_at,
        due=support_request.first_response_due,
        calendar_hours=hours,
    )
    SupportRequest.objects.filter(pk=support_request.pk).update(
        sla_paused_at=None, first_response_due=clock.due, sla_warning_at=clock.warning_at
    )
    with freeze_time(local(2027, 3, 9, 11, 29)):
        answer = request_state(client, opened["id"])
    assert datetime.datetime.fromisoformat(answer["first_response_due"]) == local(
        2027, 3, 9, 12, 30
    )
    assert answer["sla_state"] == "on_track"
    with freeze_time(local(2027, 3, 9, 11, 30)):
        assert request_state(client, opened["id"])["sla_state"] == "warning"
    with freeze_time(local(2027, 3, 9, 12, 30)):
        assert request_state(client, opened["id"])["sla_state"] == "breached"


def test_a_question_to_the_partner_moves_the_due_time_by_the_business_time_it_waited(
    warsaw_partner,
):
    """Through the conversation: the engineer asks on Friday at 16:00 (attention_needed),
    the partner answers on Tuesday at 9:30; the holiday and the weekend in between cost
    nothing, the hour left on Friday and the business time to 11:00 move on."""
    from partnerdesk.support.services import support_request_add_note

    partner = UserFactory(organization=warsaw_partner)
    client = api(partner)
    engineer = UserFactory(organization=None, is_staff=True)
    with freeze_time(local(2027, 3, 5, 15)):
        opened = open_b(client, warsaw_partner)
    with freeze_time(local(2027, 3, 5, 16)):
        support_request_add_note(
            author=engineer, request_id=opened["id"], body="Which build?", attention_needed=True
        )
    with freeze_time(local(2027, 3, 9, 9)):
        waiting = request_state(client, opened["id"])
    assert waiting["status"] == "attention_needed"
    with freeze_time(local(2027, 3, 9, 9, 30)):
        support_request_add_note(author=partner, request_id=opened["id"], body="Build 16.0.1")
    with freeze_time(local(2027, 3, 9, 9, 31)):
        answered = request_state(client, opened["id"])
    assert answered["status"] != "attention_needed"
    assert datetime.datetime.fromisoformat(answered["first_response_due"]) == local(
        2027, 3, 9, 12, 30
    )
    stored = SupportRequest.objects.get(pk=opened["id"])
    assert stored.sla_paused_at is None
    assert stored.sla_warning_at == local(2027, 3, 9, 11, 30)


# --- calendars in the admin --------------------------------------------------------------


@pytest.fixture
def operator(client):
    user = UserFactory(organization=None, is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def calendar_form(**values) -> dict:
    form = {
        "name": "Warszawa",
        "time_zone": "Europe/Warsaw",
        "working_days": ["1", "2", "3", "4", "5"],
        "opens_at": "09:00",
        "closes_at": "17:00",
        "holidays-TOTAL_FORMS": "1",
        "holidays-INITIAL_FORMS": "0",
        "holidays-MIN_NUM_FORMS": "0",
        "holidays-MAX_NUM_FORMS": "1000",
        "holidays-0-date": "2027-03-08",
        "holidays-0-name": "Święto",
    }
    return form | values


def test_an_operator_adds_a_calendar_and_new_requests_follow_it(client, operator):
    organization = OrganizationFactory()
    before = sla.calendars().for_organization(organization.pk)
    assert before[1].zone == ZoneInfo("UTC")  # the default calendar

    response = client.post(
        "/admin/support/businesscalendar/add/", calendar_form(organizations=[organization.pk])
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    calendar = BusinessCalendar.objects.get(name="Warszawa")
    assert calendar.working_days == "12345"
    assert list(calendar.holidays.values_list("date", flat=True)) == [datetime.date(2027, 3, 8)]
    # The snapshot heard of the calendar, its holiday and its organizations.
    calendar_id, hours = sla.calendars().for_organization(organization.pk)
    assert calendar_id == calendar.pk
    assert hours.zone == WARSAW and datetime.date(2027, 3, 8) in hours.holidays

    # Taking the organization off the calendar: back to the default, at once.
    calendar.organizations.remove(organization)
    assert sla.calendars().for_organization(organization.pk)[0] != calendar.pk
    calendar.organizations.add(organization)
    assert sla.calendars().for_organization(organization.pk)[0] == calendar.pk
    Holiday.objects.filter(calendar=calendar).delete()
    assert not sla.calendars().by_id[calendar.pk].holidays


@pytest.mark.parametrize(
    ("values", "field_message"),
    [
        ({"time_zone": "Europe/Atlantis"}, "Select a valid choice"),
        ({"working_days": []}, "This field is required"),
        ({"working_days": ["1", "8"]}, "Select a valid choice"),
        ({"opens_at": "17:00", "closes_at": "09:00"}, "must close after it opens"),
    ],
)
def test_the_admin_refuses_a_calendar_that_cannot_work(client, operator, values, field_message):
    response = client.post("/admin/support/businesscalendar/add/", calendar_form(**values))
    assert response.status_code == 200
    assert field_message in response.content.decode()
    assert not BusinessCalendar.objects.filter(name="Warszawa").exists()


def test_the_model_checks_what_the_database_stores():
    from django.core.exceptions import ValidationError

    calendar = BusinessCalendar(name="x", time_zone="Mars/Olympus", working_days="1135")
    with pytest.raises(ValidationError) as refused:
        calendar.full_clean()
    assert {"time_zone", "working_days"} <= set(refused.value.message_dict)
    calendar = BusinessCalendar(name="y", time_zone="Asia/Tokyo", working_days="67")
    calendar.full_clean()  # a weekend calendar is a calendar


def test_there_is_always_exactly_one_default_calendar(client, operator):
    default = BusinessCalendar.objects.get(is_default=True)
    # Unticking the default alone would leave none.
    response = client.post(
        f"/admin/support/businesscalendar/{default.pk}/change/",
        calendar_form(
            name=default.name,
            time_zone="UTC",
            **{"holidays-TOTAL_FORMS": "0"},
        ),
    )
    assert response.status_code == 200
    assert "One calendar must be the default" in response.content.decode()
    # Making another the default takes the mark from the first.
    response = client.post("/admin/support/businesscalendar/add/", calendar_form(is_default="on"))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(
        BusinessCalendar.objects.filter(is_default=True).values_list("name", flat=True)
    ) == ["Warszawa"]
    assert sla.calendars().default[1].zone == WARSAW
    # The default cannot be deleted.
    warszawa = BusinessCalendar.objects.get(name="Warszawa")
    response = client.post(
        f"/admin/support/businesscalendar/{warszawa.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    assert BusinessCalendar.objects.filter(pk=warszawa.pk).exists()


def test_an_organization_follows_one_calendar(client, operator, warsaw_partner):
    response = client.post(
        "/admin/support/businesscalendar/add/",
        calendar_form(name="Kraków", organizations=[warsaw_partner.pk]),
    )
    assert response.status_code == 200
    assert "Already on another calendar: Fabrikam Polska (Warszawa)" in response.content.decode()


def test_the_admin_lists_calendars_and_topics(client, operator):
    for model in ("businesscalendar", "supporttopic"):
        assert client.get(f"/admin/support/{model}/").status_code == 200
    default = BusinessCalendar.objects.get(is_default=True)
    page = client.get(f"/admin/support/businesscalendar/{default.pk}/change/").content.decode()
    assert "A change applies to requests opened afterwards" in page


# --- warning and breach notices ----------------------------------------------------------


@pytest.fixture
def engineers():
    return [
        UserFactory(organization=None, is_staff=True, email="anna@support.example", language="pl"),
        UserFactory(organization=None, is_staff=True, email="boris@support.example", language="ru"),
        UserFactory(
            organization=None, is_staff=True, is_active=False, email="gone@support.example"
        ),
    ]


def clock_notices(pk: int) -> list[tuple[str, str]]:
    from partnerdesk.notices.models import RequestNotice

    return sorted(
        RequestNotice.objects.filter(
            support_request_id=pk, kind__in=["sla_warning", "sla_breach"]
        ).values_list("kind", "recipient__email")
    )


def run_clock_job(now, django_capture_on_commit_callbacks) -> int:
    from partnerdesk.notices.clock import clock_notices_send_due

    with django_capture_on_commit_callbacks(execute=True):
        return clock_notices_send_due(now=now)


def test_the_clock_warns_then_announces_the_breach_once_by_e_mail(
    warsaw_partner, engineers, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    client = api(UserFactory(organization=warsaw_partner))
    with freeze_time(local(2027, 3, 5, 15)):
        opened = open_b(client, warsaw_partner)
    pk = opened["id"]

    assert run_clock_job(local(2027, 3, 9, 9, 59), django_capture_on_commit_callbacks) == 0
    assert clock_notices(pk) == []

    # 75 %: every active engineer (nobody picked it up), once however often it runs.
    active = set(User.objects.filter(is_staff=True, is_active=True).values_list("email", flat=True))
    assert {"anna@support.example", "boris@support.example"} <= active
    assert "gone@support.example" not in active
    mailoutbox.clear()
    assert run_clock_job(local(2027, 3, 9, 10), django_capture_on_commit_callbacks) == len(active)
    assert run_clock_job(local(2027, 3, 9, 10, 5), django_capture_on_commit_callbacks) == 0
    assert clock_notices(pk) == sorted(("sla_warning", email) for email in active)
    mails = {m.to[0]: m for m in mailoutbox}
    assert set(mails) == active
    assert f"#{pk}" in mails["anna@support.example"].subject
    assert f"/staff/requests/{pk}/" in mails["boris@support.example"].body

    # Picked up before it is due: the breach goes to the assigned engineer only.
    SupportRequest.objects.filter(pk=pk).update(assigned_to=engineers[1], status="in_progress")
    mailoutbox.clear()
    assert run_clock_job(local(2027, 3, 9, 11), django_capture_on_commit_callbacks) == 1
    assert run_clock_job(local(2027, 3, 9, 12), django_capture_on_commit_callbacks) == 0
    assert ("sla_breach", "boris@support.example") in clock_notices(pk)
    assert [m.to for m in mailoutbox] == [["boris@support.example"]]


def test_no_notice_for_an_answered_or_waiting_request(
    warsaw_partner, engineers, django_capture_on_commit_callbacks
):
    client = api(UserFactory(organization=warsaw_partner))
    with freeze_time(local(2027, 3, 5, 15)):
        answered = open_b(client, warsaw_partner)
        waiting = open_b(client, warsaw_partner)
        closed = open_b(client, warsaw_partner)
    SupportRequest.objects.filter(pk=answered["id"]).update(
        first_responded_at=local(2027, 3, 5, 15, 30)
    )
    SupportRequest.objects.filter(pk=waiting["id"]).update(
        sla_paused_at=local(2027, 3, 5, 15, 30), status="attention_needed"
    )
    support_request_close(engineer=engineers[0], request_id=closed["id"], resolution="solved")

    assert run_clock_job(local(2027, 3, 12), django_capture_on_commit_callbacks) == 0
    for opened in (answered, waiting, closed):
        assert clock_notices(opened["id"]) == []


def test_a_request_found_already_overdue_gets_the_breach_notice_only(
    warsaw_partner, engineers, django_capture_on_commit_callbacks
):
    client = api(UserFactory(organization=warsaw_partner))
    with freeze_time(local(2027, 3, 5, 15)):
        opened = open_b(client, warsaw_partner)
    staff = User.objects.filter(is_staff=True, is_active=True).count()
    assert run_clock_job(local(2027, 3, 10), django_capture_on_commit_callbacks) == staff
    assert {kind for kind, _ in clock_notices(opened["id"])} == {"sla_breach"}


def test_the_clock_job_is_a_periodic_job(settings):
    assert "partnerdesk.notices.clock.clock_notices_send_due" in settings.PARTNERDESK_PERIODIC_JOBS


# --- topics and Partner Center's severity names, over HTTP -------------------------------


class Http:
    def __init__(self, base: str, user):
        self.base = base + "/api/v1"
        self.headers = {"Authorization": f"Bearer {token_for(user)}"}

    def get(self, path):
        return requests.get(self.base + path, headers=self.headers, timeout=10)

    def post(self, path, json):
        return requests.post(self.base + path, json=json, headers=self.headers, timeout=10)


def topic(family: str, code: str) -> SupportTopic:
    return SupportTopic.objects.get(family=family, code=code)


def stored() -> tuple:
    return SupportRequest.objects.count(), LedgerEntry.objects.count(), ContractLink.objects.count()


@pytest.fixture
def contoso_api(live_server):
    organization = OrganizationFactory(name="Contoso", in_csp=True)
    membership(organization, "gold", OTHER)
    activate(organization)
    user = UserFactory(organization=organization, is_admin_agent=True)
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    return Http(live_server.url, user), contract, organization


def body(contract, **extra) -> dict:
    return {
        "product_id": product("SQL Server", "2022").pk,
        "severity": "C",
        "title": "Slow queries",
        "description": "Since the CU the plan changed.",
        "contract_id": contract.contract_id,
        "access_id": contract.access_id,
    } | extra


@pytest.mark.parametrize(
    ("given", "letter"),
    [("critical", "A"), ("CRITICAL", "A"), ("Moderate", "B"), ("minimal", "C"), ("b", "B")],
)
def test_partner_centers_severity_names_are_accepted_and_answered_as_letters(
    contoso_api, given, letter
):
    client, contract, _organization = contoso_api
    response = client.post("/support-requests", body(contract, severity=given))
    assert response.status_code == 201, response.text
    assert response.json()["severity"] == letter
    assert SupportRequest.objects.get(pk=response.json()["id"]).severity == letter


@pytest.mark.parametrize("given", ["urgent", "D", " A", "critical!", ""])
def test_other_severities_are_refused(contoso_api, given):
    client, contract, _organization = contoso_api
    before = stored()
    response = client.post("/support-requests", body(contract, severity=given))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert [e["path"] for e in response.json()["errors"]] == ["severity"]
    assert stored() == before


def test_the_openapi_document_names_the_six_severities(live_server):
    schema = requests.get(live_server.url + "/api/v1/openapi.json", timeout=10).json()
    severity = schema["components"]["schemas"]["SupportRequestIn"]["properties"]["severity"]
    assert severity["examples"] == ["A", "B", "C", "critical", "moderate", "minimal"]
    assert "critical" in severity["description"]


def test_a_topic_of_the_products_family_is_stored_and_shown(contoso_api):
    client, contract, _organization = contoso_api
    chosen = topic("SQL Server", "database_engine")
    response = client.post("/support-requests", body(contract, topic_id=chosen.pk))
    assert response.status_code == 201, response.text
    assert (response.json()["topic_id"], response.json()["topic"]) == (
        chosen.pk,
        "Database engine and queries",
    )
    detail = client.get(f"/support-requests/{response.json()['id']}").json()
    assert detail["topic"] == "Database engine and queries"


def test_a_topic_of_another_family_or_none_at_all_is_refused(contoso_api):
    client, contract, _organization = contoso_api
    before = stored()
    response = client.post(
        "/support-requests", body(contract, topic_id=topic("Windows Server", "hyper_v").pk)
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert [e["path"] for e in response.json()["errors"]] == ["topic_id"]
    assert "SQL Server" in response.json()["errors"][0]["message"]

    response = client.post("/support-requests", body(contract, topic_id=987654))
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"
    assert [e["path"] for e in response.json()["errors"]] == ["topic_id"]
    assert stored() == before


def test_a_csp_request_takes_a_topic_of_its_workload(contoso_api):
    client, _contract, organization = contoso_api
    customer = CustomerFactory(organization=organization)
    csp = {
        "customer_id": customer.pk,
        "workload": "azure",
        "severity": "minimal",
        "title": "VM does not start",
        "description": "Since this morning.",
    }
    before = stored()
    wrong = client.post(
        "/support-requests", csp | {"topic_id": topic("SQL Server", "reporting").pk}
    )
    assert wrong.status_code == 422, wrong.text
    assert [e["path"] for e in wrong.json()["errors"]] == ["topic_id"]
    assert stored() == before
    right = client.post(
        "/support-requests", csp | {"topic_id": topic("Azure", "virtual_machines").pk}
    )
    assert right.status_code == 201, right.text
    assert right.json()["topic"] == "Virtual machines"


# --- the portal: the clock on the request page, topics on the form, the report ------------


def test_both_sides_see_the_topic_and_the_first_response_due_with_the_time_left(
    client, warsaw_partner
):
    from django.utils import timezone

    partner = UserFactory(organization=warsaw_partner)
    engineer = UserFactory(organization=None, is_staff=True)
    opened = open_b(api(partner), warsaw_partner)
    now = timezone.now()
    due = now + datetime.timedelta(hours=1, minutes=20, seconds=50)
    SupportRequest.objects.filter(pk=opened["id"]).update(
        topic=topic("SQL Server", "high_availability"),
        first_response_due=due,
        sla_warning_at=now - datetime.timedelta(minutes=1),
    )
    for user, url in [
        (partner, f"/support/requests/{opened['id']}/"),
        (engineer, f"/staff/requests/{opened['id']}/"),
    ]:
        client.force_login(user)
        page = client.get(url).content.decode()
        assert "Always On, backup and restore" in page
        assert "in 1 hour 20 minutes" in page
        assert 'class="badge badge-sla-warning">Due soon</span>' in page
        assert "(Europe/Warsaw)" in page
        assert due.astimezone(WARSAW).strftime("%H:%M") in page

    SupportRequest.objects.filter(pk=opened["id"]).update(
        first_response_due=now - datetime.timedelta(minutes=35, seconds=10)
    )
    page = client.get(f"/staff/requests/{opened['id']}/").content.decode()
    assert "overdue by 35 minutes" in page
    assert ">Overdue</span>" in page


@pytest.mark.parametrize(
    ("seconds", "english"),
    [
        (59, "in 1 minute"),
        (3600 + 20 * 60 + 59, "in 1 hour 20 minutes"),
        (2 * 3600, "in 2 hours"),
        (-(35 * 60 + 10), "overdue by 35 minutes"),
        (-(3 * 86400 + 5 * 3600), "overdue by 3 days 5 hours"),
    ],
)
def test_the_time_left_in_words(seconds, english):
    from django.utils import translation

    from partnerdesk.web.templatetags.sla_clock import time_left

    with translation.override("en"):
        assert time_left(seconds) == english
    with translation.override("ru"):
        assert time_left(21 * 60) == "через 21 минуту"
        assert time_left(-5 * 3600) == "просрочено на 5 часов"
    with translation.override("pl"):
        assert time_left(22 * 60) == "za 22 minuty"
        assert time_left(-3600) == "po terminie o 1 godzinę"


def test_the_topic_select_follows_the_product(client, warsaw_partner):
    """The plan picker's htmx answer brings the product family's topics along, out of
    band."""
    client.force_login(UserFactory(organization=warsaw_partner))
    plans = "/support/requests/new/plans/"
    sql = client.get(plans, {"product": product("SQL Server", "2022").pk}).content.decode()
    assert '<div id="topic-field" hx-swap-oob="true">' in sql
    assert "Database engine and queries" in sql and "Virtual machines" not in sql
    azure = client.get(plans, {"product": product("Azure").pk}).content.decode()
    assert "Virtual machines" in azure and "Database engine" not in azure
    nothing = client.get(plans, {"product": "nonsense"})
    assert nothing.status_code == 200
    assert "Database engine" not in nothing.content.decode()
    page = client.get("/support/requests/new/").content.decode()
    assert '<div id="topic-field">' in page


def test_the_new_request_form_stores_the_topic(client, warsaw_partner):
    user = UserFactory(organization=warsaw_partner)
    client.force_login(user)
    contract = Entitlement.objects.get(
        organization=warsaw_partner, benefit__code="product_support", state="active"
    )
    chosen = topic("SQL Server", "reporting")
    form = {
        "product": product("SQL Server", "2022").pk,
        "topic": chosen.pk,
        "contract": contract.pk,
        "severity": "critical",
        "title": "Reports fail",
        "description": "SSRS returns 500.",
        "access_id": contract.access_id,
        "contract_id": contract.contract_id,
    }
    refused = client.post("/support/requests/new/", form | {"severity": "B", "topic": 999999})
    assert refused.status_code == 200
    assert not SupportRequest.objects.exists()
    response = client.post("/support/requests/new/", form | {"severity": "B"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert SupportRequest.objects.get().topic == chosen


def test_a_csp_customers_request_form_offers_the_workloads_topics(client):
    organization = OrganizationFactory(in_mpn=False, in_csp=True)
    customer = CustomerFactory(organization=organization)
    client.force_login(UserFactory(organization=organization, is_admin_agent=True))
    url = f"/csp/customers/{customer.pk}/requests/new/"
    page = client.get(url, {"workload": "azure"}).content.decode()
    assert "Virtual machines" in page and "Microsoft Teams" not in page
    response = client.post(
        url,
        {
            "workload": "azure",
            "topic": topic("Azure", "storage").pk,
            "severity": "C",
            "title": "Blob access",
            "description": "403 on every read.",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert SupportRequest.objects.get(customer=customer).topic.code == "storage"


def test_the_sla_report_counts_per_month_and_severity(client, warsaw_partner):
    from django.utils import timezone

    from partnerdesk.support.sla_report import first_month, sla_attainment

    engineer = UserFactory(organization=None, is_staff=True)
    client.force_login(engineer)
    partner = api(UserFactory(organization=warsaw_partner))
    now = timezone.now()
    this_month = first_month(now, 1)
    last_month = first_month(now, 2)
    hour = datetime.timedelta(hours=1)

    def made(created, severity, *, due, responded=None, paused=None):
        pk = open_b(partner, warsaw_partner)["id"]
        SupportRequest.objects.filter(pk=pk).update(
            created_at=created,
            severity=severity,
            first_response_due=due,
            first_responded_at=responded,
            sla_paused_at=paused,
        )

    start = last_month + 2 * hour
    made(start, "B", due=start + hour, responded=start + hour / 2)  # met
    made(start, "B", due=start + hour, responded=start + 2 * hour)  # answered late
    made(start, "B", due=start + hour)  # never answered: breached
    made(start, "A", due=start + hour, paused=start + hour / 2)  # waiting: not decided
    made(this_month + hour, "C", due=now + 5 * hour)  # still running
    made(this_month - 400 * 24 * hour, "C", due=start)  # more than a year ago: left out

    rows = {(r.month, r.severity): r for r in sla_attainment(now=now)}
    b = rows[(last_month.date(), "B")]
    assert (b.total, b.met, b.breached, b.pending, round(b.percent, 1)) == (3, 1, 2, 0, 33.3)
    a = rows[(last_month.date(), "A")]
    assert (a.total, a.met, a.breached, a.pending, a.percent) == (1, 0, 0, 1, None)
    c = rows[(this_month.date(), "C")]
    assert (c.total, c.pending) == (1, 1)
    assert len(rows) == 3

    page = client.get("/staff/sla/").content.decode()
    assert "33.3&nbsp;%" in page
    assert "1 of 3 on time" in page
    assert client.get("/staff/requests/").content.decode().count('href="/staff/sla/"') == 1


def test_the_api_lists_the_topics_of_a_products_family(contoso_api):
    client, _contract, _organization = contoso_api
    everything = client.get("/support-topics")
    assert everything.status_code == 200
    families = {item["family"] for item in everything.json()["items"]}
    assert {"SQL Server", "Azure", "Windows Server"} <= families
    sql = client.get(f"/support-topics?product_id={product('SQL Server', '2022').pk}").json()
    assert {item["family"] for item in sql["items"]} == {"SQL Server"}
    assert sql["items"][0] == {
        "id": topic("SQL Server", "database_engine").pk,
        "family": "SQL Server",
        "code": "database_engine",
        "name": "Database engine and queries",
    }
    polish = requests.get(
        client.base + "/support-topics?product_id=" + str(product("Azure").pk),
        headers={**client.headers, "Accept-Language": "pl"},
        timeout=10,
    ).json()
    assert polish["items"][0]["name"] == "Maszyny wirtualne"
    missing = client.get("/support-topics?product_id=987654")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_a_calendar_written_around_the_admin_still_lets_requests_open(warsaw_partner):
    BusinessCalendar.objects.filter(name="Warszawa").update(
        time_zone="Mars/Olympus", working_days=""
    )
    sla.calendars_forget()
    _calendar_id, hours = sla.calendars().for_organization(warsaw_partner.pk)
    assert hours.zone == ZoneInfo("UTC")
    opened_at = local(2027, 3, 5, 15)
    assert sla.clock_start("C", opened_at, hours).due == opened_at + datetime.timedelta(hours=8)


def test_a_calendar_change_applies_to_requests_opened_afterwards(warsaw_partner):
    client = api(UserFactory(organization=warsaw_partner))
    with freeze_time(local(2027, 3, 5, 15)):
        before = open_b(client, warsaw_partner)
    calendar = BusinessCalendar.objects.get(name="Warszawa")
    calendar.opens_at, calendar.closes_at = datetime.time(8), datetime.time(20)
    calendar.save()
    with freeze_time(local(2027, 3, 5, 15)):
        after = open_b(client, warsaw_partner)
    # Before: Friday 15–17, then Tuesday 9–11. After: Friday 15–19 is the whole target.
    assert datetime.datetime.fromisoformat(before["first_response_due"]) == local(2027, 3, 9, 11)
    assert datetime.datetime.fromisoformat(after["first_response_due"]) == local(2027, 3, 5, 19)
    reread = request_state(client, before["id"])
    assert datetime.datetime.fromisoformat(reread["first_response_due"]) == local(2027, 3, 9, 11)


def test_two_workers_at_once_tell_each_engineer_once(transactional_db, settings, mailoutbox):
    """The job in two threads (two workers) at the same moment: one notice per engineer
    and one e-mail each, whoever wins each request."""
    import threading

    from django.db import connection

    from partnerdesk.notices.clock import clock_notices_send_due
    from partnerdesk.notices.models import RequestNotice

    organization = OrganizationFactory()
    membership(organization, "gold", OTHER)
    activate(organization)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    UserFactory(organization=None, is_staff=True, email="anna@support.example")
    partner = UserFactory(organization=organization)
    client = api(partner)
    with freeze_time(local(2027, 3, 5, 15)):
        ids = [open_b(client, organization)["id"] for _ in range(4)]
    staff = User.objects.filter(is_staff=True, is_active=True).count()
    start = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def worker():
        try:
            start.wait()
            clock_notices_send_due(now=local(2027, 3, 12))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert RequestNotice.objects.filter(kind="sla_breach").count() == staff * len(ids)
    assert len(mailoutbox) == staff * len(ids)
    assert len({(m.to[0], m.subject) for m in mailoutbox}) == staff * len(ids)
