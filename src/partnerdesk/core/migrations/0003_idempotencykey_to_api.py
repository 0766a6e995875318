from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_idempotencykey"),
        ("api", "0001_idempotencykey_from_core"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotencyKey")],
            database_operations=[],
        ),
    ]
