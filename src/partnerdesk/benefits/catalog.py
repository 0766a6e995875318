"""The seed's table of benefits and allotments, as the migration loads it. After that the
table lives in the database and the operator edits it in the admin."""

from django.utils.translation import gettext_noop

BENEFITS = [
    {
        "code": "product_support",
        "name": gettext_noop("Microsoft Product Support"),
        "description": gettext_noop(
            "Technical support for on-premises products: the current version and the "
            "previous one while it is in mainstream support."
        ),
        "covers": "on_premises",
        "position": 10,
    },
    {
        "code": "cloud_support",
        "name": gettext_noop("Signature Cloud Support"),
        "description": gettext_noop("Technical support for cloud products only."),
        "covers": "cloud",
        "position": 20,
    },
]

# Paid partner support plans: granted by an operator for a term, then used like the others.
PAID_PLANS = [
    {
        "code": "advanced_support",
        "name": gettext_noop("Advanced Support for Partners"),
        "description": gettext_noop(
            "Paid support for partners who build on Microsoft cloud products: cloud only."
        ),
        "covers": "cloud",
        "plan_incidents": None,
        "highlights": "\n".join(
            [
                gettext_noop("Unlimited reactive support incidents for cloud products"),
                gettext_noop("Critical issues answered around the clock"),
                gettext_noop("Advisory hours with a named support team"),
            ]
        ),
        "position": 30,
    },
    {
        "code": "premier_support",
        "name": gettext_noop("Premier Support for Partners"),
        "description": gettext_noop(
            "The highest level of paid support, for on-premises and cloud products."
        ),
        "covers": "all",
        "plan_incidents": None,
        "highlights": "\n".join(
            [
                gettext_noop("Unlimited reactive support incidents, on-premises and cloud"),
                gettext_noop("Critical issues answered around the clock"),
                gettext_noop("A technical account manager"),
                gettext_noop("Proactive assessments and workshops"),
            ]
        ),
        "position": 40,
    },
]

# (benefit, offer, competency kind) -> incidents; "unlimited" and "not_eligible" are values.
UNLIMITED = "unlimited"
NOT_ELIGIBLE = "not_eligible"
TABLE = {
    ("product_support", "action_pack", "none"): 10,
    ("product_support", "silver", "cloud"): 15,
    ("product_support", "silver", "other"): 15,
    ("product_support", "gold", "cloud"): 20,
    ("product_support", "gold", "other"): 20,
    ("cloud_support", "action_pack", "none"): NOT_ELIGIBLE,
    ("cloud_support", "silver", "cloud"): UNLIMITED,
    ("cloud_support", "silver", "other"): 5,
    ("cloud_support", "gold", "cloud"): UNLIMITED,
    ("cloud_support", "gold", "other"): 10,
}


def load_benefit_catalog(benefit_model, rule_model) -> None:
    """Idempotent; the migration passes its historical models, tests the real ones."""
    benefits = {}
    for spec in BENEFITS:
        benefits[spec["code"]], _ = benefit_model.objects.update_or_create(
            code=spec["code"], defaults={k: v for k, v in spec.items() if k != "code"}
        )
    for (code, offer, kind), value in TABLE.items():
        if value == UNLIMITED:
            allotment, incidents = "unlimited", None
        elif value == NOT_ELIGIBLE:
            allotment, incidents = "not_eligible", None
        else:
            allotment, incidents = "limited", value
        rule_model.objects.update_or_create(
            benefit=benefits[code],
            offer=offer,
            competency_kind=kind,
            defaults={"allotment": allotment, "incidents": incidents},
        )


def load_paid_plans(benefit_model) -> None:
    for spec in PAID_PLANS:
        benefit_model.objects.update_or_create(
            code=spec["code"],
            defaults={"kind": "paid_plan", **{k: v for k, v in spec.items() if k != "code"}},
        )
