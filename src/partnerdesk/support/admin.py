from django.contrib import admin

from partnerdesk.support.models import (
    ContractLink,
    Product,
    RequestNote,
    SupportRequest,
    Workload,
)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["family", "version", "deployment", "released_on", "mainstream_ends_on"]
    list_filter = ["deployment", "family"]
    search_fields = ["family", "version"]


@admin.register(Workload)
class WorkloadAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "product", "csp_plan", "position"]


class RequestNoteInline(admin.TabularInline):
    model = RequestNote
    extra = 0
    readonly_fields = ["author", "body", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SupportRequest)
class SupportRequestAdmin(admin.ModelAdmin):
    """Read-only here: requests are worked in the support console, where charges and
    refunds go through the ledger."""

    list_display = ["pk", "title", "organization", "product", "severity", "status", "charged"]
    list_filter = ["status", "severity", "resolution", "charged"]
    search_fields = ["title", "organization__name", "organization__partner_id"]
    inlines = [RequestNoteInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ContractLink)
class ContractLinkAdmin(admin.ModelAdmin):
    list_display = ["user", "entitlement", "linked_at"]
    search_fields = ["user__email", "entitlement__contract_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
