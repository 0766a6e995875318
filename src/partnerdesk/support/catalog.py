"""The product catalog the program starts with, from Microsoft's published lifecycle
dates (release; end of mainstream support). Operators keep it current in the admin:
adding a new version makes it N and moves the others down the lineage."""

import datetime

D = datetime.date

# family, version, released, mainstream support ends (None: no end announced)
ON_PREMISES = [
    ("Windows Server", "2016", D(2016, 10, 15), D(2022, 1, 11)),
    ("Windows Server", "2019", D(2018, 11, 13), D(2024, 1, 9)),
    ("Windows Server", "2022", D(2021, 8, 18), D(2026, 10, 13)),
    ("Windows Server", "2025", D(2024, 11, 1), D(2029, 10, 9)),
    ("SQL Server", "2016", D(2016, 6, 1), D(2021, 7, 13)),
    ("SQL Server", "2017", D(2017, 9, 29), D(2022, 10, 11)),
    ("SQL Server", "2019", D(2019, 11, 4), D(2025, 2, 28)),
    ("SQL Server", "2022", D(2022, 11, 16), D(2028, 1, 11)),
    ("Exchange Server", "2016", D(2015, 10, 1), D(2020, 10, 13)),
    ("Exchange Server", "2019", D(2018, 10, 22), D(2024, 1, 9)),
    ("Exchange Server", "Subscription Edition", D(2025, 7, 1), None),
    ("SharePoint Server", "2016", D(2016, 5, 1), D(2021, 7, 13)),
    ("SharePoint Server", "2019", D(2018, 10, 22), D(2024, 1, 9)),
    ("SharePoint Server", "Subscription Edition", D(2021, 11, 2), None),
    ("Visual Studio", "2017", D(2017, 3, 7), D(2022, 4, 12)),
    ("Visual Studio", "2019", D(2019, 4, 2), D(2024, 4, 9)),
    ("Visual Studio", "2022", D(2021, 11, 8), D(2027, 1, 12)),
    ("Skype for Business Server", "2015", D(2015, 5, 1), D(2020, 10, 13)),
    ("Skype for Business Server", "2019", D(2018, 10, 22), D(2024, 1, 9)),
]

CLOUD = ["Azure", "Microsoft 365", "Dynamics 365", "Power Platform", "Microsoft Intune"]

# code, name, product family, on the Cloud Solution Provider plan
WORKLOADS = [
    ("azure", "Azure", "Azure", True),
    ("microsoft_365", "Microsoft 365", "Microsoft 365", False),
    ("dynamics_365", "Dynamics 365", "Dynamics 365", False),
]


def load_products(product_model) -> None:
    """Idempotent; the migration passes its historical model, tests the real one."""
    for family, version, released, mainstream_ends in ON_PREMISES:
        product_model.objects.update_or_create(
            family=family,
            version=version,
            defaults={
                "deployment": "on_premises",
                "released_on": released,
                "mainstream_ends_on": mainstream_ends,
            },
        )
    for family in CLOUD:
        product_model.objects.update_or_create(
            family=family, version="", defaults={"deployment": "cloud"}
        )


def load_workloads(workload_model, product_model) -> None:
    for position, (code, name, family, csp_plan) in enumerate(WORKLOADS):
        workload_model.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "product": product_model.objects.get(family=family, version=""),
                "csp_plan": csp_plan,
                "position": position,
            },
        )


def N_(message: str) -> str:
    """Marks a catalog name for the translation catalogs; shown through gettext."""
    return message


