from decimal import Decimal

from django import forms
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partnerdesk.core import limits
from partnerdesk.support.models import Charging, Resolution, Severity
from partnerdesk.support.services import (
    ESTIMATE_MAX_MINUTES,
    TIME_ENTRY_MAX_MINUTES,
    SupportRequestDraft,
)


def _no_control_characters(multiline: bool):
    def validate(value: str) -> None:
        index = limits.forbidden_character(value, multiline=multiline)
        if index is not None:
            raise forms.ValidationError(limits.forbidden_character_message(value, index))

    return validate


def text(label, max_length: int, *, multiline: bool = False, rows: int = 0, **options):
    """A text field with core.limits' length and characters (the browser counts too:
    ``maxlength`` on the input)."""
    if multiline:
        options["widget"] = forms.Textarea(attrs={"rows": rows or 3})
    return forms.CharField(
        label=label,
        max_length=max_length,
        validators=[_no_control_characters(multiline)],
        **options,
    )


class RequestFieldsForm(forms.Form):
    """What every support request asks, for the partner's own and for a CSP customer's."""

    severity = forms.ChoiceField(
        label=_("Severity"), choices=Severity.choices, widget=forms.RadioSelect, initial="B"
    )
    title = text(_("Title"), limits.TITLE_MAX)
    description = text(
        _("Description"),
        limits.DESCRIPTION_MAX,
        multiline=True,
        rows=5,
        help_text=_("One specific problem: what happens, what you expected, what you tried."),
    )
    error_message = text(
        _("Error message"), limits.ERROR_MESSAGE_MAX, multiline=True, rows=2, required=False
    )
    contact_name = text(_("Contact name"), limits.NAME_MAX, required=False)
    contact_email = forms.EmailField(
        label=_("Contact e-mail"), max_length=limits.EMAIL_MAX, required=False
    )
    contact_phone = text(_("Contact phone"), limits.PHONE_MAX, required=False)
    access_id = text(_("Access ID"), 64, required=False)
    contract_id = text(_("Contract ID"), 64, required=False)

    def draft(self, **extra) -> SupportRequestDraft:
        data = self.cleaned_data
        fields = {
            name: data[name]
            for name in (
                "severity",
                "title",
                "description",
                "error_message",
                "contact_name",
                "contact_email",
                "contact_phone",
            )
        }
        ids = {"contract_id": data["contract_id"] or None, "access_id": data["access_id"] or None}
        topic = {"topic_id": data.get("topic")}
        return SupportRequestDraft(**(fields | ids | topic | extra))


def topic_choices(family: str | None) -> list[tuple[str | int, str]]:
    """The product family's support topics, by name in the reader's language (optional:
    the first choice is none)."""
    from partnerdesk.support.catalog_snapshot import catalog
    from partnerdesk.support.selectors import topic_name

    topics = sorted(
        (t for t in catalog().topics.values() if family and t.family == family),
        key=lambda t: (t.position, t.pk),
    )
    return [("", gettext("No topic (not sure)")), *((t.pk, topic_name(t)) for t in topics)]


def product_family(product_id) -> str | None:
    from partnerdesk.support.catalog_snapshot import catalog

    try:
        product = catalog().products.get(int(product_id or 0))
    except (TypeError, ValueError):
        return None
    return product.family if product is not None else None


def topic_field() -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label=_("Topic"), coerce=int, empty_value=None, required=False)


