from partnerdesk.notices.selectors import unread_notice_count


def unread_notices(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if not user.organization_id and not user.is_staff:
        return {}
    return {"unread_notices": unread_notice_count(user=user)}
