from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from whistle.accounts.services import confirmed_totp
from whistle.http import StaffRequest


def is_verified(user: object) -> bool:
    """Whether this session passed the second factor (set by django_otp's OTPMiddleware)."""
    check = getattr(user, "is_verified", None)
    return bool(check()) if callable(check) else False


V = TypeVar("V", bound=Callable[..., HttpResponse])


def staff_required(view: V) -> V:
    """Only for a logged-in staff user whose second factor is verified in this session.

    A user who has only passed the password step is sent to the second-factor step (or to
    enrolment when no device is set up yet); nobody reaches a staff page with a password alone.
    """

    @wraps(view)
    def wrapper(request: StaffRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request, "tenant", None) is not None:
            raise Http404
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_verified(user):
            if confirmed_totp(user) is None:
                return redirect("accounts:enrol")
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('accounts:verify')}?{query}")
        return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
