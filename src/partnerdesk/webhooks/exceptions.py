from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from partnerdesk.core.exceptions import ApplicationError, ValidationFailed


class WebhookUrlRefused(ValidationFailed):
    """A URL a webhook may not go to (see ``targets``); its one error is on ``url``."""

    def __init__(self, message: str) -> None:
        super().__init__([{"path": "url", "message": message}], detail=message)


class WebhookDisabled(ApplicationError):
    code = "webhook_disabled"
    status = 409
    title = _("Webhook endpoint disabled")
    default_detail = _("This webhook endpoint was deleted; register a new one.")


class DeliveryPending(ApplicationError):
    code = "webhook_delivery_pending"
    status = 409
    title = _("Delivery still pending")
    default_detail = _("This delivery has not been answered yet; it is sent again on its schedule.")
