import time
from pathlib import Path

from django.core.management.base import BaseCommand

from partnerdesk.core.dataset import DatasetSize, generate
from partnerdesk.support.models import Product


class Command(BaseCommand):
    help = (
        "Write a synthetic dataset for the benchmark (organizations with memberships, active "
        "entitlements, users, support requests and their ledger), consistent with reconcile."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organizations", type=int, default=100_000)
        parser.add_argument("--users-per-organization", type=int, default=3)
        parser.add_argument("--requests", type=int, default=1_000_000)
        parser.add_argument("--writers", type=int, default=0, help="Users given API tokens.")
        parser.add_argument("--start", type=int, default=0, help="First organization number.")
        parser.add_argument("--tokens-file", help="Write the writers' tokens here, one a line.")

    def handle(self, *args, **options):
        began = time.monotonic()
        tokens = generate(
            DatasetSize(
                organizations=options["organizations"],
                users_per_organization=options["users_per_organization"],
                requests=options["requests"],
                writers=options["writers"],
                start=options["start"],
            )
        )
        if options["tokens_file"]:
            path = Path(options["tokens_file"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"{t}\n" for t in tokens))
        onprem = Product.objects.get(family="SQL Server", version="2022").pk
        cloud = Product.objects.get(family="Azure", version="").pk
        self.stdout.write(
            f"generated {options['organizations']} organizations in "
            f"{time.monotonic() - began:.1f} s (products: on-premises {onprem}, cloud {cloud})"
        )
