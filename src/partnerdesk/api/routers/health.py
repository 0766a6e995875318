from django.http import HttpRequest
from ninja import Router, Schema

router = Router(tags=["health"])


class HealthOut(Schema):
    status: str


@router.get("/health", response=HealthOut, auth=None, summary="Liveness (touches no database)")
def health(request: HttpRequest):
    return {"status": "ok"}
