from django.db import migrations

from partnerdesk.support.catalog import load_products


def load(apps, schema_editor):
    load_products(apps.get_model("support", "Product"))


class Migration(migrations.Migration):
    dependencies = [("support", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
