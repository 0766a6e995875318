from django.db import migrations

from partnerdesk.support.catalog import load_categories


def load(apps, schema_editor):
    load_categories(apps.get_model("support", "RequestCategory"))


class Migration(migrations.Migration):
    dependencies = [("support", "0010_hours")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
