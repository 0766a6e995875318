from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from partnerdesk.accounts.models import ApiToken, AuditEvent, User
from partnerdesk.accounts.services import api_token_revoke


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "organization", "account_type", "is_staff", "is_active"]
    list_filter = [
        "account_type",
        "is_staff",
        "is_active",
        "is_global_admin",
        "is_mpn_partner_admin",
        "is_admin_agent",
        "is_helpdesk_agent",
    ]
    search_fields = ["email", "name", "organization__name", "organization__partner_id"]
    autocomplete_fields = ["organization"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Person"), {"fields": ["name", "account_type", "language", "oidc_subject"]}),
        (
            _("Partner organization and roles"),
            {
                "fields": [
                    "organization",
                    "is_global_admin",
                    "is_mpn_partner_admin",
                    "is_admin_agent",
                    "is_helpdesk_agent",
                ]
            },
        ),
        (
            _("Operator access"),
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "name", "organization", "password1", "password2"],
            },
        )
    ]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "scopes", "created_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at", "scopes"]
    search_fields = ["user__email", "prefix", "name"]
    readonly_fields = ["prefix", "scopes", "created_at", "revoked_at"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset.select_related("user__organization"):
            api_token_revoke(token=token, actor=request.user)

    def has_add_permission(self, request):
        # A token is shown once at creation; `partnerdesk createtoken` is the way to make one.
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "actor", "organization", "target_type", "target_id"]
    list_filter = ["action"]
    search_fields = ["action", "actor__email", "organization__name", "target_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
