import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("partners", "0006_membership_programs")]

    operations = [
        migrations.AlterField(
            model_name="membership",
            name="program",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="memberships",
                to="partners.program",
                verbose_name="program",
            ),
        ),
        migrations.AddConstraint(
            model_name='membership',
            constraint=models.CheckConstraint(condition=models.Q(('competency__isnull', True), ('solution_area__isnull', True), _connector='OR'), name='membership_one_qualification', violation_error_message='A membership is held in a competency or a solution area, not both.'),
        ),
        migrations.AddConstraint(
            model_name='membership',
            constraint=models.UniqueConstraint(condition=models.Q(('solution_area__isnull', False)), fields=('organization', 'offer', 'solution_area', 'starts'), name='membership_unique_per_start_in_area'),
        ),
        migrations.AddConstraint(
            model_name='membership',
            constraint=models.UniqueConstraint(condition=models.Q(('competency__isnull', True), ('solution_area__isnull', True)), fields=('organization', 'program', 'offer', 'starts'), name='membership_unique_per_start_without_competency'),
        ),
    ]
