"""Write an import file (CONTRACT.md's format) of N organizations for the import benchmark:
python bench/make_import_file.py 100000 var/bench/import.json"""

import datetime
import json
import sys

COMPETENCIES = ["Cloud Platform", "Data Analytics", "Security", "Messaging", "DevOps"]


def organization(n: int, today: datetime.date) -> dict:
    starts, ends = today - datetime.timedelta(days=30), today + datetime.timedelta(days=335)
    offer = ("action_pack", "silver", "gold")[n % 3]
    membership = {"offer": offer, "starts": starts.isoformat(), "ends": ends.isoformat()}
    if offer != "action_pack":
        membership["competency"] = COMPETENCIES[n % len(COMPETENCIES)]
    item = {
        "partner_id": f"I{n:07d}",
        "name": f"Imported Partner {n}",
        "programs": ["mpn", "csp"] if n % 4 == 0 else ["mpn"],
        "memberships": [membership],
        "users": [
            {
                "email": f"i{n:07d}.{k}@import.example",
                "name": f"Imported User {n}.{k}",
                "account_type": "work" if k else "personal",
                "roles": ["global_admin"] if k == 0 else [],
            }
            for k in range(3)
        ],
    }
    if n % 4 == 0:
        item["customers"] = [{"name": f"Customer of {n}", "tenant_id": f"t-{n:07d}"}]
    return item


def main() -> None:
    count, path = int(sys.argv[1]), sys.argv[2]
    today = datetime.date.today()
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"organizations": [organization(n, today) for n in range(count)]}, out)


if __name__ == "__main__":
    main()