class TopicForm(forms.Form):
    """The topic select alone: the plan picker's htmx answer brings it along (out of
    band) when the product changes."""

    topic = topic_field()

    def __init__(self, *args, family: str | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topic"].choices = topic_choices(family)


def request_categories() -> list:
    """The request categories, in their order (data an operator edits)."""
    from partnerdesk.support.catalog_snapshot import catalog

    return sorted(catalog().categories.values(), key=lambda c: (c.position, c.code))


class SupportRequestForm(RequestFieldsForm):
    # Not sent (a form from before categories, a script): technical.
    category = forms.ChoiceField(
        label=_("Category"), widget=forms.RadioSelect, initial="technical", required=False
    )
    # Advisory requests: the estimate is reserved from the advisory hours, to the minute.
    estimate_hours = forms.DecimalField(
        label=_("Estimated time (hours)"),
        required=False,
        min_value=Decimal("0.25"),
        max_value=ESTIMATE_MAX_MINUTES // 60,
        step_size=Decimal("0.25"),
        decimal_places=2,
        help_text=_("Advisory requests: reserved from your advisory hours when you open it."),
    )
    product = forms.TypedChoiceField(label=_("Product"), coerce=int)
    topic = topic_field()
    contract = forms.TypedChoiceField(
        label=_("Support plan"), coerce=int, required=False, widget=forms.RadioSelect
    )
    field_order = ["category", "estimate_hours", "product", "topic", "contract"]

    def __init__(self, *args, products, contracts, **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = request_categories()
        self.fields["category"].choices = [(c.code, c.display_name) for c in self.categories]
        # htmx: another category reloads the plan picker with the plans that charge it.
        self.fields["category"].widget.attrs.update(
            {
                "hx-get": reverse("web:request_plans"),
                "hx-target": "#plans",
                "hx-swap": "outerHTML",
                "hx-include": "[name=product],[name=access_id],[name=contract_id]",
            }
        )
        self.fields["product"].choices = [("", _("Choose a product")), *products]
        self.fields["topic"].choices = topic_choices(product_family(self.data.get("product")))
        # htmx: choosing a product reloads the plan picker with the plans that cover it.
        self.fields["product"].widget.attrs.update(
            {
                "hx-get": reverse("web:request_plans"),
                "hx-target": "#plans",
                "hx-swap": "outerHTML",
                # Keep what the user already typed into the first-use fields.
                "hx-include": "[name=access_id],[name=contract_id],[name=category]",
            }
        )
        self.fields["contract"].choices = contracts

    def clean_category(self) -> str:
        return self.cleaned_data.get("category") or "technical"

    def category_options(self) -> list[tuple]:
        """Each category's radio button with its translated description."""
        descriptions = {
            c.code: gettext(c.description) if c.description else "" for c in self.categories
        }
        return [(radio, descriptions.get(radio.data["value"], "")) for radio in self["category"]]

    @property
    def charges_hours(self) -> bool:
        code = self.cleaned_data.get("category") if hasattr(self, "cleaned_data") else None
        return any(c.code == code and c.charging == Charging.HOURS for c in self.categories)

    def clean(self):
        data = super().clean()
        if self.charges_hours:
            if data.get("estimate_hours") is None and "estimate_hours" not in self.errors:
                self.add_error(
                    "estimate_hours",
                    gettext(
                        "Say how long you expect the advice to take, in hours: it is "
                        "reserved from your advisory hours."
                    ),
                )
        else:
            # The field is for advisory requests only: another category ignores it.
            self.errors.pop("estimate_hours", None)
            data["estimate_hours"] = None
        return data

    def draft(self, **extra) -> SupportRequestDraft:
        hours = self.cleaned_data.get("estimate_hours")
        return super().draft(
            category=self.cleaned_data["category"],
            estimate_minutes=round(hours * 60) if hours is not None else None,
            **extra,
        )


class CustomerRequestForm(RequestFieldsForm):
    workload = forms.ChoiceField(label=_("Workload"))
    topic = topic_field()
    field_order = ["workload", "topic"]

    def __init__(self, *args, workloads, reload_url: str, family: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workload"].choices = workloads
        # The workload's product family: the page reloads when the workload changes.
        self.fields["topic"].choices = topic_choices(family)
        # htmx: another workload reloads the page with its plan explained.
        self.fields["workload"].widget.attrs.update(
            {"hx-get": reload_url, "hx-target": "body", "hx-push-url": "true"}
        )


class NoteForm(forms.Form):
    body = text(_("Your reply"), limits.NOTE_MAX, multiline=True, rows=4)
    # Engineers only (support.permissions): the console's reply form shows them.
    internal = forms.BooleanField(label=_("Internal note (partners don't see it)"), required=False)
    attention_needed = forms.BooleanField(
        label=_("Ask the partner (waits for their reply)"), required=False
    )


def _closing_choices(category=None) -> list[tuple[str, str]]:
    """Each resolution, saying which give the incident back (by the request's category;
    none says technical)."""
    refunds = category.refunds_on if category is not None else Resolution.refunding().__contains__
    return [
        (
            r.value,
            gettext("%(resolution)s (refunds the incident)") % {"resolution": r.label}
            if refunds(r)
            else r.label,
        )
        for r in Resolution.closing()
    ]


class CloseForm(forms.Form):
    resolution = forms.ChoiceField(label=_("Resolution"), choices=_closing_choices)

    def __init__(self, *args, category=None, **kwargs):
        super().__init__(*args, **kwargs)
        if category is not None:
            self.fields["resolution"].choices = _closing_choices(category)

    # Advisory requests: the settlement may take the hours below zero only with this.
    overdraw = forms.BooleanField(
        label=_("Allow going below zero (operator override)"), required=False
    )


class TimeEntryForm(forms.Form):
    """An engineer's time on an advisory request, to the minute."""

    minutes = forms.IntegerField(label=_("Minutes"), min_value=1, max_value=TIME_ENTRY_MAX_MINUTES)
    note = text(_("Note"), 300, required=False)


class StatementForm(forms.Form):
    """A benefit statement's period and format, as the benefit page's small GET form
    sends them (``from`` and ``to``, YYYY-MM-DD, both optional; ``format`` csv or pdf)."""

    format = forms.ChoiceField(choices=[("csv", "CSV"), ("pdf", "PDF")], required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword: the fields are named here, as the query names them.
        for name, label in (("from", _("From")), ("to", _("To"))):
            self.fields[name] = forms.DateField(
                label=label, required=False, input_formats=["%Y-%m-%d"]
            )

    def errors_as_paths(self) -> list[dict[str, str]]:
        return [
            {"path": name, "message": str(message)}
            for name, messages in self.errors.items()
            for message in messages
        ]
