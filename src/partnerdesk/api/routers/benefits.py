from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from ninja import Router

from partnerdesk.api.problems import COMMON_ERRORS, Problem
from partnerdesk.api.schemas import BenefitList, BenefitOut, LedgerList
from partnerdesk.benefits import selectors
from partnerdesk.benefits.messages import NO_BENEFITS, WRONG_ACCOUNT_HINT
from partnerdesk.benefits.models import Entitlement

router = Router(tags=["benefits"])


def benefit_out(entitlement: Entitlement, today) -> dict:
    return {
        "id": entitlement.pk,
        "benefit": entitlement.benefit.code,
        "name": gettext(entitlement.benefit.name),
        "offer": entitlement.offer,
        "competency": entitlement.competency_name or None,
        "status": entitlement.status_on(today),
        "allowance": entitlement.allowance,
        "used": entitlement.used,
        "remaining": entitlement.remaining,
        "expires": entitlement.expires,
        "activation_deadline": entitlement.activation_deadline,
        "activated_at": entitlement.activated_at,
        "access_id": entitlement.access_id,
        "contract_id": entitlement.contract_id,
    }


@router.get("/benefits", response={200: BenefitList, **COMMON_ERRORS}, summary="Benefits")
def benefit_list(request: HttpRequest):
    today = timezone.localdate()
    items = [benefit_out(e, today) for e in selectors.benefit_list(user=request.auth)]
    notice = None
    if not items:
        notice = {"code": "no_benefits", "detail": f"{NO_BENEFITS} {WRONG_ACCOUNT_HINT}"}
    return {"items": items, "notice": notice}


@router.get(
    "/benefits/{benefit_id}",
    response={200: BenefitOut, 404: Problem, **COMMON_ERRORS},
    summary="One benefit",
)
def benefit_detail(request: HttpRequest, benefit_id: int):
    entitlement = selectors.benefit_get(user=request.auth, entitlement_id=benefit_id)
    return benefit_out(entitlement, timezone.localdate())


@router.get(
    "/benefits/{benefit_id}/ledger",
    response={200: LedgerList, 404: Problem, **COMMON_ERRORS},
    summary="A benefit's ledger",
)
def benefit_ledger(request: HttpRequest, benefit_id: int):
    return {"items": selectors.ledger_list(user=request.auth, entitlement_id=benefit_id)}
