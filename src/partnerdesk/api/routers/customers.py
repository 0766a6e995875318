from django.http import HttpRequest
from ninja import Router

from partnerdesk.api.problems import COMMON_ERRORS
from partnerdesk.api.schemas import CustomerList
from partnerdesk.support.selectors import customer_list

router = Router(tags=["CSP"])


@router.get(
    "/customers",
    response={200: CustomerList, **COMMON_ERRORS},
    summary="The CSP organization's customers",
    description="For Admin agents and Helpdesk agents of a CSP partner.",
)
def customers(request: HttpRequest):
    return {
        "items": [
            {"id": c.pk, "name": c.name, "tenant_id": c.tenant_id}
            for c in customer_list(user=request.auth)
        ]
    }
