"""The URLconf for a suspended tenant's reporter pages: every path is one clear page saying the
channel is closed for now and where else to report (and the language switch it offers)."""

from __future__ import annotations

from django.urls import path, re_path
from django.views.i18n import set_language

from whistle.tenants.views import channel_suspended_view

urlpatterns = [
    path("i18n/setlang/", set_language, name="set_language"),
    re_path(r"^.*$", channel_suspended_view, name="channel_suspended"),
]

# An outage of the database or Redis: 503 "try again" instead of 500 (whistle/outage.py).
handler500 = "whistle.outage.server_error_view"
