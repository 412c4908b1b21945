"""URLs of a tenant's reporter pages (under /t/<slug>/ or at the root of a tenant host name).

Staff pages are deliberately absent: they are not reachable through a tenant's address.
"""

from __future__ import annotations

from django.urls import include, path
from django.views.i18n import set_language

from whistle.views import favicon_view

urlpatterns = [
    path("i18n/setlang/", set_language, name="set_language"),
    path("favicon.ico", favicon_view),
    path("", include("intake.urls")),
]

# An outage of the database or Redis: 503 "try again" instead of 500 (whistle/outage.py).
handler500 = "whistle.outage.server_error_view"
