from django.db import migrations
from django.db.models import F

from partnerdesk.benefits.catalog import load_program_benefits


def load(apps, schema_editor):
    load_program_benefits(
        apps.get_model("partners", "Program"),
        apps.get_model("benefits", "Benefit"),
        apps.get_model("benefits", "AllotmentRule"),
    )
    # Entitlements granted by a membership went with it (the seed's rule): record the
    # membership's end, which was their last date to activate.
    apps.get_model("benefits", "Entitlement").objects.filter(membership__isnull=False).update(
        membership_ends=F("activation_deadline")
    )


class Migration(migrations.Migration):
    dependencies = [("benefits", "0009_programs")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
