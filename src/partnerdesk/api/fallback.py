from django.http import HttpRequest

from partnerdesk.api.problems import problem_response
from partnerdesk.core.exceptions import NotFound


def unknown_endpoint(request: HttpRequest, rest: str = ""):
    """Paths under /api/v1/ that match no operation still answer in problem+json."""
    return problem_response(NotFound())
