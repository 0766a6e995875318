"""The competency catalog the program starts with (loaded by a migration; the operator
edits it in the admin). Names are marked for translation so the portal can show them in
the reader's language; names an operator adds later show as typed."""

import datetime

from django.utils.translation import gettext_noop

CLOUD_COMPETENCIES = [
    gettext_noop("Security"),
    gettext_noop("Cloud Business Applications"),
    gettext_noop("Cloud Platform"),
    gettext_noop("Cloud Productivity"),
    gettext_noop("Enterprise Mobility Management"),
    gettext_noop("Small and Midmarket Cloud Solutions"),
]

OTHER_COMPETENCIES = [
    gettext_noop("Data Analytics"),
    gettext_noop("Data Platform"),
    gettext_noop("Application Development"),
    gettext_noop("DevOps"),
    gettext_noop("Datacenter"),
    gettext_noop("Messaging"),
    gettext_noop("Collaboration and Content"),
    gettext_noop("Communications"),
    gettext_noop("Windows and Devices"),
    gettext_noop("Application Integration"),
    gettext_noop("Project and Portfolio Management"),
    gettext_noop("Learning"),
    gettext_noop("Enterprise Resource Planning"),
    gettext_noop("Cloud Customer Relationship Management"),
    gettext_noop("Application Lifecycle Management"),
    gettext_noop("Independent Software Vendor (ISV)"),
]


def load_competencies(competency_model) -> None:
    """Idempotent; the migration passes its historical model, tests the real one."""
    for names, is_cloud in ((CLOUD_COMPETENCIES, True), (OTHER_COMPETENCIES, False)):
        for name in names:
            competency_model.objects.update_or_create(name=name, defaults={"is_cloud": is_cloud})


# The solution areas of the AI Cloud Partner Program's Solutions Partner designations.
SOLUTION_AREAS = [
    gettext_noop("Data & AI (Azure)"),
    gettext_noop("Infrastructure (Azure)"),
    gettext_noop("Digital & App Innovation (Azure)"),
    gettext_noop("Business Applications"),
    gettext_noop("Modern Work"),
    gettext_noop("Security"),
]


def load_solution_areas(area_model) -> None:
    for name in SOLUTION_AREAS:
        area_model.objects.get_or_create(name=name)


# The partner programs and their offers. mpn-2021 is the seed's program (its table is
# TABLE below); ai-cloud-2025 is the Microsoft AI Cloud Partner Program that replaced
# Silver, Gold and Action Pack on 2025-01-22.
PROGRAMS = [
    {
        "code": "mpn-2021",
        "name": gettext_noop("Microsoft Partner Network (2021)"),
        "valid_from": datetime.date(2021, 1, 1),
        "valid_to": datetime.date(2025, 1, 21),
        "combination": "best",
        "validity": "membership_end",
        "activation_months": None,
        "term_months": 12,
        "offers": [
            {
                "code": "action_pack",
                "name": gettext_noop("Action Pack"),
                "kind": "membership",
                "held_in": "none",
                "position": 10,
            },
            {
                "code": "silver",
                "name": gettext_noop("Silver"),
                "kind": "membership",
                "held_in": "competency",
                "position": 20,
            },
            {
                "code": "gold",
                "name": gettext_noop("Gold"),
                "kind": "membership",
                "held_in": "competency",
                "position": 30,
            },
        ],
    },
    {
        "code": "ai-cloud-2025",
        "name": gettext_noop("Microsoft AI Cloud Partner Program"),
        "valid_from": datetime.date(2025, 1, 22),
        "valid_to": None,
        "combination": "sum",
        "validity": "months_from_start",
        "activation_months": 13,
        "term_months": 12,
        "offers": [
            {
                "code": "partner_launch",
                "name": gettext_noop("Partner Launch"),
                "kind": "package",
                "held_in": "none",
                "position": 10,
            },
            {
                "code": "success_core",
                "name": gettext_noop("Partner Success Core"),
                "kind": "package",
                "held_in": "none",
                "position": 20,
            },
            {
                "code": "success_expanded",
                "name": gettext_noop("Partner Success Expanded"),
                "kind": "package",
                "held_in": "none",
                "position": 30,
            },
            {
                "code": "solutions_partner",
                "name": gettext_noop("Solutions Partner"),
                "kind": "designation",
                "held_in": "solution_area",
                "position": 40,
            },
        ],
    },
]


def load_programs(program_model, offer_model) -> None:
    """Idempotent: the programs and their offers."""
    for spec in PROGRAMS:
        fields = {k: v for k, v in spec.items() if k not in ("code", "offers")}
        program, _ = program_model.objects.update_or_create(code=spec["code"], defaults=fields)
        for offer in spec["offers"]:
            offer_model.objects.update_or_create(
                program=program,
                code=offer["code"],
                defaults={k: v for k, v in offer.items() if k != "code"},
            )
