from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class OrganizationScopedQuerySet(models.QuerySet):
    """Tenant-owned rows. ``for_user`` is the only way views and endpoints reach them, so
    none can forget the tenant: a user sees their own organization's rows, nobody else's."""

    organization_field = "organization"

    def for_user(self, user) -> "OrganizationScopedQuerySet":
        organization_id = getattr(user, "organization_id", None)
        if not getattr(user, "is_authenticated", False) or organization_id is None:
            return self.none()
        return self.filter(**{f"{self.organization_field}_id": organization_id})


class TranslatedName:
    """Catalog rows whose seeded names are in the message catalogs: shown in the
    reader's language (names an operator adds show as typed)."""

    name: str

    @property
    def display_name(self) -> str:
        return gettext(self.name)
