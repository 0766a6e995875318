from django.db import migrations

from partnerdesk.partners.catalog import load_programs, load_solution_areas


def forwards(apps, schema_editor):
    """The programs and solution areas; every membership so far is the seed's program's."""
    program_model = apps.get_model("partners", "Program")
    load_programs(program_model, apps.get_model("partners", "ProgramOffer"))
    load_solution_areas(apps.get_model("partners", "SolutionArea"))
    seed = program_model.objects.get(code="mpn-2021")
    apps.get_model("partners", "Membership").objects.update(program=seed)


class Migration(migrations.Migration):
    # Its own migration: PostgreSQL cannot alter a table with pending trigger events.
    dependencies = [("partners", "0005_programs")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
