from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from partnerdesk.accounts.models import User
from partnerdesk.accounts.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user; the token is the last line printed."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="", help="A label to recognise the token by.")

    def handle(self, *args, email: str, name: str, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(_("No user with the e-mail address %(email)s.") % {"email": email})
        if not user.is_active:
            raise CommandError(_("The user %(email)s is deactivated.") % {"email": user.email})
        raw = api_token_create(user=user, name=name)
        self.stderr.write(
            _("API token for %(email)s (shown only once; store it now):") % {"email": user.email}
        )
        self.stdout.write(raw)
