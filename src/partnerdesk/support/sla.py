"""First-response clocks: severity A has 2 hours around the clock, B 4 and C 8 business
hours of the request's calendar (time zone, working days and hours, holidays).

The clock is worked out when it starts (the request is opened) and when it resumes (the
partner answered a question that paused it): the request stores when it is due and when
it is due soon (75 % of the way), so a read knows the state from stored times alone
(``sla_state``), and a list can sort and filter by them in the database."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models.signals import m2m_changed

from partnerdesk.core.snapshot import Snapshot
from partnerdesk.support.models import BusinessCalendar, Holiday, Severity, SlaState

UTC = datetime.UTC
logger = logging.getLogger("partnerdesk.sla")
WARNING_SHARE = 0.75
# A calendar with no working hour at all would never reach the due time: past this many
# days ahead the search stops and says so.
HORIZON_DAYS = 3660


class NoWorkingHours(ValueError):
    pass


@dataclass(frozen=True)
class Hours:
    """A calendar as plain data: what the clock arithmetic needs, and nothing else."""

    zone: ZoneInfo
    days: frozenset[int]  # ISO weekdays, Monday 1 … Sunday 7
    opens: datetime.time
    closes: datetime.time
    holidays: frozenset[datetime.date]
    always: bool = False  # 24×7: wall-clock time

    @classmethod
    def around_the_clock(cls) -> Hours:
        return cls(
            UTC_ZONE, frozenset(range(1, 8)), datetime.time(0), datetime.time(0), frozenset(), True
        )

    def working(self, day: datetime.date) -> bool:
        return day.isoweekday() in self.days and day not in self.holidays

    def window(self, day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
        """The day's working hours, as UTC instants (so DST days have their real length)."""
        opens = datetime.datetime.combine(day, self.opens, tzinfo=self.zone)
        closes = datetime.datetime.combine(day, self.closes, tzinfo=self.zone)
        return opens.astimezone(UTC), closes.astimezone(UTC)


UTC_ZONE = ZoneInfo("UTC")


def _zone(name: str) -> ZoneInfo:
    # The admin accepts IANA names only (BusinessCalendar.clean); a calendar written
    # around it must not stop requests from being opened: its hours count as UTC.
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("business calendar: unknown time zone %r, counted as UTC", name)
        return UTC_ZONE


def hours_of(calendar: BusinessCalendar, holidays: list[datetime.date] | None = None) -> Hours:
    if holidays is None:
        holidays = list(calendar.holidays.values_list("date", flat=True))
    return Hours(
        zone=_zone(calendar.time_zone),
        days=frozenset(int(d) for d in calendar.working_days if d.isdigit()),
        opens=calendar.opens_at,
        closes=calendar.closes_at,
        holidays=frozenset(holidays),
    )


def business_add(start: datetime.datetime, seconds: float, hours: Hours) -> datetime.datetime:
    """The instant ``seconds`` of working time after ``start``."""
    start = start.astimezone(UTC)
    if hours.always:
        return start + datetime.timedelta(seconds=seconds)
    if not hours.days or hours.opens >= hours.closes:
        raise NoWorkingHours("the calendar has no working hours")
    remaining = seconds
    day = start.astimezone(hours.zone).date()
    for _ in range(HORIZON_DAYS):
        if hours.working(day):
            opens, closes = hours.window(day)
            begin = max(start, opens)
            if begin < closes:
                available = (closes - begin).total_seconds()
                if remaining <= available:
                    return begin + datetime.timedelta(seconds=remaining)
                remaining -= available
        day += datetime.timedelta(days=1)
    raise NoWorkingHours("the calendar has no working hours in the next ten years")


