"""E-mail addresses are one user however they are cased: stored addresses are lowercased
(refusing, with the addresses named, when two users differ only by case), then a unique
index on lower(email) guards it."""

import django.db.models.functions.text
from django.db import migrations, models
from django.db.models.functions import Lower


def lowercase_emails(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    mixed = list(User.objects.exclude(email=Lower("email")).values_list("pk", "email"))
    if not mixed:
        return
    taken = {}
    for email in User.objects.values_list("email", flat=True):
        taken.setdefault(email.strip().lower(), []).append(email)
    clashes = sorted(", ".join(group) for group in taken.values() if len(group) > 1)
    if clashes:
        raise RuntimeError(
            "These users differ only by the case of their e-mail address; merge or rename "
            "them, then migrate again: " + "; ".join(clashes)
        )
    for pk, email in mixed:
        User.objects.filter(pk=pk).update(email=email.strip().lower())


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_auditevent_from_core'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('partners', '0003_membership_unique_without_nulls_distinct'),
    ]

    operations = [
        migrations.RunPython(lowercase_emails, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='user',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('email'), name='accounts_user_email_ci_unique'),
        ),
    ]
