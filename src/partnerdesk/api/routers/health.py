from django.http import HttpRequest
from ninja import Router, Schema

router = Router(tags=["health"])


class HealthOut(Schema):
    status: str


@router.get(
    "/health",
    response=HealthOut,
    auth=None,
    throttle=[],
    summary="Liveness (touches no database, never rate-limited)",
)
def health(request: HttpRequest):
    return {"status": "ok"}