# Support topics per product family, as Partner Center asks for them after the product.
# The names are translated where they are shown (operators' own additions show as typed).
_COMMON_TOPICS = [
    ("installation", N_("Installation, setup and upgrade")),
    ("configuration", N_("Configuration and management")),
    ("performance", N_("Performance and availability")),
    ("security", N_("Security, identity and access")),
    ("licensing", N_("Licensing and activation")),
    ("other", N_("Something else")),
]
TOPICS = {
    "Windows Server": [
        ("active_directory", N_("Active Directory and Group Policy")),
        ("networking", N_("Networking, DNS and DHCP")),
        ("hyper_v", N_("Hyper-V and clustering")),
        ("updates", N_("Windows Update and servicing")),
    ],
    "SQL Server": [
        ("database_engine", N_("Database engine and queries")),
        ("high_availability", N_("Always On, backup and restore")),
        ("reporting", N_("Reporting and integration services")),
    ],
    "Exchange Server": [
        ("mail_flow", N_("Mail flow and transport")),
        ("mailboxes", N_("Mailboxes and migration")),
        ("hybrid", N_("Hybrid with Exchange Online")),
    ],
    "SharePoint Server": [
        ("sites", N_("Sites, lists and permissions")),
        ("search", N_("Search and crawling")),
        ("farm", N_("Farm and service applications")),
    ],
    "Visual Studio": [
        ("build", N_("Build and debugging")),
        ("extensions", N_("Extensions and tooling")),
    ],
    "Skype for Business Server": [
        ("voice", N_("Voice and conferencing")),
        ("federation", N_("Federation and Edge")),
    ],
    "Azure": [
        ("virtual_machines", N_("Virtual machines")),
        ("networking", N_("Networking")),
        ("storage", N_("Storage")),
        ("billing", N_("Subscription and billing")),
    ],
    "Microsoft 365": [
        ("exchange_online", N_("Exchange Online")),
        ("teams", N_("Microsoft Teams")),
        ("sharepoint_online", N_("SharePoint Online and OneDrive")),
        ("entra_id", N_("Microsoft Entra ID")),
    ],
    "Dynamics 365": [
        ("sales", N_("Sales and Customer Service")),
        ("finance", N_("Finance and Supply Chain")),
    ],
    "Power Platform": [
        ("power_apps", N_("Power Apps")),
        ("power_automate", N_("Power Automate")),
        ("power_bi", N_("Power BI")),
    ],
    "Microsoft Intune": [
        ("enrollment", N_("Device enrollment")),
        ("compliance", N_("Compliance and configuration policies")),
    ],
}


def load_topics(topic_model) -> None:
    """Each family's own topics, then the common ones. Idempotent."""
    for family, own in TOPICS.items():
        for position, (code, name) in enumerate([*own, *_COMMON_TOPICS]):
            topic_model.objects.update_or_create(
                family=family, code=code, defaults={"name": name, "position": position}
            )


def load_default_calendar(calendar_model) -> None:
    """Monday to Friday, 9:00 to 17:00 UTC, until an operator sets the real one."""
    if not calendar_model.objects.filter(is_default=True).exists():
        calendar_model.objects.create(
            name="Business hours (UTC)",
            time_zone="UTC",
            working_days="12345",
            is_default=True,
        )


# The program's request categories and how each is charged (Partner Center's rules).
CATEGORIES = [
    {
        "code": "technical",
        "name": N_("Technical problem"),
        "description": N_(
            "Something does not work as documented. One incident, given back if the "
            "request turns out to be a duplicate or a product bug."
        ),
        "charging": "incident",
        "refunding": "duplicate_or_bug",
        "position": 10,
    },
    {
        "code": "billing",
        "name": N_("Billing, quota or subscription"),
        "description": N_(
            "Invoices, limits and subscriptions. One incident while it is open, given back "
            "when the request is closed."
        ),
        "charging": "incident",
        "refunding": "closure",
        "position": 20,
    },
    {
        "code": "frontline",
        "name": N_("Frontline question"),
        "description": N_(
            "Questions the frontline team answers, such as where to find a setting. Free."
        ),
        "charging": "free",
        "refunding": "never",
        "position": 30,
    },
    {
        "code": "advisory",
        "name": N_("Advisory (presales and deployment)"),
        "description": N_(
            "Advice from an engineer on a presales or deployment question. Your estimate is "
            "reserved from your advisory hours; closing the request settles the time spent."
        ),
        "charging": "hours",
        "refunding": "never",
        "position": 40,
    },
]


def load_categories(category_model) -> None:
    for spec in CATEGORIES:
        category_model.objects.update_or_create(
            code=spec["code"], defaults={k: v for k, v in spec.items() if k != "code"}
        )