def business_seconds(start: datetime.datetime, end: datetime.datetime, hours: Hours) -> float:
    """Working time between two instants (0 when ``end`` is not after ``start``)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return 0.0
    if hours.always:
        return (end - start).total_seconds()
    total = 0.0
    day = start.astimezone(hours.zone).date()
    last = end.astimezone(hours.zone).date()
    while day <= last:
        if hours.working(day):
            opens, closes = hours.window(day)
            begin, finish = max(start, opens), min(end, closes)
            if begin < finish:
                total += (finish - begin).total_seconds()
        day += datetime.timedelta(days=1)
    return total


@dataclass(frozen=True)
class Clock:
    warning_at: datetime.datetime
    due: datetime.datetime


def target_seconds(severity: str) -> int:
    return Severity.first_response_hours()[Severity(severity)] * 3600


def hours_for(severity: str, calendar_hours: Hours) -> Hours:
    if severity in Severity.around_the_clock():
        return Hours.around_the_clock()
    if not calendar_hours.always and (
        not calendar_hours.days or calendar_hours.opens >= calendar_hours.closes
    ):
        # A calendar written around the admin's checks: a request is opened all the
        # same, its clock running around the clock rather than never.
        return Hours.around_the_clock()
    return calendar_hours


def clock_start(severity: str, opened_at: datetime.datetime, calendar_hours: Hours) -> Clock:
    hours = hours_for(severity, calendar_hours)
    target = target_seconds(severity)
    return Clock(
        warning_at=business_add(opened_at, target * WARNING_SHARE, hours),
        due=business_add(opened_at, target, hours),
    )


def clock_resume(
    *,
    severity: str,
    paused_at: datetime.datetime,
    resumed_at: datetime.datetime,
    warning_at: datetime.datetime,
    due: datetime.datetime,
    calendar_hours: Hours,
) -> Clock:
    """The clock moved on by the time it stood still: what was left at the pause is left
    at the resume. A time already passed when the clock paused stays where it was."""
    hours = hours_for(severity, calendar_hours)

    def moved(instant: datetime.datetime) -> datetime.datetime:
        if instant <= paused_at:
            return instant
        return business_add(resumed_at, business_seconds(paused_at, instant, hours), hours)

    return Clock(warning_at=moved(warning_at), due=moved(due))


def sla_state(
    *,
    due: datetime.datetime | None,
    warning_at: datetime.datetime | None,
    responded_at: datetime.datetime | None,
    paused_at: datetime.datetime | None,
    closed_at: datetime.datetime | None,
    now: datetime.datetime,
) -> SlaState | None:
    """Where the first response stands, from the stored times alone (None: no clock)."""
    if due is None:
        return None
    answered = responded_at or closed_at
    if answered is not None:
        return SlaState.MET if answered <= due else SlaState.BREACHED
    if paused_at is not None:
        return SlaState.PAUSED if paused_at < due else SlaState.BREACHED
    if now >= due:
        return SlaState.BREACHED
    if warning_at is not None and now >= warning_at:
        return SlaState.WARNING
    return SlaState.ON_TRACK


# ``sla_state``'s arguments and the request fields they are stored in.
_STORED = {
    "due": "first_response_due",
    "warning_at": "sla_warning_at",
    "responded_at": "first_responded_at",
    "paused_at": "sla_paused_at",
    "closed_at": "closed_at",
}


def sla_state_of(values: Mapping, now: datetime.datetime) -> SlaState | None:
    """``sla_state`` of a request's stored values (a list's row)."""
    return sla_state(**{arg: values.get(field) for arg, field in _STORED.items()}, now=now)


def request_sla_state(support_request, now: datetime.datetime) -> SlaState | None:
    """``sla_state`` of a request instance (attribute access, so a deferred field is
    loaded rather than read as missing)."""
    return sla_state(
        **{arg: getattr(support_request, field) for arg, field in _STORED.items()}, now=now
    )


# The calendars, per process (``core.snapshot``): opening a request needs its clock
# without a query for the calendar and its holidays.
@dataclass(frozen=True)
class Calendars:
    default: tuple[int, Hours] | None
    by_id: dict[int, Hours]
    by_organization: dict[int, int]

    def for_organization(self, organization_id: int) -> tuple[int | None, Hours]:
        calendar_id = self.by_organization.get(organization_id)
        if calendar_id is not None:
            return calendar_id, self.by_id[calendar_id]
        if self.default is not None:
            return self.default
        # No calendar at all (an operator deleted the default): Monday to Friday, 9–17 UTC.
        return None, Hours(
            UTC_ZONE, frozenset(range(1, 6)), datetime.time(9), datetime.time(17), frozenset()
        )


def _load() -> Calendars:
    holidays: dict[int, list[datetime.date]] = {}
    for calendar_id, date in Holiday.objects.values_list("calendar_id", "date"):
        holidays.setdefault(calendar_id, []).append(date)
    by_id, default = {}, None
    for calendar in BusinessCalendar.objects.all():
        by_id[calendar.pk] = hours_of(calendar, holidays.get(calendar.pk, []))
        if calendar.is_default:
            default = (calendar.pk, by_id[calendar.pk])
    through = BusinessCalendar.organizations.through
    by_organization = dict(through.objects.values_list("organization_id", "businesscalendar_id"))
    return Calendars(default=default, by_id=by_id, by_organization=by_organization)


_snapshot = Snapshot("calendars", _load, models=[BusinessCalendar, Holiday])
m2m_changed.connect(
    lambda **kwargs: _snapshot._changed(**kwargs),
    sender=BusinessCalendar.organizations.through,
    weak=False,
)


def calendars() -> Calendars:
    return _snapshot.get()


def calendars_forget() -> None:
    _snapshot.clear()
