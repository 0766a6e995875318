"""Webhooks in the operations console: endpoints (the secret shown, the state, resume and
disable), and deliveries with every attempt's answer (replay)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from partnerdesk.core.exceptions import ApplicationError, ValidationFailed
from partnerdesk.events.models import EventType
from partnerdesk.webhooks import selectors, services
from partnerdesk.webhooks.models import (
    DeliveryState,
    EndpointState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from partnerdesk.webhooks.targets import webhook_target


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=2000, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("event types"),
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every type."),
    )
    secret = forms.CharField(
        label=_("signing secret"),
        required=False,
        max_length=128,
        help_text=_("whsec_ and base64; left empty, one is generated."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "event_types", "organization", "secret", "description"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            webhook_target(url)
        except ValidationFailed as refused:
            raise forms.ValidationError(str(refused.detail)) from None
        return url

    def clean_secret(self):
        secret = self.cleaned_data.get("secret") or ""
        if not secret:
            return self.instance.secret if self.instance.pk else ""
        problem = services._secret_problem(secret)
        if problem:
            raise forms.ValidationError(problem)
        return secret


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["url", "organization", "state", "types", "failing_since", "created_at"]
    list_filter = ["state"]
    search_fields = ["url", "description", "organization__partner_id", "organization__name"]
    list_select_related = ["organization"]
    autocomplete_fields = ["organization"]
    readonly_fields = [
        "state",
        "failing_since",
        "failure_reason",
        "cursor",
        "created_at",
        "created_by",
    ]
    actions = ["resume", "disable"]

    @admin.display(description=_("event types"))
    def types(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.event_types) or str(_("every type"))

    def get_fields(self, request, obj=None):
        fields = ["url", "event_types", "organization", "secret", "description"]
        return fields + (self.readonly_fields if obj is not None else [])

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            form.base_fields["secret"].initial = obj.secret
        return form

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        created = services.webhook_endpoint_create(
            operator=request.user,
            draft=services.EndpointDraft(
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                organization=(
                    form.cleaned_data["organization"].partner_id
                    if form.cleaned_data["organization"]
                    else None
                ),
                secret=form.cleaned_data["secret"] or None,
                description=form.cleaned_data["description"],
            ),
        )
        # The admin goes on with the form's instance (the redirect, the message): make it
        # the row the service wrote.
        for field in WebhookEndpoint._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False

    def changelist_view(self, request, extra_context=None):
        failing = selectors.webhook_endpoints_failing()
        if failing and request.method == "GET":
            self.message_user(
                request,
                ngettext(
                    "%(count)d webhook endpoint is failing and receives nothing until it "
                    "is resumed: %(urls)s",
                    "%(count)d webhook endpoints are failing and receive nothing until they "
                    "are resumed: %(urls)s",
                    len(failing),
                )
                % {"count": len(failing), "urls": ", ".join(e.url for e in failing)},
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Resume the selected failing endpoints"))
    def resume(self, request, queryset):
        done = 0
        for pk in queryset.filter(state=EndpointState.FAILING).values_list("pk", flat=True):
            services.webhook_endpoint_resume(endpoint_id=pk, operator=request.user)
            done += 1
        self.message_user(
            request,
            ngettext("%(count)d endpoint resumed.", "%(count)d endpoints resumed.", done)
            % {"count": done},
        )

    @admin.action(description=_("Disable the selected endpoints"))
    def disable(self, request, queryset):
        pks = list(queryset.exclude(state=EndpointState.DISABLED).values_list("pk", flat=True))
        for pk in pks:
            services.webhook_endpoint_disable(endpoint_id=pk, operator=request.user)
        self.message_user(
            request,
            ngettext("%(count)d endpoint disabled.", "%(count)d endpoints disabled.", len(pks))
            % {"count": len(pks)},
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # disable instead: the deliveries' history stays


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["at", "status_code", "duration_ms", "error", "response_body"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "position",
        "event",
        "endpoint",
        "organization",
        "state",
        "attempts",
        "last_status",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["state", "endpoint"]
    search_fields = ["endpoint__url", "organization__partner_id", "event__uid"]
    list_select_related = ["event", "endpoint", "organization"]
    readonly_fields = [
        "endpoint",
        "event",
        "organization",
        "position",
        "state",
        "attempts",
        "next_attempt_at",
        "leased_until",
        "delivered_at",
        "last_status",
        "created_at",
    ]
    fields = readonly_fields
    inlines = [AttemptInline]
    actions = ["replay"]

    @admin.action(description=_("Send the selected deliveries again"))
    def replay(self, request, queryset):
        done = 0
        for pk in queryset.exclude(state=DeliveryState.PENDING).values_list("pk", flat=True):
            try:
                services.webhook_delivery_replay(delivery_id=pk, operator=request.user)
                done += 1
            except ApplicationError as error:
                self.message_user(request, str(error.detail), messages.ERROR)
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery will be sent again.",
                "%(count)d deliveries will be sent again.",
                done,
            )
            % {"count": done},
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # read-only; replay is an action

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
