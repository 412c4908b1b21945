"""Administration pages under /staff/: operator console, tenant set-up and settings, offices and
members, questionnaire editor, documents (poster, compliance pack), off-boarding."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from console import settings_views, setup_views

app_name = "console"

urlpatterns: list[URLPattern | URLResolver] = [
    # setup: the tenant page, its settings and the set-up wizard
    path("tenants/<uuid:tenant_id>/admin/", setup_views.tenant_view, name="tenant"),
    path("tenants/<uuid:tenant_id>/admin/logo", setup_views.tenant_logo_view, name="tenant_logo"),
    path(
        "tenants/<uuid:tenant_id>/settings/",
        settings_views.tenant_settings_view,
        name="tenant_settings",
    ),
    path("tenants/<uuid:tenant_id>/preview/", setup_views.texts_preview_view, name="texts_preview"),
    path("tenants/<uuid:tenant_id>/setup/", setup_views.setup_view, name="setup"),
    path(
        "tenants/<uuid:tenant_id>/setup/<slug:step>/",
        setup_views.setup_step_view,
        name="setup_step",
    ),
]
