"""The operations console's site: Django's admin, with the infrastructure sections
(queues, task results, sign-in lockouts, groups and permissions) kept for superusers."""

from __future__ import annotations

from functools import wraps

from django.contrib import admin
from django.http import Http404, HttpRequest
from django.urls import URLResolver
from django.utils.translation import gettext_lazy as _

# Sections only a superuser sees: the machinery, not the program.
INTERNAL_APP_LABELS = frozenset({"auth", "django_rq", "django_tasks_database", "axes", "sessions"})


class OperationsAdminSite(admin.AdminSite):
    site_header = _("partnerdesk operations")
    site_title = _("partnerdesk")

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        apps = super().get_app_list(request, app_label)
        if request.user.is_superuser:
            return apps
        return [app for app in apps if app["app_label"] not in INTERNAL_APP_LABELS]

    def get_urls(self):
        # Every view under an internal section, including those a third-party app hangs
        # there without the admin's wrapper (django-rq's stats.json lets any staff in).
        urls = super().get_urls()
        _guard_internal(urls, prefix="")
        return urls


def _guard_internal(patterns, *, prefix: str) -> None:
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^")
        if isinstance(pattern, URLResolver):
            _guard_internal(pattern.url_patterns, prefix=route)
        elif route.split("/", 1)[0] in INTERNAL_APP_LABELS:
            pattern.callback = _superusers_only(pattern.callback)


def _superusers_only(view):
    @wraps(view)
    def internal_section(request: HttpRequest, *args, **kwargs):
        # Answered as missing, not forbidden: an operator has no business knowing the page
        # is there. Anonymous visitors go on to the view, which sends them to sign in.
        user = request.user
        if user.is_authenticated and not user.is_superuser:
            raise Http404
        return view(request, *args, **kwargs)

    return internal_section
