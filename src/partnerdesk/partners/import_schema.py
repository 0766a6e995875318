"""The import file's shape (CONTRACT.md), checked before anything is written."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from partnerdesk.accounts.roles import Role

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
RoleCode = Literal[tuple(r.value for r in Role)]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MembershipIn(_Strict):
    offer: Literal["action_pack", "silver", "gold"]
    competency: Text | None = None
    starts: datetime.date
    ends: datetime.date


class UserIn(_Strict):
    email: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=254)]
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    account_type: Literal["work", "personal"] = "work"
    roles: list[RoleCode] = []

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        try:
            validate_email(value)
        except ValidationError as error:
            raise ValueError("not a valid e-mail address") from error
        return value


class CustomerIn(_Strict):
    name: Text
    tenant_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class ContactIn(_Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    email: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=254)]


class OrganizationIn(_Strict):
    partner_id: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z-]{1,32}$")
    ]
    name: Text
    programs: list[Literal["mpn", "csp"]]
    program_contact: ContactIn | None = None
    memberships: list[MembershipIn] = []
    users: list[UserIn] = []
    customers: list[CustomerIn] = []


class ImportFile(_Strict):
    organizations: list[OrganizationIn]


def error_path(loc: tuple) -> str:
    """('organizations', 3, 'memberships', 0, 'offer') -> organizations[3].memberships[0].offer"""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "$"
