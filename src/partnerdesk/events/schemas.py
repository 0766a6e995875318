"""One JSON Schema per event type, for its ``data``; ``docs/events.md`` shows the same
(``tests/test_events.py`` checks that the two agree and that every event written
validates against its type's)."""

from __future__ import annotations

from partnerdesk.events.models import EventType

DRAFT = "https://json-schema.org/draft/2020-12/schema"

_DATE = {"type": "string", "format": "date"}
_NULLABLE_DATE = {"type": ["string", "null"], "format": "date"}
_QUANTITY = {"type": ["number", "null"], "minimum": 0}

ENTITLEMENT = {
    "type": "object",
    "description": "The entitlement as the change left it; quantities in its unit.",
    "required": ["id", "benefit", "program", "unit", "allowance", "remaining", "expires_on"],
    "properties": {
        "id": {"type": "integer", "description": "The benefit's id in /api/v1/benefits."},
        "benefit": {"type": "string", "description": "The benefit's code."},
        "program": {"type": ["string", "null"], "description": "The program's code."},
        "unit": {"enum": ["incidents", "hours"]},
        "allowance": {**_QUANTITY, "description": "null: unlimited."},
        "remaining": {
            "type": ["number", "null"],
            "description": "null: unlimited; below 0 only after an operator's override.",
        },
        "expires_on": _NULLABLE_DATE,
    },
    "additionalProperties": False,
}

SUPPORT_REQUEST = {
    "type": "object",
    "required": [
        "id",
        "title",
        "status",
        "resolution",
        "severity",
        "category",
        "product_id",
        "customer_id",
        "entitlement_id",
    ],
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "status": {
            "enum": ["open", "in_progress", "attention_needed", "resolved", "closed"],
        },
        "resolution": {"type": ["string", "null"]},
        "severity": {"enum": ["A", "B", "C"]},
        "category": {"type": ["string", "null"]},
        "product_id": {"type": ["integer", "null"]},
        "customer_id": {"type": ["integer", "null"]},
        "entitlement_id": {"type": ["integer", "null"]},
    },
    "additionalProperties": False,
}

MEMBERSHIP = {
    "type": "object",
    "required": ["program", "offer", "competency", "solution_area", "starts", "ends"],
    "properties": {
        "program": {"type": "string"},
        "offer": {"type": "string"},
        "competency": {"type": ["string", "null"]},
        "solution_area": {"type": ["string", "null"]},
        "starts": _DATE,
        "ends": _DATE,
    },
    "additionalProperties": False,
}


def _object(required: dict, optional: dict | None = None) -> dict:
    return {
        "$schema": DRAFT,
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
        "additionalProperties": False,
    }


_USE = {"support_request": SUPPORT_REQUEST, "entitlement": ENTITLEMENT}

DATA_SCHEMAS: dict[str, dict] = {
    EventType.ENTITLEMENT_ACTIVATED: _object(
        {
            "entitlement": ENTITLEMENT,
            "activated_at": {"type": "string", "format": "date-time"},
            "approved_by_operator": {"type": "boolean"},
        }
    ),
    EventType.ENTITLEMENT_EXPIRING: _object(
        {
            "entitlement": ENTITLEMENT,
            "days_left": {"type": "integer", "minimum": 0},
            "notice_days": {"enum": [60, 30, 7], "description": "The notice's threshold."},
        }
    ),
    EventType.ENTITLEMENT_EXHAUSTED: _object({"entitlement": ENTITLEMENT}),
    EventType.BALANCE_LOW: _object(
        {
            "entitlement": ENTITLEMENT,
            "low_share": {
                "type": "number",
                "description": "The share of the allowance left at which it is low (0.25).",
            },
        }
    ),
    EventType.INCIDENT_CHARGED: _object(_USE),
    EventType.INCIDENT_REFUNDED: _object(
        {
            **_USE,
            "reason": {
                "enum": ["withdrawn", "duplicate", "product_bug", "solved"],
                "description": "Why: withdrawn by the partner, or the closing resolution.",
            },
        }
    ),
    EventType.HOURS_SETTLED: _object(
        {
            **_USE,
            "reserved_hours": {"type": "number", "minimum": 0},
            "logged_hours": {"type": "number", "minimum": 0},
            "settled_hours": {
                "type": "number",
                "description": "Charged beyond the reservation (>0) or given back (<0).",
            },
            "overdrawn": {"type": "boolean"},
        }
    ),
    EventType.SUPPORT_REQUEST_OPENED: _object({"support_request": SUPPORT_REQUEST}),
    EventType.SUPPORT_REQUEST_STATUS_CHANGED: _object(
        {
            "support_request": SUPPORT_REQUEST,
            "previous_status": SUPPORT_REQUEST["properties"]["status"],
        }
    ),
    EventType.MEMBERSHIP_CHANGED: _object(
        {
            "partner_id": {"type": "string"},
            "reason": {
                "enum": ["import", "api", "program_move", "admin"],
                "description": "The CLI import, the API's sync, a program move, the admin.",
            },
            "memberships": {"type": "array", "items": MEMBERSHIP},
        }
    ),
}

ENVELOPE = {
    "$schema": DRAFT,
    "type": "object",
    "required": ["id", "uid", "type", "occurred_at", "organization", "data"],
    "properties": {
        "id": {"type": "integer", "description": "Position in the published order."},
        "uid": {"type": "string", "format": "uuid"},
        "type": {"enum": list(EventType.values)},
        "occurred_at": {"type": "string", "format": "date-time"},
        "organization": {"type": "string", "description": "Partner ID."},
        "data": {"type": "object"},
    },
    "additionalProperties": False,
}
