"""URLs of the operator's own hosts: staff pages, health checks, language switch."""

from __future__ import annotations

from django.urls import include, path
from django.views.i18n import set_language

from whistle import views

urlpatterns = [
    path("", views.home_view, name="home"),
    path("healthz", views.healthz_view, name="healthz"),
    path("favicon.ico", views.favicon_view, name="favicon"),
    path("readyz", views.readyz_view, name="readyz"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("staff/", include("whistle.accounts.urls")),
    path("staff/", include("casework.urls")),
    path("staff/", include("whistle.tenants.urls")),
    path("staff/", include("whistle.keys.urls")),
    path("staff/", include("console.urls")),
]

# An outage of the database or Redis: 503 "try again" instead of 500 (whistle/outage.py).
handler500 = "whistle.outage.server_error_view"
