from django.db import migrations

from partnerdesk.partners.catalog import load_competencies


def load(apps, schema_editor):
    load_competencies(apps.get_model("partners", "Competency"))


class Migration(migrations.Migration):
    dependencies = [("partners", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
