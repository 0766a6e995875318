from django.utils.translation import gettext_lazy as _

from partnerdesk.core.exceptions import ApplicationError


class NotActivated(ApplicationError):
    code = "not_activated"
    status = 409
    title = _("Not activated")
    default_detail = _(
        "This support contract is not active yet. A Global admin or MPN partner admin "
        "activates it on the Technical benefits page."
    )


class ContractLinkRequired(ApplicationError):
    code = "contract_link_required"
    status = 403
    title = _("Access ID and Contract ID required")
    default_detail = _(
        "The first time an account uses a support contract it must give the contract's "
        "Access ID and Contract ID. They are on the Technical benefits page."
    )


# Two refusals of ``contract_link_required`` a partner must tell apart (the code stays one).
UNKNOWN_CONTRACT_ID = _(
    "No support contract of your organization has that Contract ID. Copy it from the "
    "Technical benefits page (letters in any case; spaces and dashes don't matter)."
)
WRONG_ACCESS_ID = _(
    "The Access ID is not the one of contract %(contract)s. Copy the Access ID shown beside "
    "that contract on the Technical benefits page."
)


class ProductNotEntitled(ApplicationError):
    code = "product_not_entitled"
    status = 409
    title = _("Product not covered")
    default_detail = _("This support plan can't be used for the selected product.")


class NotWithdrawable(ApplicationError):
    code = "not_withdrawable"
    status = 409
    title = _("Cannot be withdrawn")
    default_detail = _(
        "Only an open request that no support engineer has picked up can be withdrawn."
    )


class RequestFinished(ApplicationError):
    code = "request_finished"
    status = 409
    title = _("Request already finished")
    default_detail = _("This support request is already resolved or closed.")


class HoursInsufficient(ApplicationError):
    code = "hours_insufficient"
    status = 409
    title = _("Not enough advisory hours")
    default_detail = _("The advisory hours left on this contract do not cover this.")
