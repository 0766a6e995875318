from django.db import migrations

from partnerdesk.support.catalog import load_workloads


def load(apps, schema_editor):
    load_workloads(apps.get_model("support", "Workload"), apps.get_model("support", "Product"))


class Migration(migrations.Migration):
    dependencies = [("support", "0003_workloads")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
