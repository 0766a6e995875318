from django.db import migrations

from partnerdesk.benefits.catalog import load_benefit_catalog


def load(apps, schema_editor):
    load_benefit_catalog(
        apps.get_model("benefits", "Benefit"),
        apps.get_model("benefits", "AllotmentRule"),
        amount_field="incidents",
    )


class Migration(migrations.Migration):
    dependencies = [("benefits", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
