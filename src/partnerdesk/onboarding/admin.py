"""The operator console's organizations and memberships: every edit of a membership is
followed by re-deriving the organization's entitlements."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from partnerdesk.onboarding.services import memberships_changed
from partnerdesk.partners.models import Customer, Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["offer", "competency", "starts", "ends"]


class CustomerInline(admin.TabularInline):
    model = Customer
    extra = 0
    fields = ["name", "tenant_id"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "partner_id", "in_mpn", "in_csp", "contact_email"]
    list_filter = ["in_mpn", "in_csp"]
    search_fields = ["name", "partner_id", "contact_email", "tenant_id"]
    fieldsets = [
        (None, {"fields": ["partner_id", "name", "tenant_id"]}),
        (_("Programs"), {"fields": ["in_mpn", "in_csp"]}),
        (_("Program contact"), {"fields": ["contact_name", "contact_email"]}),
    ]
    inlines = [MembershipInline, CustomerInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        memberships_changed(organization=form.instance, actor=request.user)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["organization", "offer", "competency", "starts", "ends"]
    list_filter = ["offer", "competency__is_cloud", "competency"]
    search_fields = ["organization__name", "organization__partner_id"]
    autocomplete_fields = ["organization"]
    date_hierarchy = "ends"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        memberships_changed(organization=obj.organization, actor=request.user)

    def delete_model(self, request, obj):
        organization = obj.organization
        super().delete_model(request, obj)
        memberships_changed(organization=organization, actor=request.user)

    def delete_queryset(self, request, queryset):
        organizations = {m.organization for m in queryset.select_related("organization")}
        super().delete_queryset(request, queryset)
        for organization in organizations:
            memberships_changed(organization=organization, actor=request.user)
