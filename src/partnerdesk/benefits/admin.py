from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from partnerdesk.benefits.activation import activation_complete, activation_reject
from partnerdesk.benefits.models import (
    Activation,
    ActivationState,
    AllotmentRule,
    Benefit,
    Entitlement,
    LedgerEntry,
    PlanGrant,
    Program,
    ProgramOffer,
)
from partnerdesk.benefits.plans import plan_grant, plan_grant_problems
from partnerdesk.benefits.services import entitlement_adjust, entitlements_sync
from partnerdesk.core import limits
from partnerdesk.core.exceptions import ApplicationError
from partnerdesk.partners.models import Organization


class AllotmentRuleInline(admin.TabularInline):
    model = AllotmentRule
    extra = 0


class ProgramOfferInline(admin.TabularInline):
    model = ProgramOffer
    extra = 0


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "valid_from", "valid_to", "combination", "validity"]
    inlines = [ProgramOfferInline]


@admin.register(Benefit)
class BenefitAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "program",
        "unit",
        "kind",
        "covers",
        "plan_incidents",
        "position",
    ]
    list_filter = ["program", "kind"]
    inlines = [AllotmentRuleInline]


class PlanGrantForm(forms.ModelForm):
    class Meta:
        model = PlanGrant
        fields = ["organization", "plan", "starts", "ends"]

    def clean(self):
        cleaned = super().clean()
        if all(cleaned.get(f) for f in ("organization", "plan", "starts", "ends")):
            for problem in plan_grant_problems(
                organization=cleaned["organization"],
                plan=cleaned["plan"],
                starts=cleaned["starts"],
                ends=cleaned["ends"],
            ):
                self.add_error(problem["path"], problem["message"])
        return cleaned


@admin.register(PlanGrant)
class PlanGrantAdmin(admin.ModelAdmin):
    form = PlanGrantForm
    list_display = ["organization", "plan", "starts", "ends", "granted_by", "created_at"]
    list_filter = ["plan"]
    search_fields = ["organization__name", "organization__partner_id"]
    autocomplete_fields = ["organization"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        grant = plan_grant(
            operator=request.user,
            organization=obj.organization,
            plan=obj.plan,
            starts=obj.starts,
            ends=obj.ends,
        )
        obj.pk, obj.entitlement = grant.pk, grant.entitlement


@admin.register(AllotmentRule)
class AllotmentRuleAdmin(admin.ModelAdmin):
    list_display = ["benefit", "offer", "competency_kind", "allotment", "amount"]
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


class EntitlementAdjustmentForm(forms.ModelForm):
    adjust_by = forms.IntegerField(
        label=_("Adjust the balance by"),
        required=False,
        help_text=_("Incidents to add (or, negative, to remove). Recorded in the ledger."),
    )
    adjust_note = forms.CharField(label=_("Reason"), required=False, max_length=300)

    class Meta:
        model = Entitlement
        fields: list[str] = []

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("adjust_by") and not (cleaned.get("adjust_note") or "").strip():
            self.add_error("adjust_note", _("Say why the balance changes."))
        return cleaned


@admin.register(Entitlement)
class EntitlementAdmin(admin.ModelAdmin):
    form = EntitlementAdjustmentForm
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

    def get_fields(self, request, obj=None):
        return [*self.readonly_fields, "adjust_by", "adjust_note"]

    def save_model(self, request, obj, form, change):
        delta = form.cleaned_data.get("adjust_by")
        if delta:
            try:
                entitlement_adjust(
                    operator=request.user,
                    entitlement_id=obj.pk,
                    delta=delta,
                    note=form.cleaned_data["adjust_note"],
                )
            except ApplicationError as error:
                problems = getattr(error, "errors", None) or [{"message": error.detail}]
                for problem in problems:
                    self.message_user(request, str(problem["message"]), messages.ERROR)

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


class ActivationDecisionForm(forms.ModelForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("", _("Leave pending")),
            ("approve", _("Approve now")),
            ("reject", _("Reject")),
        ],
        required=False,
    )
    reason = forms.CharField(
        label=_("Reason for rejection (the partner sees it)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=limits.REASON_MAX,
        required=False,
    )

    class Meta:
        model = Activation
        fields: list[str] = []

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "reject" and not cleaned.get("reason", "").strip():
            self.add_error("reason", _("Give the partner a reason."))
        return cleaned


@admin.register(Activation)
class ActivationAdmin(admin.ModelAdmin):
    list_display = ["entitlement", "state", "requested_by", "requested_at", "due_at", "decided_by"]
    list_filter = ["state"]
    search_fields = [
        "entitlement__organization__name",
        "entitlement__organization__partner_id",
        "requested_by__email",
    ]
    readonly_fields = [
        "entitlement",
        "state",
        "requested_by",
        "requested_at",
        "due_at",
        "decided_by",
        "decided_at",
        "rejection_reason",
    ]
    form = ActivationDecisionForm
    actions = ["approve_now"]

    def get_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None and obj.state == ActivationState.PENDING:
            fields += ["decision", "reason"]
        return fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        decision = form.cleaned_data.get("decision")
        try:
            if decision == "approve":
                activation_complete(activation_id=obj.pk, operator=request.user)
            elif decision == "reject":
                activation_reject(
                    activation_id=obj.pk, operator=request.user, reason=form.cleaned_data["reason"]
                )
        except ApplicationError as error:
            self.message_user(request, str(error.detail), messages.ERROR)

    @admin.action(description=_("Approve the selected activations now"))
    def approve_now(self, request, queryset):
        done = sum(
            activation_complete(activation_id=pk, operator=request.user)
            for pk in queryset.filter(state=ActivationState.PENDING).values_list("pk", flat=True)
        )
        self.message_user(
            request,
            ngettext("%(count)d activation completed.", "%(count)d activations completed.", done)
            % {"count": done},
        )
