"""Administration pages under /staff/: operator console, tenant set-up and settings, offices and
members, questionnaire editor, documents (poster, compliance pack), off-boarding."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from console import offboarding_views, questionnaire_views

app_name = "console"

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "tenants/<uuid:tenant_id>/questionnaire/",
        questionnaire_views.questionnaire_view,
        name="questionnaire",
    ),
    path(
        "tenants/<uuid:tenant_id>/questionnaire/translate/",
        questionnaire_views.questionnaire_translate_view,
        name="questionnaire_translate",
    ),
    path(
        "tenants/<uuid:tenant_id>/questionnaire/preview/",
        questionnaire_views.questionnaire_preview_view,
        name="questionnaire_preview",
    ),
    path(
        "tenants/<uuid:tenant_id>/questionnaire/export/",
        questionnaire_views.questionnaire_export_view,
        name="questionnaire_export",
    ),
    path(
        "tenants/<uuid:tenant_id>/questionnaire/import/",
        questionnaire_views.questionnaire_import_view,
        name="questionnaire_import",
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
