import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.accounts.models import TokenScope, User
from partnerdesk.accounts.services import api_token_create
from partnerdesk.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Create an API token for a user; the token is the last line printed."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="", help="A label to recognise the token by.")
        parser.add_argument(
            "--expires-in",
            type=int,
            default=365,
            metavar="DAYS",
            help="Days until the token stops working (default 365; 0: never).",
        )
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            choices=TokenScope.values,
            help="operator: the operators' endpoints (/api/v1/admin/…); staff users only.",
        )

    def handle(self, *args, email: str, name: str, expires_in: int, scope: list[str], **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(_("No user with the e-mail address %(email)s.") % {"email": email})
        if not user.is_active:
            raise CommandError(_("The user %(email)s is deactivated.") % {"email": user.email})
        if expires_in < 0:
            raise CommandError(_("--expires-in takes a number of days, 0 or more."))
        expires_at = timezone.now() + datetime.timedelta(days=expires_in) if expires_in else None
        try:
            raw = api_token_create(user=user, name=name, expires_at=expires_at, scopes=scope)
        except ApplicationError as exc:
            raise CommandError(str(exc.detail)) from exc
        self.stderr.write(
            _("API token for %(email)s (shown only once; store it now):") % {"email": user.email}
        )
        self.stdout.write(raw)
