from django.db import migrations

from partnerdesk.benefits.catalog import load_paid_plans


def load(apps, schema_editor):
    load_paid_plans(apps.get_model("benefits", "Benefit"))


class Migration(migrations.Migration):
    dependencies = [("benefits", "0005_paid_plans")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
