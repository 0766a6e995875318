"""The benefits (program benefits and paid plans) as every request reads them: from a
per-process snapshot (``core.snapshot``), not a join per query. The programs and their
offers have theirs in ``partners.catalog_snapshot``."""

from __future__ import annotations

from partnerdesk.benefits.models import AllotmentRule, Benefit
from partnerdesk.core.snapshot import Snapshot
from partnerdesk.partners.catalog_snapshot import programs_forget

_snapshot = Snapshot(
    "benefits",
    lambda: {b.pk: b for b in Benefit.objects.all()},
    models=[Benefit, AllotmentRule],
)


def benefits_by_id() -> dict[int, Benefit]:
    return _snapshot.get()


def benefits_forget() -> None:
    _snapshot.clear()
    programs_forget()
