"""Administration pages under /staff/: operator console, tenant set-up and settings, offices and
members, questionnaire editor, documents (poster, compliance pack), off-boarding."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from console import offboarding_views, operator_views

app_name = "console"

urlpatterns: list[URLPattern | URLResolver] = [
    # Operator console (operator staff only; 404 for everyone else).
    path("operator/", operator_views.operator_home_view, name="operator"),
    path(
        "operator/tenants/new/",
        operator_views.operator_tenant_create_view,
        name="operator_tenant_create",
    ),
    path(
        "operator/tenants/<uuid:tenant_id>/",
        operator_views.operator_tenant_view,
        name="operator_tenant",
    ),
    path(
        "tenants/<uuid:tenant_id>/export/",
        offboarding_views.tenant_export_view,
        name="tenant_export",
    ),
    path(
        "operator/tenants/<uuid:tenant_id>/delete/",
        offboarding_views.tenant_delete_view,
        name="tenant_delete",
    ),
]
