"""Support topics: what a request can be about, per product family (catalog data)."""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from partnerdesk.api.problems import COMMON_ERRORS, Problem
from partnerdesk.core.exceptions import NotFound
from partnerdesk.support.catalog_snapshot import catalog
from partnerdesk.support.selectors import topic_name

router = Router(tags=["products"])


class TopicOut(Schema):
    id: int
    family: str
    code: str
    name: str


class TopicList(Schema):
    items: list[TopicOut]


@router.get(
    "/support-topics",
    response={200: TopicList, 404: Problem, **COMMON_ERRORS},
    summary="Support topics, per product family",
    description=(
        "The topics a request can name (`topic_id` when opening one): each product "
        "family's own, in the order Partner Center shows them; `name` in the caller's "
        "language. With `product_id`, that product's family only (404 for an unknown "
        "product)."
    ),
)
def support_topics(request: HttpRequest, product_id: int = Query(None, ge=1, le=2**31 - 1)):
    snapshot = catalog()
    family = None
    if product_id is not None:
        product = snapshot.products.get(product_id)
        if product is None:
            raise NotFound(
                _("There is no such product."),
                extra={"errors": [{"path": "product_id", "message": _("Unknown product.")}]},
            )
        family = product.family
    topics = sorted(
        (t for t in snapshot.topics.values() if family is None or t.family == family),
        key=lambda t: (t.family, t.position, t.pk),
    )
    return {
        "items": [
            {"id": t.pk, "family": t.family, "code": t.code, "name": topic_name(t)} for t in topics
        ]
    }
