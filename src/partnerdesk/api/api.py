from ninja import NinjaAPI

from partnerdesk.api.auth import BearerToken, PortalSession
from partnerdesk.api.problems import install_problem_handlers
from partnerdesk.api.routers import benefits, customers, health, me, products, support

api = NinjaAPI(
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
    docs_url="/docs",
)
install_problem_handlers(api)
api.add_router("", health.router)
api.add_router("", me.router)
api.add_router("", benefits.router)
api.add_router("", products.router)
api.add_router("", support.router)
api.add_router("", customers.router)
