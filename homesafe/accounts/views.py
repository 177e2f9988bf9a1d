"""Login, logout and the second factor. Thin: parse, call a service, render."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import segno
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from homesafe.accounts import selectors, services
from homesafe.accounts.middleware import start_staff_session
from homesafe.audit.services import audit_append
from homesafe.common.errors import DomainError


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def login_view(request: HttpRequest) -> HttpResponse:
    error = None
    email = ""
    if request.method == "POST":
        email = request.POST.get("email", "").strip().lower()[:254]
        password = request.POST.get("password", "")[:1024]
        user = authenticate(request, email=email, password=password)
        if user is None:
            error = _("That email and password do not match an account.")
        else:
            login(request, user)  # rotates the session id
            if selectors.has_staff_role(user):
                start_staff_session(request)
                target = (
                    "accounts:mfa_verify"
                    if selectors.has_confirmed_totp(user)
                    else "accounts:mfa_setup"
                )
                landing = _safe_next(request, selectors.staff_landing_url(user))
                return redirect(f"{reverse(target)}?next={landing}")
            return HttpResponseRedirect(_safe_next(request, reverse("home")))
    status = 400 if error else 200
    return render(
        request,
        "accounts/login.html",
        {"error": error, "email": email, "next": _safe_next(request, "")},
        status=status,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("home")


def _login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"{reverse('accounts:login')}?next={request.path}")
        return view(request, *args, **kwargs)

    return wrapper


@_login_required
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan, confirm with a code, receive recovery codes once."""
    user = request.user
    # Replacing an authenticator takes the current one: a password alone must not do it.
    if selectors.has_confirmed_totp(user) and not user.is_verified():  # type: ignore[union-attr]
        landing = _safe_next(request, selectors.staff_landing_url(user))
        return redirect(f"{reverse('accounts:mfa_verify')}?next={landing}")
    error = None
    if request.method == "POST":
        try:
            device, codes = services.totp_enrolment_confirm(
                user=user,  # type: ignore[arg-type]
                token=request.POST.get("token", "")[:32],
            )
        except DomainError as exc:
            error = exc.message
        else:
            otp_login(request, device)
            return render(
                request,
                "accounts/mfa_codes.html",
                {"codes": codes, "next": _safe_next(request, selectors.staff_landing_url(user))},
            )
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = services.totp_enrolment_start(user=user)  # type: ignore[arg-type]
    import base64

    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=4, border=2)
    return render(
        request,
        "accounts/mfa_setup.html",
        {
            "secret": secret,
            "qr_svg": qr_svg,
            "error": error,
            "next": _safe_next(request, selectors.staff_landing_url(user)),
        },
        status=400 if error else 200,
    )


@_login_required
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """Second step of a staff login: a code from the authenticator, or a recovery code."""
    user = request.user
    if not selectors.has_confirmed_totp(user):
        return redirect(f"{reverse('accounts:mfa_setup')}?next={_safe_next(request, '')}")
    error = None
    if request.method == "POST":
        device = match_token(user, request.POST.get("token", "").strip().replace(" ", "")[:32])
        if device is None:
            error = _(
                "That code did not match. Wait a few seconds, then try the newest code "
                "from your app, or a recovery code."
            )
            audit_append(action="mfa.fail", object_type="user", object_id=user.pk, actor=user)
        else:
            otp_login(request, device)
            return HttpResponseRedirect(_safe_next(request, selectors.staff_landing_url(user)))
    return render(
        request,
        "accounts/mfa_verify.html",
        {"error": error, "next": _safe_next(request, selectors.staff_landing_url(user))},
        status=400 if error else 200,
    )
