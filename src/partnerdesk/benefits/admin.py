from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from partnerdesk.benefits.models import AllotmentRule, Benefit, Entitlement, LedgerEntry
from partnerdesk.benefits.services import entitlements_sync
from partnerdesk.partners.models import Organization


class AllotmentRuleInline(admin.TabularInline):
    model = AllotmentRule
    extra = 0


@admin.register(Benefit)
class BenefitAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "covers", "position"]
    inlines = [AllotmentRuleInline]


@admin.register(AllotmentRule)
class AllotmentRuleAdmin(admin.ModelAdmin):
    list_display = ["benefit", "offer", "competency_kind", "allotment", "incidents"]
    list_filter = ["benefit", "offer", "competency_kind"]
    actions = ["resync_all"]

    @admin.action(description=_("Re-derive every organization's entitlements from this table"))
    def resync_all(self, request, queryset):
        count = 0
        for organization in Organization.objects.filter(in_mpn=True).iterator():
            entitlements_sync(organization=organization, actor_id=request.user.pk)
            count += 1
        self.message_user(
            request, _("Entitlements re-derived for %(count)d organizations.") % {"count": count}
        )


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "delta", "balance_after", "allowance_after", "actor", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Entitlement)
class EntitlementAdmin(admin.ModelAdmin):
    list_display = [
        "organization",
        "benefit",
        "offer",
        "state",
        "allowance",
        "used",
        "balance",
        "activation_deadline",
        "expires_on",
    ]
    list_filter = ["benefit", "state", "offer"]
    search_fields = ["organization__name", "organization__partner_id", "contract_id"]
    readonly_fields = [
        "organization",
        "benefit",
        "membership",
        "state",
        "offer",
        "competency_name",
        "allowance",
        "used",
        "balance",
        "activation_deadline",
        "activated_at",
        "expires_on",
        "access_id",
        "contract_id",
        "created_at",
        "ended_at",
    ]
    inlines = [LedgerEntryInline]

    def has_add_permission(self, request):
        # Entitlements come from memberships; balances move only through the ledger.
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "entitlement", "kind", "delta", "balance_after", "actor"]
    list_filter = ["kind"]
    search_fields = ["entitlement__organization__name", "entitlement__organization__partner_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
