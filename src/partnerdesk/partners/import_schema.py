"""The import file's shape (CONTRACT.md), checked before anything is written.

Every text is one line: NUL and the other control characters are refused at the field's
path (``organizations[3].name``), with where in the value the character is; lengths are
``core.limits``' (the models' ``max_length``). E-mail addresses are stored and compared
as ``core.emails`` spells them, so ``DAN@Example.com`` is ``dan@example.com``."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from partnerdesk.accounts.roles import Role
from partnerdesk.core.emails import email_normalized
from partnerdesk.core.limits import (
    EMAIL_MAX,
    NAME_MAX,
    forbidden_character,
    forbidden_character_message,
)
from partnerdesk.core.tenants import tenant_id_normalized, tenant_id_problem

TENANT_ID_MAX = 64  # Customer.tenant_id


def _one_line(value: Any) -> Any:
    """Before anything else (stripping included), so the position is the file's own."""
    if isinstance(value, str):
        index = forbidden_character(value)
        if index is not None:
            raise PydanticCustomError(
                "control_character",
                "{message}",
                {"message": forbidden_character_message(value, index)},
            )
    return value


def _valid_email(value: str) -> str:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    value = email_normalized(value)
    try:
        validate_email(value)
    except ValidationError as error:
        raise ValueError("not a valid e-mail address") from error
    return value


def _valid_email_or_blank(value: str) -> str:
    return _valid_email(value) if value.strip() else ""


def _valid_tenant_id(value: str) -> str:
    value = tenant_id_normalized(value)
    problem = tenant_id_problem(value)
    if problem:
        raise PydanticCustomError("tenant_id", "{message}", {"message": problem})
    return value


OneLine = BeforeValidator(_one_line)
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX), OneLine
]
OptionalText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=NAME_MAX), OneLine
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=EMAIL_MAX),
    AfterValidator(_valid_email),
    OneLine,
]
TenantId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=TENANT_ID_MAX),
    AfterValidator(_valid_tenant_id),
    OneLine,
]
RoleCode = Literal[tuple(r.value for r in Role)]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MembershipIn(_Strict):
    # The program and offer codes are the catalog's (data an operator can extend), so the
    # check against them is the validation's, not a fixed list here.
    program: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,40}$")] = "mpn-2021"
    offer: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
    competency: Text | None = None
    solution_area: Text | None = None
    starts: datetime.date
    ends: datetime.date


class UserIn(_Strict):
    email: Email
    name: OptionalText = ""
    account_type: Literal["work", "personal"] = "work"
    roles: list[RoleCode] = []


class CustomerIn(_Strict):
    name: Text
    tenant_id: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=TENANT_ID_MAX),
        OneLine,
    ]


class ContactIn(_Strict):
    name: OptionalText = ""
    email: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=EMAIL_MAX),
        AfterValidator(_valid_email_or_blank),
        OneLine,
    ]


class OrganizationIn(_Strict):
    partner_id: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z-]{1,32}$"), OneLine
    ]
    name: Text
    programs: list[Literal["mpn", "csp"]]
    program_contact: ContactIn | None = None
    # The organization's Microsoft Entra tenant; absent (or null): the stored one stays.
    tenant_id: TenantId | None = None
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
