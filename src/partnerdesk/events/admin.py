from django.contrib import admin

from partnerdesk.events.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Read-only: the outbox is written by the services, never by hand."""

    list_display = ["position", "type", "organization", "occurred_at"]
    list_filter = ["type"]
    search_fields = ["organization__partner_id", "organization__name", "uid"]
    list_select_related = ["organization"]
    readonly_fields = ["uid", "type", "organization", "occurred_at", "data", "position"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
