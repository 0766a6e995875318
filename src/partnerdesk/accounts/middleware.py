from django.conf import settings
from django.utils import translation

_SUPPORTED = {code for code, _name in settings.LANGUAGES}


def activate_user_language(request, user) -> None:
    """A signed-in user's own choice wins over Accept-Language."""
    language = getattr(user, "language", "")
    if language in _SUPPORTED:
        translation.activate(language)
        request.LANGUAGE_CODE = language


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            activate_user_language(request, request.user)
        return self.get_response(request)
