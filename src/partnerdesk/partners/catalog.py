"""The competency catalog the program starts with (loaded by a migration; the operator
edits it in the admin). Names are marked for translation so the portal can show them in
the reader's language; names an operator adds later show as typed."""

from django.utils.translation import gettext_noop

CLOUD_COMPETENCIES = [
    gettext_noop("Security"),
    gettext_noop("Cloud Business Applications"),
    gettext_noop("Cloud Platform"),
    gettext_noop("Cloud Productivity"),
    gettext_noop("Enterprise Mobility Management"),
    gettext_noop("Small and Midmarket Cloud Solutions"),
]

OTHER_COMPETENCIES = [
    gettext_noop("Data Analytics"),
    gettext_noop("Data Platform"),
    gettext_noop("Application Development"),
    gettext_noop("DevOps"),
    gettext_noop("Datacenter"),
    gettext_noop("Messaging"),
    gettext_noop("Collaboration and Content"),
    gettext_noop("Communications"),
    gettext_noop("Windows and Devices"),
    gettext_noop("Application Integration"),
    gettext_noop("Project and Portfolio Management"),
    gettext_noop("Learning"),
    gettext_noop("Enterprise Resource Planning"),
    gettext_noop("Cloud Customer Relationship Management"),
    gettext_noop("Application Lifecycle Management"),
    gettext_noop("Independent Software Vendor (ISV)"),
]


def load_competencies(competency_model) -> None:
    """Idempotent; the migration passes its historical model, tests the real one."""
    for names, is_cloud in ((CLOUD_COMPETENCIES, True), (OTHER_COMPETENCIES, False)):
        for name in names:
            competency_model.objects.update_or_create(name=name, defaults={"is_cloud": is_cloud})
