"""The seed's table of benefits and allotments, as the migration loads it. After that the
table lives in the database and the operator edits it in the admin."""

from django.utils.translation import gettext_noop

# The seed's benefits belong to mpn-2021.
BENEFIT_PROGRAM = {"product_support": "mpn-2021", "cloud_support": "mpn-2021"}

# The AI Cloud Partner Program's benefits, with the names they have had since 2025-06-23.
BENEFITS_2025 = [
    {
        "code": "partner_cloud_support",
        "name": gettext_noop("Partner Cloud Support"),
        "description": gettext_noop(
            "Technical support for cloud products (called Signature Cloud Support until June 2025)."
        ),
        "covers": "cloud",
        "unit": "incidents",
        "position": 50,
    },
    {
        "code": "partner_onprem_support",
        "name": gettext_noop("Partner On-premises Support"),
        "description": gettext_noop(
            "Technical support for on-premises products (called Microsoft Product Support "
            "until June 2025)."
        ),
        "covers": "on_premises",
        "unit": "incidents",
        "position": 60,
    },
    {
        "code": "advisory_hours",
        "name": gettext_noop("Technical presales and deployment advisory hours"),
        "description": gettext_noop(
            "Advice from Microsoft engineers on presales and deployment, counted by the "
            "time they spend, in hours and fractions of hours."
        ),
        "covers": "all",
        "unit": "hours",
        "position": 70,
    },
]

# (benefit, offer) -> amount in the benefit's unit; the 2025 offers are not held in
# competencies, so every cell's competency kind is "none". Offers add up.
TABLE_2025 = {
    ("partner_cloud_support", "partner_launch"): "not_eligible",
    ("partner_onprem_support", "partner_launch"): "not_eligible",
    ("advisory_hours", "partner_launch"): "not_eligible",
    ("partner_cloud_support", "success_core"): 2,
    ("partner_onprem_support", "success_core"): "not_eligible",
    ("advisory_hours", "success_core"): 5,
    ("partner_cloud_support", "success_expanded"): 5,
    ("partner_onprem_support", "success_expanded"): "not_eligible",
    ("advisory_hours", "success_expanded"): 10,
    ("partner_cloud_support", "solutions_partner"): 50,
    ("partner_onprem_support", "solutions_partner"): 20,
    ("advisory_hours", "solutions_partner"): 50,
}


def load_program_benefits(program_model, benefit_model, rule_model) -> None:
    """Idempotent, like the loaders below (the programs are ``partners.catalog``'s): which
    program the seeded benefits belong to, and the 2025 program's benefits and table."""
    programs = {p.code: p for p in program_model.objects.all()}
    for benefit_code, program_code in BENEFIT_PROGRAM.items():
        benefit_model.objects.filter(code=benefit_code, program__isnull=True).update(
            program=programs[program_code]
        )
    benefits = {}
    for spec in BENEFITS_2025:
        benefits[spec["code"]], _ = benefit_model.objects.update_or_create(
            code=spec["code"],
            defaults={
                "program": programs["ai-cloud-2025"],
                **{k: v for k, v in spec.items() if k != "code"},
            },
        )
    for (code, offer), value in TABLE_2025.items():
        rule_model.objects.update_or_create(
            benefit=benefits[code],
            offer=offer,
            competency_kind="none",
            defaults=_allotment(value),
        )


def _allotment(value, amount_field: str = "amount") -> dict:
    if value == UNLIMITED:
        return {"allotment": "unlimited", amount_field: None}
    if value == NOT_ELIGIBLE:
        return {"allotment": "not_eligible", amount_field: None}
    return {"allotment": "limited", amount_field: value}


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


def load_benefit_catalog(benefit_model, rule_model, amount_field: str = "amount") -> None:
    """Idempotent; the migration passes its historical models (whose rules counted
    ``incidents``), tests the real ones."""
    benefits = {}
    for spec in BENEFITS:
        benefits[spec["code"]], _ = benefit_model.objects.update_or_create(
            code=spec["code"], defaults={k: v for k, v in spec.items() if k != "code"}
        )
    for (code, offer, kind), value in TABLE.items():
        rule_model.objects.update_or_create(
            benefit=benefits[code],
            offer=offer,
            competency_kind=kind,
            defaults=_allotment(value, amount_field),
        )


def load_paid_plans(benefit_model) -> None:
    for spec in PAID_PLANS:
        benefit_model.objects.update_or_create(
            code=spec["code"],
            defaults={"kind": "paid_plan", **{k: v for k, v in spec.items() if k != "code"}},
        )
