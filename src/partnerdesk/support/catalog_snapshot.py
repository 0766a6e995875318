"""The catalog as the request path reads it: products, workloads (and benefits), from a
per-process snapshot (``core.snapshot``) instead of three queries per request."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from partnerdesk.benefits.catalog_snapshot import benefits_by_id
from partnerdesk.benefits.models import Benefit
from partnerdesk.core.snapshot import Snapshot
from partnerdesk.support.models import Product, RequestCategory, SupportTopic, Workload
from partnerdesk.support.selectors import entitled_product_ids


@dataclass
class Catalog:
    products: dict[int, Product]
    workloads: dict[str, Workload]
    topics: dict[int, SupportTopic] = field(default_factory=dict)
    categories: dict[str, RequestCategory] = field(default_factory=dict)
    _entitled: dict[datetime.date, frozenset[int]] = field(default_factory=dict)

    @property
    def benefits(self) -> dict[int, Benefit]:
        return benefits_by_id()

    def entitled_product_ids(self, today: datetime.date) -> frozenset[int]:
        """N and N-1 on-premises versions and every cloud product, as of ``today``."""
        entitled = self._entitled.get(today)
        if entitled is None:
            entitled = frozenset(
                entitled_product_ids(products=list(self.products.values()), today=today)
            )
            self._entitled = {today: entitled}
        return entitled


def _load() -> Catalog:
    products = {p.pk: p for p in Product.objects.all()}
    workloads = {}
    for workload in Workload.objects.all():
        workload.product = products[workload.product_id]
        workloads[workload.code] = workload
    topics = {t.pk: t for t in SupportTopic.objects.all()}
    categories = {c.code: c for c in RequestCategory.objects.all()}
    return Catalog(products=products, workloads=workloads, topics=topics, categories=categories)


_snapshot = Snapshot("catalog", _load, models=[Product, Workload, SupportTopic, RequestCategory])


def catalog() -> Catalog:
    return _snapshot.get()


def catalog_forget() -> None:
    _snapshot.clear()
