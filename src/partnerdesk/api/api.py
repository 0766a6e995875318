from django.conf import settings
from ninja import NinjaAPI

from partnerdesk.api.auth import BearerToken, PortalSession
from partnerdesk.api.docs import OfflineSwagger
from partnerdesk.api.problems import install_problem_handlers
from partnerdesk.api.routers import (
    admin_organizations,
    admin_webhooks,
    attachments,
    benefits,
    customers,
    events,
    health,
    me,
    products,
    support,
    topics,
)
from partnerdesk.api.throttling import ClientRate, UserRate


class PartnerdeskAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        """Errors are documented as what they are: application/problem+json."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        content["application/problem+json"] = content.pop("application/json")
        return schema


api = PartnerdeskAPI(
    title="partnerdesk",
    version="1",
    description=(
        "Technical support benefits of a partner program. Authenticate with "
        "`Authorization: Bearer <token>` (see `partnerdesk createtoken`) or the portal's "
        "session cookie with a CSRF token. Errors are application/problem+json with a "
        "stable `code`."
    ),
    urls_namespace="api",
    auth=[BearerToken(), PortalSession()],
    throttle=[
        UserRate(settings.PARTNERDESK_API_RATE),
        ClientRate(settings.PARTNERDESK_API_ANON_RATE),
    ],
    docs=OfflineSwagger(),
    docs_url="/docs",
)
install_problem_handlers(api)
api.add_router("", health.router)
api.add_router("", me.router)
api.add_router("", benefits.router)
api.add_router("", products.router)
api.add_router("", topics.router)
api.add_router("", support.router)
api.add_router("", customers.router)
api.add_router("", attachments.router)
api.add_router("", events.router)
api.add_router("", admin_organizations.router)
api.add_router("", admin_webhooks.router)
