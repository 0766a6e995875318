from django.http import HttpRequest
from ninja import Router

from partnerdesk.api.problems import COMMON_ERRORS
from partnerdesk.api.schemas import ProductList
from partnerdesk.support.selectors import product_list

router = Router(tags=["products"])


@router.get(
    "/products",
    response={200: ProductList, **COMMON_ERRORS},
    summary="Product catalog",
    description=(
        "`entitled` follows the program's rule: cloud products, and per on-premises product "
        "the current version (N) and the previous one (N-1) while in mainstream support."
    ),
)
def products(request: HttpRequest):
    return {
        "items": [
            {
                "id": p.pk,
                "name": p.name,
                "family": p.family,
                "version": p.version,
                "deployment": p.deployment,
                "released_on": p.released_on,
                "mainstream_ends_on": p.mainstream_ends_on,
                "entitled": entitled,
            }
            for p, entitled in product_list()
        ]
    }
