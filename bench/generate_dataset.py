"""Write a synthetic dataset for the benchmark (organizations with memberships, active
entitlements, users, support requests, every balance change posted to the ledger),
consistent with ``partnerdesk reconcile``; the database is the one DATABASE_URL names.

    .venv/bin/python bench/generate_dataset.py --organizations 1000 --requests 10000 \\
        --writers 500 --tokens-file var/bench/tokens.txt

The last line printed is the summary; bench/run.py reads the product ids from its
"(products: on-premises N, cloud N)"."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organizations", type=int, default=100_000)
    parser.add_argument("--users-per-organization", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--writers", type=int, default=0, help="Users given API tokens.")
    parser.add_argument("--start", type=int, default=0, help="First organization number.")
    parser.add_argument("--tokens-file", help="Write the writers' tokens here, one a line.")
    args = parser.parse_args(argv)

    # Run as a script, sys.path[0] is bench/; the generator is imported as bench.dataset.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerdesk.settings")
    import django

    django.setup()
    from bench.dataset import DatasetSize, generate
    from partnerdesk.support.models import Product, SupportRequest

    before = SupportRequest.objects.count()
    began = time.monotonic()
    tokens = generate(
        DatasetSize(
            organizations=args.organizations,
            users_per_organization=args.users_per_organization,
            requests=args.requests,
            writers=args.writers,
            start=args.start,
        )
    )
    if args.tokens_file:
        path = Path(args.tokens_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{t}\n" for t in tokens))
    # A database loaded in bulk gets its planner statistics before it is used (autovacuum
    # would otherwise gather them in the middle of the measurement).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    seconds = time.monotonic() - began
    written = SupportRequest.objects.count() - before
    onprem = Product.objects.get(family="SQL Server", version="2022").pk
    cloud = Product.objects.get(family="Azure", version="").pk
    print(
        f"generated {args.organizations} organizations, {written} requests in "
        f"{seconds:.1f} s (products: on-premises {onprem}, cloud {cloud})",
        flush=True,
    )


if __name__ == "__main__":
    main()
