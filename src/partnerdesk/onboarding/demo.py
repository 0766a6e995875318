"""Demo data: every offer and competency kind, a CSP-only and a membership-less partner.
Dates are relative to today so the memberships are active whenever the demo runs; they
began fourteen months ago, when the demo's story starts (``demo_history``)."""

from __future__ import annotations

import datetime

DEMO_PASSWORD = "partnerdesk-demo"
OPERATOR_EMAIL = "operator@partnerdesk.example"


def demo_partners(today: datetime.date) -> dict:
    started = (today - datetime.timedelta(days=430)).isoformat()
    ends = (today + datetime.timedelta(days=300)).isoformat()
    lapsed_start = (today - datetime.timedelta(days=500)).isoformat()
    lapsed_end = (today - datetime.timedelta(days=135)).isoformat()
    recent = (today - datetime.timedelta(days=60)).isoformat()
    year_on = (today - datetime.timedelta(days=60) + datetime.timedelta(days=364)).isoformat()

    def member(offer: str, competency: str | None = None, starts=started, until=ends) -> dict:
        item = {"offer": offer, "starts": starts, "ends": until}
        if competency:
            item["competency"] = competency
        return item

    def user(email: str, name: str, *roles: str, account_type: str = "work") -> dict:
        return {"email": email, "name": name, "account_type": account_type, "roles": list(roles)}

    return {
        "organizations": [
            {
                "partner_id": "4711001",
                "name": "Contoso Ltd",
                "programs": ["mpn", "csp"],
                "program_contact": {"name": "Ann Lee", "email": "ann@contoso.example"},
                "memberships": [
                    member("gold", "Cloud Platform"),
                    member("silver", "Data Analytics"),
                ],
                "users": [
                    user("ann@contoso.example", "Ann Lee", "global_admin"),
                    user("ben@contoso.example", "Ben Ortiz", "mpn_partner_admin"),
                    user("carla@contoso.example", "Carla Novak", "admin_agent"),
                    user("dan@contoso.example", "Dan Wu", "helpdesk_agent"),
                    user("eve@outlook.example", "Eve Adams", account_type="personal"),
                ],
                "customers": [
                    {"name": "Fabrikam", "tenant_id": "3f2b9c1e-5d4a-4c7e-9a0b-1f2e3d4c5b6a"},
                    {
                        "name": "Northwind Traders",
                        "tenant_id": "8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d",
                    },
                ],
            },
            {
                "partner_id": "4711002",
                "name": "Fourth Coffee",
                "programs": ["mpn"],
                "memberships": [member("action_pack")],
                "users": [user("fay@fourthcoffee.example", "Fay Jensen", "global_admin")],
            },
            {
                "partner_id": "4711003",
                "name": "Tailspin Toys",
                "programs": ["mpn"],
                "memberships": [member("silver", "Data Platform")],
                "users": [user("gus@tailspin.example", "Gus Kowalski", "mpn_partner_admin")],
            },
            {
                "partner_id": "4711004",
                "name": "Wide World Importers",
                "programs": ["mpn"],
                "memberships": [member("gold", "Messaging"), member("action_pack")],
                "users": [user("hana@wideworld.example", "Hana Sato", "global_admin")],
            },
            {
                "partner_id": "4711005",
                "name": "Adventure Works",
                "programs": ["mpn", "csp"],
                "memberships": [member("silver", "Security")],
                "users": [
                    user("ivan@adventure-works.example", "Ivan Petrov", "global_admin"),
                    user("jola@adventure-works.example", "Jola Wiśniewska", "admin_agent"),
                ],
                "customers": [{"name": "Alpine Ski House", "tenant_id": "alpine-ski-house"}],
            },
            {
                "partner_id": "4711006",
                "name": "Litware (CSP only)",
                "programs": ["csp"],
                "users": [user("kim@litware.example", "Kim Park", "admin_agent")],
                "customers": [{"name": "Woodgrove Bank", "tenant_id": "woodgrove-bank"}],
            },
            {
                "partner_id": "4711007",
                "name": "Proseware (membership lapsed)",
                "programs": ["mpn"],
                "memberships": [member("silver", "DevOps", lapsed_start, lapsed_end)],
                "users": [user("lea@proseware.example", "Lea Martin", "global_admin")],
            },
            {
                # The AI Cloud Partner Program: two offers whose benefits add up.
                "partner_id": "4711008",
                "name": "Northwind Traders (AI Cloud Partner Program)",
                "programs": ["mpn"],
                "memberships": [
                    {
                        "program": "ai-cloud-2025",
                        "offer": "success_core",
                        "starts": recent,
                        "ends": year_on,
                    },
                    {
                        "program": "ai-cloud-2025",
                        "offer": "solutions_partner",
                        "solution_area": "Infrastructure (Azure)",
                        "starts": recent,
                        "ends": year_on,
                    },
                ],
                "users": [user("noah@northwind.example", "Noah Berg", "global_admin")],
            },
        ]
    }
