"""Staff session limits: logged out after 30 idle minutes and 12 hours in any case (the rules:
``whistle.sessions``, shared with the conversation sockets)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from whistle.sessions import STAFF, STAFF_AUTH_AT, STAFF_SEEN_AT


@receiver(user_logged_in)
def _stamp_login(sender: object, request: HttpRequest, **kwargs: object) -> None:
    now = timezone.now().timestamp()
    request.session[STAFF_AUTH_AT] = now
    request.session[STAFF_SEEN_AT] = now


class StaffSessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = timezone.now().timestamp()
            ended = STAFF.ended(request.session, now)
            if ended == "idle":
                return self._expire(
                    request, _("You were logged out after 30 minutes without activity.")
                )
            if ended is not None:
                return self._expire(request, _("Your session has ended. Please log in again."))
            STAFF.touch(request.session, now)
        return self.get_response(request)

    def _expire(self, request: HttpRequest, message: str) -> HttpResponse:
        logout(request)
        if getattr(request, "tenant", None) is not None:
            # A reporter page on the same host: drop the staff session and carry on.
            return self.get_response(request)
        messages.info(request, message)
        return redirect(settings.LOGIN_URL)
