"""The URLconf for unknown hosts and tenants: every path is the neutral 404.

Only the language switch exists, because the 404 page (like every page) offers it.
"""

from __future__ import annotations

from django.urls import path
from django.views.i18n import set_language

urlpatterns = [path("i18n/setlang/", set_language, name="set_language")]

# An outage of the database or Redis: 503 "try again" instead of 500 (whistle/outage.py).
handler500 = "whistle.outage.server_error_view"
