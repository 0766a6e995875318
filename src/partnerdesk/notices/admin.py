from django.contrib import admin

from partnerdesk.notices.models import Notice


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "entitlement", "kind", "threshold"]
    list_filter = ["kind", "threshold"]
    search_fields = ["organization__name", "organization__partner_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
