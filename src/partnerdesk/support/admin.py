from zoneinfo import available_timezones

from django import forms
from django.contrib import admin, messages
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partnerdesk.support.models import (
    BusinessCalendar,
    ContractLink,
    Holiday,
    Product,
    RequestNote,
    SupportRequest,
    SupportTopic,
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


@admin.register(SupportTopic)
class SupportTopicAdmin(admin.ModelAdmin):
    """Catalog data: the topics a partner chooses from after the product. The topics the
    catalog ships with are translated where they are shown; new ones show as typed."""

    list_display = ["name", "family", "code", "position"]
    list_filter = ["family"]
    search_fields = ["name", "code", "family"]
    ordering = ["family", "position", "name"]


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1
    ordering = ["date"]


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(available_timezones())]


class BusinessCalendarForm(forms.ModelForm):
    # Stored as ISO weekday digits ("12345"); chosen as days.
    working_days = forms.TypedMultipleChoiceField(
        label=_("working days"),
        choices=[(str(number + 1), name) for number, name in WEEKDAYS.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    time_zone = forms.ChoiceField(label=_("time zone"), choices=_time_zone_choices)

    class Meta:
        model = BusinessCalendar
        fields = [
            "name",
            "is_default",
            "time_zone",
            "working_days",
            "opens_at",
            "closes_at",
            "organizations",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["working_days"] = list(self.instance.working_days)
        elif "working_days" not in self.initial:
            self.initial["working_days"] = list("12345")

    def clean_working_days(self) -> str:
        return "".join(sorted(self.cleaned_data["working_days"]))

    def clean_organizations(self):
        """An organization follows one calendar: it cannot be on two."""
        chosen = self.cleaned_data.get("organizations")
        if not chosen:
            return chosen
        through = BusinessCalendar.organizations.through
        taken = (
            through.objects.filter(organization__in=chosen)
            .exclude(businesscalendar_id=self.instance.pk)
            .select_related("organization", "businesscalendar")
        )
        clashes = [f"{t.organization.name} ({t.businesscalendar.name})" for t in taken]
        if clashes:
            raise forms.ValidationError(
                gettext("Already on another calendar: %(organizations)s.")
                % {"organizations": ", ".join(sorted(clashes))}
            )
        return chosen


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    form = BusinessCalendarForm
    list_display = ["name", "time_zone", "working_days", "opens_at", "closes_at", "is_default"]
    search_fields = ["name"]
    autocomplete_fields = ["organizations"]
    inlines = [HolidayInline]
    fieldsets = [
        (
            None,
            {
                "fields": ["name", "is_default"],
                "description": _(
                    "Business hours for the first-response clocks of severities B and C "
                    "(severity A runs around the clock). A change applies to requests opened "
                    "afterwards: requests already open keep the due time they were given."
                ),
            },
        ),
        (_("Hours"), {"fields": ["time_zone", "working_days", "opens_at", "closes_at"]}),
        (
            _("Organizations"),
            {
                "fields": ["organizations"],
                "description": _(
                    "Organizations not listed on any calendar follow the default calendar."
                ),
            },
        ),
    ]

    def has_delete_permission(self, request, obj=None):
        # The default calendar stays: every organization not listed elsewhere uses it.
        if obj is not None and obj.is_default:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        if queryset.filter(is_default=True).exists():
            self.message_user(
                request,
                gettext("The default calendar cannot be deleted; the others were."),
                messages.WARNING,
            )
        for calendar in queryset.filter(is_default=False):
            calendar.delete()  # one by one: the calendars snapshot hears of each
