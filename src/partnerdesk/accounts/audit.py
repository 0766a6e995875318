from __future__ import annotations

from typing import Any

from django.db import models

from partnerdesk.accounts.models import AuditEvent
from partnerdesk.core import sql


def audit_record(
    *,
    action: str,
    actor=None,
    organization=None,
    organization_id: int | None = None,
    target: models.Model | None = None,
    **data: Any,
) -> AuditEvent:
    """Append an audit event; call it inside the transaction of the change it records."""
    return sql.insert_instance(
        AuditEvent(
            action=action,
            actor=actor if getattr(actor, "pk", None) else None,
            organization_id=organization.pk if organization is not None else organization_id,
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            data=data,
        )
    )
