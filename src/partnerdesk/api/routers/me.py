from django.http import HttpRequest
from ninja import Router

from partnerdesk.api.problems import COMMON_ERRORS
from partnerdesk.api.schemas import MeOut

router = Router(tags=["me"])


@router.get("/me", response={200: MeOut, **COMMON_ERRORS}, summary="The caller")
def me(request: HttpRequest):
    user = request.auth
    organization = user.organization if user.organization_id else None
    return {
        "id": user.pk,
        "email": user.email,
        "name": user.name,
        "account_type": user.account_type,
        "language": user.language,
        "roles": user.roles,
        "is_operator": user.is_staff,
        "organization": organization
        and {
            "id": organization.pk,
            "partner_id": organization.partner_id,
            "name": organization.name,
            "programs": organization.programs,
        },
    }
