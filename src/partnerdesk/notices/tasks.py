"""Background tasks of the notices app: they only pass ids and call a function."""

from django_tasks import task

from partnerdesk.notices.requests import request_notice_email


@task()
def send_request_notice(request_id: int, kind: str, note_id: int | None, to: list) -> int:
    return request_notice_email(request_id=request_id, kind=kind, note_id=note_id, to=to)
