from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0003_idempotencykey_to_api"),
        ("accounts", "0003_auditevent_from_core"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
    ]
