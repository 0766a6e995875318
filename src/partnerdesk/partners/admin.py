"""The catalog of competencies and the CSP customers. Organizations and memberships are
edited in ``onboarding.admin``: a membership edit re-derives entitlements, which sits
above this app."""

from django.contrib import admin

from partnerdesk.partners.models import Competency, Customer


@admin.register(Competency)
class CompetencyAdmin(admin.ModelAdmin):
    list_display = ["name", "is_cloud"]
    list_filter = ["is_cloud"]
    search_fields = ["name"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant_id", "organization"]
    search_fields = ["name", "tenant_id", "organization__name", "organization__partner_id"]
    autocomplete_fields = ["organization"]
