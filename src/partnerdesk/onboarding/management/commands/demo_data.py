import json
from pathlib import Path

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.accounts.models import User
from partnerdesk.benefits.activation import activation_complete, activation_request
from partnerdesk.benefits.models import Entitlement, EntitlementState
from partnerdesk.onboarding.demo import DEMO_PASSWORD, OPERATOR_EMAIL, demo_partners
from partnerdesk.onboarding.demo_history import demo_replay_allowed, history_replay
from partnerdesk.onboarding.reader import DataSource
from partnerdesk.onboarding.services import partners_import
from partnerdesk.partners.models import Organization


class Command(BaseCommand):
    help = (
        "Load the demo partners (idempotent) with their last fourteen months of history, "
        "and print their sign-ins."
    )

    def add_arguments(self, parser):
        parser.add_argument("--write", metavar="FILE", help="Also write the import file here.")

    def handle(self, *args, write: str | None, **options):
        data = demo_partners(timezone.localdate())
        if write:
            Path(write).parent.mkdir(parents=True, exist_ok=True)
            Path(write).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        operator = User.objects.filter(email=OPERATOR_EMAIL).first()
        if operator is None:
            operator = User.objects.create_superuser(
                OPERATOR_EMAIL, DEMO_PASSWORD, name="Olga Operator"
            )
        partner_ids = [org["partner_id"] for org in data["organizations"]]
        if not Organization.objects.filter(partner_id__in=partner_ids).exists():
            # A first run writes the demo's past (see demo_history); later runs only
            # bring the partners up to date.
            with demo_replay_allowed():
                history_replay(data=data, operator=operator, today=timezone.localdate())
        partners_import(source=DataSource(data))
        self._activate_one(operator)
        self._open_requests()
        self._grant_plan(operator)
        emails = [u["email"] for org in data["organizations"] for u in org["users"]]
        for user in User.objects.filter(email__in=emails):
            if not user.has_usable_password():
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
        self.stdout.write(_("Demo sign-ins (password: %(password)s)") % {"password": DEMO_PASSWORD})
        rows = [(OPERATOR_EMAIL, _("operator (staff): /admin/"), "")]
        for org in data["organizations"]:
            for u in org["users"]:
                roles = ", ".join(u["roles"]) or _("ordinary user")
                rows.append((u["email"], org["name"], roles))
        for email, where, roles in rows:
            self.stdout.write(f"  {email:<34} {where:<32} {roles}")

    def _activate_one(self, operator: User) -> None:
        """Contoso's product support starts active, so its IDs are there to see; the rest
        waits for a visitor to activate it."""
        entitlement = Entitlement.objects.filter(
            organization__partner_id="4711001", benefit__code="product_support"
        ).first()
        if entitlement is None or entitlement.state != EntitlementState.NOT_ACTIVATED:
            return
        admin = User.objects.get(email="ann@contoso.example")
        outcome = activation_request(user=admin, entitlement_id=entitlement.pk)
        activation_complete(activation_id=outcome.activation.pk, operator=operator)

    def _open_requests(self) -> None:
        """Two requests in the support console, so an engineer has something to pick up."""
        from partnerdesk.support.models import Product, SupportRequest
        from partnerdesk.support.services import SupportRequestDraft, support_request_create

        ann = User.objects.get(email="ann@contoso.example")
        if SupportRequest.objects.filter(opened_by=ann, title__startswith="After CU14").exists():
            return
        contract = Entitlement.objects.get(
            organization__partner_id="4711001", benefit__code="product_support", state="active"
        )
        for family, version, severity, title, description in [
            (
                "SQL Server",
                "2022",
                "A",
                "After CU14 the availability group failover does not complete",
                "The secondary replica stays in RESOLVING for minutes.",
            ),
            (
                "Windows Server",
                "2025",
                "C",
                "Event 1014 floods the System log",
                "DNS client events every few seconds since joining the new domain.",
            ),
        ]:
            support_request_create(
                user=ann,
                draft=SupportRequestDraft(
                    product_id=Product.objects.get(family=family, version=version).pk,
                    severity=severity,
                    title=title,
                    description=description,
                    contract_id=contract.contract_id,
                    access_id=contract.access_id,
                ),
            )

    def _grant_plan(self, operator: User) -> None:
        """Wide World Importers bought Premier Support for Partners."""
        import datetime

        from partnerdesk.benefits.models import Benefit, PlanGrant
        from partnerdesk.benefits.plans import plan_grant
        from partnerdesk.partners.models import Organization

        organization = Organization.objects.get(partner_id="4711004")
        if PlanGrant.objects.filter(organization=organization).exists():
            return
        today = timezone.localdate()
        plan_grant(
            operator=operator,
            organization=organization,
            plan=Benefit.objects.get(code="premier_support"),
            starts=today,
            ends=today + datetime.timedelta(days=364),
        )
