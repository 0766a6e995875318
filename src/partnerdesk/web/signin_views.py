"""Signing in: the password form (partner users may be kept to Microsoft,
``PARTNERDESK_PASSWORD_SIGNIN``) and "Sign in with Microsoft" (accounts.oidc)."""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import Http404
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from partnerdesk.accounts.microsoft import SignInRefused, user_for_microsoft_sign_in
from partnerdesk.accounts.oidc import authorization_redirect, identity_from_callback, oidc_config

logger = logging.getLogger(__name__)

NEXT_KEY = "microsoft_signin_next"
SELECT_ACCOUNT = "select_account"


def password_signin_for_operators_only() -> bool:
    return settings.PARTNERDESK_PASSWORD_SIGNIN == "operators"


class PortalAuthenticationForm(AuthenticationForm):
    """Django's form (so django-axes counts and locks out as before), refusing partner
    users' passwords when they are to sign in with Microsoft."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if password_signin_for_operators_only() and not user.is_staff:
            raise forms.ValidationError(
                _("Partner users sign in with Microsoft: use the “Sign in with Microsoft” button."),
                code="password_signin_off",
            )


class PortalLoginView(LoginView):
    template_name = "registration/login.html"
    form_class = PortalAuthenticationForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(
            microsoft_signin=oidc_config() is not None,
            password_for_operators_only=password_signin_for_operators_only(),
            **kwargs,
        )
        context["microsoft_start_url"] = microsoft_start_url(
            next_url=context.get("next", ""),
            select_account=self.request.GET.get("prompt") == SELECT_ACCOUNT,
        )
        return context


def microsoft_start_url(*, next_url: str, select_account: bool) -> str:
    """The "Sign in with Microsoft" link. "Sign in with a different account" lands on
    ``/login/?prompt=select_account``: only the sign-in started from that page asks the
    provider for its account picker, so the next ordinary sign-in goes straight through."""
    query = {}
    if next_url:
        query["next"] = next_url
    if select_account:
        query["prompt"] = SELECT_ACCOUNT
    url = reverse("web:microsoft_start")
    return f"{url}?{urlencode(query)}" if query else url


def _refused(request, error: SignInRefused):
    # The reason (which check failed) is for the log; the person gets what to do next.
    logger.info("Microsoft sign-in refused: %s %s", error.code, error.extra.get("reason", ""))
    return render(
        request, "registration/microsoft_refused.html", {"error": error}, status=error.status
    )


@require_GET
@never_cache
def microsoft_start(request):
    config = oidc_config()
    if config is None:
        raise Http404
    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        request.session[NEXT_KEY] = target
    try:
        return authorization_redirect(
            request,
            config=config,
            redirect_uri=request.build_absolute_uri(reverse("web:microsoft_callback")),
            select_account=request.GET.get("prompt") == SELECT_ACCOUNT,
        )
    except SignInRefused as error:
        return _refused(request, error)


@require_GET
@never_cache
def microsoft_callback(request):
    config = oidc_config()
    if config is None:
        raise Http404
    try:
        identity = identity_from_callback(request, config=config)
        user = user_for_microsoft_sign_in(identity=identity)
    except SignInRefused as error:
        return _refused(request, error)
    target = request.session.pop(NEXT_KEY, "")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect(target or resolve_url(settings.LOGIN_REDIRECT_URL))
