"""``Idempotency-Key`` (IETF httpapi draft): the same key and body replay the first
answer; the same key with another body is 422; a key still in flight is 409. Keys are
scoped to the caller. The answer is stored in the same transaction as the work, so a
charged request and its stored answer exist together or not at all."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.api.problems import problem_body
from partnerdesk.core.exceptions import ApplicationError, IdempotencyConflict, ValidationFailed
from partnerdesk.core.models import IdempotencyKey

# A claim older than this belongs to a process that died mid-request; it may be retaken.
ABANDONED_AFTER = datetime.timedelta(minutes=5)


def fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim(*, user, key: str, digest: str) -> IdempotencyKey | tuple[int, dict]:
    """The new claim, or the stored answer to replay."""
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(user=user, key=key, fingerprint=digest)
    except IntegrityError:
        pass
    record = IdempotencyKey.objects.get(user=user, key=key)
    if record.fingerprint != digest:
        conflict = IdempotencyConflict(
            _("This Idempotency-Key was already used with a different request body.")
        )
        conflict.status = 422
        raise conflict
    if record.completed:
        return record.response_status, record.response_body
    now = timezone.now()
    retaken = IdempotencyKey.objects.filter(
        pk=record.pk, completed=False, created_at__lt=now - ABANDONED_AFTER
    ).update(created_at=now)
    if not retaken:
        raise IdempotencyConflict()
    record.created_at = now
    return record


def idempotent(
    *, user, key: str | None, payload: Any, perform: Callable[[], tuple[int, dict]]
) -> tuple[int, dict]:
    """Run ``perform`` (which returns status and JSON body) at most once per key."""
    if key is None:
        return perform()
    key = key.strip()
    if not key or len(key) > 255:
        raise ValidationFailed(
            [{"path": "Idempotency-Key", "message": _("Give 1 to 255 characters.")}]
        )
    claimed = _claim(user=user, key=key, digest=fingerprint(payload))
    if isinstance(claimed, tuple):
        return claimed
    try:
        with transaction.atomic():
            status, body = perform()
            _store(claimed, status, body)
        return status, body
    except ApplicationError as error:
        # A refusal is an answer too: replays get the same one.
        _store(claimed, error.status, problem_body(error))
        raise
    except BaseException:
        claimed.delete()  # nothing was done; the caller may retry with the same key
        raise


def _store(record: IdempotencyKey, status: int, body: dict) -> None:
    IdempotencyKey.objects.filter(pk=record.pk).update(
        completed=True, response_status=status, response_body=body
    )


def purge_idempotency_keys(*, older_than: datetime.timedelta = datetime.timedelta(days=1)) -> int:
    """Keys are kept a day (the draft's suggestion); the periodic job drops older ones."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
