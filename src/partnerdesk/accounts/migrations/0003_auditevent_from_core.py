# The audit log moves from core to accounts, the lowest layer that records into it: the
# model's state moves (core 0004 forgets it), its table keeps its rows and takes the new
# app's name.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_user_full_name_label"),
        ("core", "0003_idempotencykey_to_api"),
        ("partners", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("at", models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="at")),
                        ("action", models.CharField(db_index=True, max_length=64, verbose_name="action")),
                        ("target_type", models.CharField(blank=True, max_length=64, verbose_name="object type")),
                        ("target_id", models.CharField(blank=True, max_length=64, verbose_name="object ID")),
                        ("data", models.JSONField(blank=True, default=dict, verbose_name="details")),
                        ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="by")),
                        ("organization", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="partners.organization", verbose_name="organization")),
                    ],
                    options={
                        "verbose_name": "audit event",
                        "verbose_name_plural": "audit events",
                        "ordering": ["-at", "-id"],
                        "db_table": "core_auditevent",
                        "indexes": [models.Index(fields=["target_type", "target_id"], name="core_audite_target__8673ce_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="auditevent", table="accounts_auditevent"),
    ]
