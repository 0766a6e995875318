from django.db import migrations


def load(apps, schema_editor):
    from partnerdesk.support.catalog import load_default_calendar, load_topics

    load_topics(apps.get_model("support", "SupportTopic"))
    load_default_calendar(apps.get_model("support", "BusinessCalendar"))


class Migration(migrations.Migration):
    dependencies = [("support", "0007_desk")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
