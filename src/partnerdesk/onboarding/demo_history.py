"""The demo's past: about fourteen months of memberships, activations, support requests,
refunds and expiries, replayed through the real services (and so through the ledger), so
that the charts tell a year and ``partnerdesk reconcile`` finds nothing to say.

Why a clock that goes back: every service stamps what it writes with
``django.utils.timezone.now()`` (and ``auto_now_add`` fields do too), and the ledger's
entries are append-only (database triggers) with their time inside their hash, so a past
cannot be written afterwards by updating rows. Giving the services a past "now" while
they run is the only way to have them write that past themselves, with every rule and
check they apply. The clock is a demo tool, not an application feature:

- it refuses to run unless ``demo_replay_allowed()`` is on, which only the ``demo-data``
  command turns on (tests go through that command);
- it runs on the main thread only, never nested, and restores ``timezone.now`` in a
  ``finally``: the replay is single-threaded and nothing else runs in that process;
- it runs in autocommit (refused inside a transaction), and while it runs background
  tasks go to the dummy task backend and e-mail to the dummy e-mail backend, so nobody
  is told about the past: the activations it asks for are completed by the replay
  itself, and the notices the periodic job sends afterwards are about today.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

_allowed = False
_running = False

DUMMY_TASKS = {
    "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}
}
DUMMY_EMAIL = "django.core.mail.backends.dummy.EmailBackend"

# How far back the demo's story starts (the import of its partners), in days.
HISTORY_DAYS = 425


class DemoClockRefused(RuntimeError):
    pass


@contextmanager
def demo_replay_allowed() -> Iterator[None]:
    """Only the ``demo-data`` command calls this."""
    global _allowed
    _allowed = True
    try:
        yield
    finally:
        _allowed = False


class DemoClock:
    """``now()`` is the moment last set plus the real time elapsed since, so time still
    moves forward inside one step (entries keep their order) and never runs backwards
    from one step to the next (steps are replayed in order)."""

    def __init__(self, real: Callable[[], datetime.datetime]):
        self._real = real
        self._offset = datetime.timedelta(0)
        self._last: datetime.datetime | None = None

    def set(self, at: datetime.datetime) -> None:
        if self._last is not None and at < self._last:
            at = self._last + datetime.timedelta(seconds=1)
        self._offset = at - self._real()

    def now(self) -> datetime.datetime:
        value = self._real() + self._offset
        self._last = value
        return value


@contextmanager
def demo_clock() -> Iterator[DemoClock]:
    global _running
    if not _allowed:
        raise DemoClockRefused("The demo clock runs only inside `partnerdesk demo-data`.")
    if _running or threading.current_thread() is not threading.main_thread():
        raise DemoClockRefused("The demo clock runs once at a time, on the main thread.")
    if transaction.get_connection().in_atomic_block:
        # In autocommit every service's transaction commits before the clock moves on,
        # so what it queued on commit goes to the dummy backends below; inside an outer
        # transaction it would be queued for real, after the replay.
        raise DemoClockRefused("The demo clock runs in autocommit, not inside a transaction.")
    real = timezone.now
    clock = DemoClock(real)
    _running = True
    timezone.now = clock.now
    try:
        with override_settings(TASKS=DUMMY_TASKS, EMAIL_BACKEND=DUMMY_EMAIL):
            yield clock
    finally:
        timezone.now = real
        _running = False


@dataclass(frozen=True)
class Step:
    days_ago: int
    hour: int
    action: Callable[[], object]


def at(today: datetime.date, days_ago: int, hour: int) -> datetime.datetime:
    day = today - datetime.timedelta(days=days_ago)
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC)


# Who activates and uses what, and when (days before today): (partner ID, benefit code,
# the user who acts, activation day, request days, refunds: {request day: how}).
STORY = [
    (
        "4711003",
        "product_support",
        "gus@tailspin.example",
        420,
        [410, 380, 330, 290, 240, 200, 150, 100, 70],
        {330: "withdrawn", 200: "product_bug"},
    ),
    (
        "4711001",
        "product_support",
        "ann@contoso.example",
        335,
        [320, 300, 270, 245, 215, 185, 160, 130, 100, 75, 45, 20, 8],
        {245: "product_bug", 100: "withdrawn"},
    ),
    ("4711004", "product_support", "hana@wideworld.example", 300, [280, 210, 140, 90, 30], {}),
    (
        "4711001",
        "cloud_support",
        "ben@contoso.example",
        260,
        [250, 190, 120, 60, 15],
        {120: "duplicate"},
    ),
    ("4711003", "cloud_support", "gus@tailspin.example", 200, [180, 90], {}),
    (
        "4711005",
        "product_support",
        "ivan@adventure-works.example",
        160,
        [150, 110, 40],
        {110: "withdrawn"},
    ),
]
PLAN = ("4711004", "premier_support", "hana@wideworld.example", 240, [230, 160, 50, 10], {})

# Products asked about, in turn: the first one supported on the day is chosen.
ON_PREMISES = [
    ("SQL Server", "Log shipping restore job fails after patching"),
    ("Windows Server", "Event 1014 floods the System log"),
    ("Exchange Server", "Mail stuck in the submission queue"),
    ("SharePoint Server", "Search crawl stops at 99 %"),
]
CLOUD = [
    ("Azure", "Virtual machine scale set does not scale in"),
    ("Microsoft 365", "Mailbox migration batch stalls"),
    ("Microsoft Intune", "Compliance policy stays pending"),
]


def history_replay(*, data: dict, operator, today: datetime.date) -> int:
    """Replay the demo's past; returns how many steps ran. Call on an empty database
    (the command checks), inside ``demo_replay_allowed()``."""
    from partnerdesk.benefits.services import entitlements_refresh_due
    from partnerdesk.onboarding.reader import DataSource
    from partnerdesk.onboarding.services import partners_import

    steps = [Step(HISTORY_DAYS, 9, lambda: partners_import(source=DataSource(data)))]
    for story in [*STORY, PLAN]:
        steps += _story_steps(story, operator, today)
    steps.sort(key=lambda s: (-s.days_ago, s.hour))
    with demo_clock() as clock:
        previous_day = None
        for step in steps:
            clock.set(at(today, step.days_ago, step.hour))
            if step.days_ago != previous_day and previous_day is not None:
                # The periodic job's daily work: expiries and lapses, on their day.
                entitlements_refresh_due()
            previous_day = step.days_ago
            step.action()
    entitlements_refresh_due()
    _past_read()
    return len(steps)


def _past_read() -> None:
    """What the demo's people were told about requests that are over they have read, as
    they would have by now: their inbox shows what is new."""
    from partnerdesk.accounts.models import User
    from partnerdesk.notices.models import RequestNotice
    from partnerdesk.notices.services import request_notices_mark_read

    unread = RequestNotice.objects.filter(
        support_request__closed_at__isnull=False, read_at__isnull=True
    ).values_list("recipient_id", "support_request_id")
    users = User.objects.in_bulk({user_id for user_id, _ in unread})
    for user_id, request_id in set(unread):
        request_notices_mark_read(user=users[user_id], request_id=request_id)


def _story_steps(story, operator, today: datetime.date) -> list[Step]:
    partner_id, code, email, activated, request_days, refunds = story
    opened: dict[int, int] = {}

    def entitlement():
        from partnerdesk.benefits.models import CURRENT_STATES, Entitlement

        return Entitlement.objects.get(
            organization__partner_id=partner_id, benefit__code=code, state__in=CURRENT_STATES
        )

    def user():
        from partnerdesk.accounts.models import User

        return User.objects.get(email=email)

    def activate():
        from partnerdesk.benefits.activation import activation_request

        activation_request(user=user(), entitlement_id=entitlement().pk)

    def complete():
        from partnerdesk.benefits.activation import activation_complete
        from partnerdesk.benefits.models import Activation, ActivationState

        pending = Activation.objects.get(entitlement=entitlement(), state=ActivationState.PENDING)
        activation_complete(activation_id=pending.pk, operator=operator)

    def grant_plan():
        from partnerdesk.benefits.models import Benefit
        from partnerdesk.benefits.plans import plan_grant
        from partnerdesk.partners.models import Organization

        starts = today - datetime.timedelta(days=activated)
        plan_grant(
            operator=operator,
            organization=Organization.objects.get(partner_id=partner_id),
            plan=Benefit.objects.get(code=code),
            starts=starts,
            ends=starts + datetime.timedelta(days=364),
        )

    def open_request(day: int, number: int):
        def action():
            from partnerdesk.support.services import SupportRequestDraft, support_request_create

            contract = entitlement()
            cloud = code == "cloud_support"
            product, title = _product(cloud, number, timezone.localdate())
            created = support_request_create(
                user=user(),
                draft=SupportRequestDraft(
                    product_id=product,
                    severity="BC"[number % 2],
                    title=title,
                    description="A demo request from the partner's past year.",
                    contract_id=contract.contract_id,
                    access_id=contract.access_id,
                ),
            )
            opened[day] = created.pk

        return action

    def close_request(day: int):
        def action():
            from partnerdesk.support.services import (
                support_request_close,
                support_request_withdraw,
            )

            how = refunds.get(day, "solved")
            if how == "withdrawn":
                support_request_withdraw(user=user(), request_id=opened[day])
            else:
                support_request_close(engineer=operator, request_id=opened[day], resolution=how)

        return action

    if code == "premier_support":
        steps = [Step(activated, 10, grant_plan)]
    else:
        steps = [Step(activated, 10, activate), Step(activated - 2, 11, complete)]
    for number, day in enumerate(request_days):
        steps.append(Step(day, 13, open_request(day, number)))
        # Withdrawn the same afternoon; closed by the engineer a day later.
        if refunds.get(day) == "withdrawn":
            steps.append(Step(day, 16, close_request(day)))
        else:
            steps.append(Step(day - 1, 15, close_request(day)))
    return steps


def _product(cloud: bool, number: int, day: datetime.date) -> tuple[int, str]:
    from partnerdesk.support.catalog_snapshot import catalog

    snapshot = catalog()
    supported = snapshot.entitled_product_ids(day)
    choices = CLOUD if cloud else ON_PREMISES
    for turn in range(len(choices)):
        family, title = choices[(number + turn) % len(choices)]
        products = sorted(
            (p for p in snapshot.products.values() if p.family == family and p.pk in supported),
            key=lambda p: p.version,
            reverse=True,
        )
        if products:
            return products[0].pk, title
    raise LookupError("no supported product for the demo's request")
