"""``Idempotency-Key`` (IETF httpapi draft): the same key and body replay the first
answer; the same key with another body is 422; a key still in flight is 409. Keys are
scoped to the caller.

The claim, the work and the stored answer are one transaction: the key is claimed with
``INSERT … ON CONFLICT DO NOTHING``, so the database's unique index decides between
concurrent callers of one key (on PostgreSQL a caller whose key is in flight answers 409
at once, see ``_claim_sql``; on SQLite the write lock orders the callers, so the second
replays the first's answer), and a charged request and its stored answer exist together
or not at all. A refusal rolls the work back and is stored on its own, so replays get the
same refusal."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.api.models import IdempotencyKey
from partnerdesk.api.problems import problem_body
from partnerdesk.core import sql
from partnerdesk.core.exceptions import ApplicationError, IdempotencyConflict, ValidationFailed


def fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@cache
def _claim_sql() -> str:
    """The claim: a row for (caller, key), unless the caller already has one. On
    PostgreSQL it also takes an advisory lock on the key for the transaction, without
    waiting: a caller whose key is in flight in another transaction inserts nothing and
    finds nothing committed, and answers 409 at once instead of queueing behind it."""
    quote = connection.ops.quote_name
    meta = IdempotencyKey._meta
    columns = ("user", "key", "fingerprint", "completed", "created_at")
    names = ", ".join(quote(meta.get_field(c).column) for c in columns)
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    if connection.vendor == "postgresql":
        types = ", ".join(f"%s::{meta.get_field(c).db_type(connection)}" for c in columns)
        # Names come from the model's metadata, quoted; every value is a parameter.
        return (
            f"INSERT INTO {table} ({names}) SELECT {types} "  # nosec B608
            "WHERE pg_try_advisory_xact_lock(hashtextextended(%s, 0)) "
            f"ON CONFLICT DO NOTHING RETURNING {pk}"
        )
    # SQLite: the IMMEDIATE transaction's write lock already orders the callers.
    return (
        f"INSERT INTO {table} ({names}) VALUES (%s, %s, %s, %s, %s) "  # nosec B608
        f"ON CONFLICT DO NOTHING RETURNING {pk}"
    )


def _claim(*, user_id: int, key: str, digest: str) -> int | None:
    """The new claim's id, or None when the caller already has this key."""
    values = sql.adapt(
        IdempotencyKey,
        ("user", "key", "fingerprint", "completed", "created_at"),
        (user_id, key, digest, False, timezone.now()),
    )
    if connection.vendor == "postgresql":
        values.append(f"idempotency:{user_id}:{key}")
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(), values)
        row = cursor.fetchone()
    return row[0] if row else None


def _existing(*, user_id: int, key: str, digest: str) -> tuple[int, dict]:
    record = IdempotencyKey.objects.filter(user_id=user_id, key=key).first()
    if record is None:  # not committed yet: another transaction has it in flight
        raise IdempotencyConflict()
    if record.fingerprint != digest:
        conflict = IdempotencyConflict(
            _("This Idempotency-Key was already used with a different request body.")
        )
        conflict.status = 422
        raise conflict
    if not record.completed:
        raise IdempotencyConflict()
    return record.response_status, record.response_body


def idempotent(
    *, user, key: str | None, payload: Any, perform: Callable[[], tuple[int, dict]]
) -> tuple[int, dict]:
    """Run ``perform`` (which returns status and JSON body) at most once per key, in the
    same transaction as the key's claim and answer."""
    if key is None:
        return perform()
    key = key.strip()
    if not key or len(key) > 255:
        raise ValidationFailed(
            [{"path": "Idempotency-Key", "message": _("Give 1 to 255 characters.")}]
        )
    digest = fingerprint(payload)
    try:
        with transaction.atomic():
            claim = _claim(user_id=user.pk, key=key, digest=digest)
            if claim is None:
                return _existing(user_id=user.pk, key=key, digest=digest)
            status, body = perform()
            sql.update_many(
                IdempotencyKey,
                ("completed", "response_status", "response_body"),
                [(True, status, body, claim)],
            )
            return status, body
    except IdempotencyConflict:
        raise
    except ApplicationError as error:
        # A refusal is an answer too: the work was rolled back; store the refusal alone
        # (unless a concurrent caller of the key stored its answer first).
        IdempotencyKey.objects.bulk_create(
            [
                IdempotencyKey(
                    user_id=user.pk,
                    key=key,
                    fingerprint=digest,
                    completed=True,
                    response_status=error.status,
                    response_body=problem_body(error),
                )
            ],
            ignore_conflicts=True,
        )
        raise


def purge_idempotency_keys(*, older_than: datetime.timedelta = datetime.timedelta(days=1)) -> int:
    """Keys are kept a day (the draft's suggestion); the periodic job drops older ones."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
